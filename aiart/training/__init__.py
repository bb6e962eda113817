"""Fitting, recipes, fine-tuning, live runs, model comparison. Imports model/, data/, metrics, explain; never app/."""
