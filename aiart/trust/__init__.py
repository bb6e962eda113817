"""Can a heatmap be trusted: faithfulness, sanity check, robustness. Imports model/, data/, cam/, explain; not app/."""
