"""Errors raised by the analytics engine."""

from __future__ import annotations


class InvalidSampleError(ValueError):
    """A sample that is not a finite real number (NaN, inf, None, text, bool)."""
