"""Images, dataset folders, uploads, the feature cache. Imports config, and model/ for features; nothing above."""
