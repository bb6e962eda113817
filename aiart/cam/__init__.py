"""Class activation maps: one base pipeline, each method a small subclass."""

from aiart.cam.base import BaseCAM
from aiart.cam.gradcam import GradCAM
from aiart.cam.gradcam_pp import GradCAMPlusPlus
from aiart.cam.hirescam import HiResCAM
from aiart.cam.layercam import LayerCAM
from aiart.cam.scorecam import ScoreCAM

METHODS: dict[str, type[BaseCAM]] = {m.name: m for m in (GradCAM, GradCAMPlusPlus, LayerCAM, HiResCAM, ScoreCAM)}

__all__ = ["METHODS", "BaseCAM", "GradCAM", "GradCAMPlusPlus", "HiResCAM", "LayerCAM", "ScoreCAM"]
