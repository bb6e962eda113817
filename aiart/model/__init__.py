"""The network: VGG16 weights, conv stack, classifier graph, head files. Imports config and data/images only."""
