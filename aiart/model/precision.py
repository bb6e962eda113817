"""The number format of VGG16's passes: bfloat16 where the CPU has it natively, else float32.

VGG16's convolutions run at the cores' float32 FMA peak, so a narrower format is the only speed
left on a CPU. Where the CPU multiplies bfloat16 natively (AVX512_BF16 or AMX, which oneDNN uses),
a 448 px pass is several times faster and the pooled features agree with float32 to well under
1%; elsewhere bfloat16 would be emulated and slower, so float32 stays. Only the conv stack changes
format: the channel statistics read its bfloat16 maps as they are and come out float32, and the head
and every gradient map the app shows are float32.
"""

from __future__ import annotations

import os
from pathlib import Path

PRECISIONS = ("float32", "bfloat16")
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})  # x86 flags for native bfloat16 dot products


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo is absent, e.g. macOS)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def native_bfloat16(flags: frozenset[str] | None = None) -> bool:
    return bool(NATIVE_BF16_FLAGS & (cpu_flags() if flags is None else flags))


def check_precision(name: str) -> str:
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}: use one of {', '.join(PRECISIONS)}")
    return name


def default_precision() -> str:
    """`$AIART_PRECISION`, else the fastest format this CPU runs natively."""
    forced = os.environ.get("AIART_PRECISION", "").strip().lower()
    if forced:
        return check_precision(forced)
    return "bfloat16" if native_bfloat16() else "float32"


def layer_dtype(precision: str) -> str:
    """The Keras dtype policy of the conv stack: weights stay float32, the maths runs in `precision`."""
    return "mixed_bfloat16" if check_precision(precision) == "bfloat16" else "float32"


def cache_tag(precision: str) -> str:
    """What a feature cache's spec appends for `precision`: nothing for float32, whose entries keep
    the keys they had before precisions existed, so the formats never share an entry."""
    return "" if check_precision(precision) == "float32" else f":{precision}"


def describe(precision: str) -> str:
    """One sentence for the About box and the model card: which format runs here, and why."""
    if precision == "bfloat16":
        why = "this CPU multiplies bfloat16 natively" if native_bfloat16() else "AIART_PRECISION asks for it"
        return f"VGG16's passes run in bfloat16 ({why}); the statistics and the head stay float32."
    return "VGG16's passes run in float32" + (
        " (AIART_PRECISION asks for it)." if native_bfloat16() else " (this CPU has no native bfloat16)."
    )
