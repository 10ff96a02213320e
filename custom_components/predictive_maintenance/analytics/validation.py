"""Input validation shared by every entry point that accepts a sample."""

from __future__ import annotations

import math
from numbers import Real

from .errors import InvalidSampleError

# No sensor reads beyond this; it keeps differences of two samples finite.
MAX_MAGNITUDE = 1e300


def finite_float(value: object, what: str = "value") -> float:
    """Return ``value`` as a float, or raise InvalidSampleError before any state is touched."""
    # bool is a Real subclass, but True/False are almost always a wiring mistake.
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidSampleError(f"{what} must be a real number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidSampleError(f"{what} must be finite, got {number!r}")
    if abs(number) > MAX_MAGNITUDE:
        raise InvalidSampleError(f"{what} {number!r} is beyond +-{MAX_MAGNITUDE:g}")
    return number
