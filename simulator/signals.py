"""Deterministic noise: every value is a pure function of (seed, stream, time step)."""

from __future__ import annotations

import math
import random

NOISE_CLIP = 3.0


def gauss(seed: int, stream: str, step: int) -> float:
    """Standard normal sample for one time step, clipped to +-3 so derived bounds hold."""
    value = random.Random(f"{seed}/{stream}/{step}").gauss(0.0, 1.0)
    return max(-NOISE_CLIP, min(NOISE_CLIP, value))


def uniform(seed: int, stream: str, step: int) -> float:
    """Uniform sample in [0, 1) for one time step."""
    return random.Random(f"{seed}/{stream}/{step}/u").random()


def smooth(seed: int, stream: str, t: float, period: float) -> float:
    """Slowly wandering noise (about N(0, 1)): gaussian knots every `period` s, smoothstepped."""
    position = t / period
    knot = math.floor(position)
    frac = position - knot
    weight = frac * frac * (3.0 - 2.0 * frac)
    left = gauss(seed, stream, knot)
    right = gauss(seed, stream, knot + 1)
    return left + (right - left) * weight


def quantise(value: float, step: float) -> float:
    """Round to a multiple of `step` the way a sensor with that resolution reports."""
    return round(round(value / step) * step, 10)
