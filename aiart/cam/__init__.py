"""Class activation maps: one base pipeline, each method a small subclass."""

from aiart.cam.base import BaseCAM
from aiart.cam.contribution import ContributionCAM
from aiart.cam.gradcam import GradCAM
from aiart.cam.gradcam_pp import GradCAMPlusPlus
from aiart.cam.hirescam import HiResCAM
from aiart.cam.layercam import LayerCAM
from aiart.cam.scorecam import ScoreCAM

METHODS: dict[str, type[BaseCAM]] = {
    m.name: m for m in (GradCAM, GradCAMPlusPlus, LayerCAM, HiResCAM, ScoreCAM, ContributionCAM)
}
FAST_METHODS = tuple(name for name, method in METHODS.items() if not method.slow)  # a map in one or two passes

__all__ = [
    "FAST_METHODS",
    "METHODS",
    "BaseCAM",
    "ContributionCAM",
    "GradCAM",
    "GradCAMPlusPlus",
    "HiResCAM",
    "LayerCAM",
    "ScoreCAM",
]
