"""aiart: tell AI-generated artwork from human-made, and show why (VGG16, heatmaps that add up to the score)."""

from aiart.breakdown import Breakdown, breakdown
from aiart.config import CLASS_NAMES
from aiart.data.images import ImageError, open_image
from aiart.explain import Explanation, explain, explain_targets
from aiart.model.classifier import Classifier
from aiart.model.storage import load_classifier

__all__ = [
    "CLASS_NAMES",
    "Breakdown",
    "Classifier",
    "Explanation",
    "ImageError",
    "breakdown",
    "explain",
    "explain_targets",
    "load_classifier",
    "open_image",
]
