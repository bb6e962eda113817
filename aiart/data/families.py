"""Generator families from a manifest's free-text `generator_or_artist`, for the yardstick's tables.

The hidden test comes from other generators: a table per family shows which kinds of generator the
model has learnt to spot, and which it only memorised.
"""

from __future__ import annotations

import re

FAMILY_RULES = (
    ("midjourney", r"midjourney|niji"),
    ("dall-e 3", r"dall[-·]?e[ -]?3|dalle3|dall-e-3"),
    ("dall-e 2", r"dall[-·]?e[ -]?2|dalle2"),
    ("dall-e mini / minDALL-E", r"dall·e m|min-?dall"),
    ("gpt-4o / gpt-image", r"gpt-4o|gpt-image"),
    ("google (imagen, gemini, muse)", r"imagen|gemini|nano.banana|muse"),
    ("flux", r"flux|\buso\b|\buno\b|chroma"),
    ("stable diffusion 3.x", r"stable-diffusion-3|stable-diffusion 3|sd3"),
    ("stable diffusion xl", r"sdxl|-xl|\bxl\b|animagine|juggernaut|playground|fooocus|mobius"),
    ("stable diffusion 2.x", r"stable-diffusion 2|sd2|2\.1"),
    ("stable diffusion 1.x / LDM", r"stable.diffusion|latent-diffusion|\blcm\b|deliberate|dreamshaper"),
    ("GAN / VQGAN", r"gan\b|stylegan|dcgan|vqgan|taming"),
)


def family(text: str) -> str:
    """The first family whose pattern matches; "other diffusion" for the rest, "unknown" for none."""
    low = text.lower().strip()
    if not low:
        return "unknown"
    return next((name for name, pattern in FAMILY_RULES if re.search(pattern, low)), "other diffusion")
