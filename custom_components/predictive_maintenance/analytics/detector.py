"""Online anomaly detector for one (device, metric) stream: O(1) time and memory per sample.

The baseline is a robust forgetting estimate of level and spread: residuals are clipped
to ``clip`` sigmas before they are learned, so an outlier cannot poison it. The spread
has a floor of one quantisation step (learned from the smallest change seen, or 1 for a
metric that has only shown integers), so a metric that never moves cannot alarm on its
first 1-unit wiggle. Two tests feed the score: a point test (robust z of the sample) and a
distribution-change test (short EW mean against the baseline, in units of its own noise),
which catches level shifts smaller than the point threshold. An excursion yields one
event; after ``relearn_after`` consecutive out-of-band samples on one side the baseline
adopts the short mean, so a sustained shift is reported once and then becomes normal.

Only + - * / abs min max are used in the state update so the numpy fleet path
(fleet.py) reproduces this one bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .config import DetectorConfig

MAD_TO_SIGMA = 1.2533141373155001  # sqrt(pi/2): mean absolute deviation -> sigma for Gaussian noise
Z_CAP = 1e9  # keeps the score strictly below 1.0 while ranking any realistic z
CLIP_AFTER = 10  # samples before residual clipping starts (the spread is meaningless before)
STATE_FIELDS = (
    "n",
    "level",
    "dev",
    "fast",
    "quantum",
    "integral",
    "prev",
    "run",
    "in_event",
    "quiet",
    "cooldown",
)


@dataclass(frozen=True, slots=True)
class Step:
    """What the detector concluded about one sample."""

    score: float
    z: float
    judged: bool
    event: bool
    direction: str
    expected_low: float
    expected_high: float
    samples: int


def score_from_z(z: float, threshold: float) -> float:
    """Map z >= 0 to [0, 1): 0.5 at the threshold, never exactly 1.0."""
    z = min(z, Z_CAP)
    return z * z / (z * z + threshold * threshold)


def severity_rank(z: float, threshold: float) -> int:
    """0..3 for low/medium/high/critical."""
    if z >= 4.0 * threshold:
        return 3
    if z >= 2.5 * threshold:
        return 2
    if z >= 1.5 * threshold:
        return 1
    return 0


def confidence(z: float, threshold: float, samples: int, warmup: int) -> float:
    """Grows with the margin over the threshold and with how much the model has seen."""
    maturity = min(1.0, samples / (2.0 * warmup))
    margin = max(0.0, z - threshold) / max(z, threshold)
    return maturity * (0.5 + 0.5 * margin)


class StreamDetector:
    """Per-sample detector; see the module docstring for the method."""

    __slots__ = (
        "config",
        "cooldown",
        "dev",
        "fast",
        "in_event",
        "integral",
        "level",
        "n",
        "prev",
        "quantum",
        "quiet",
        "run",
    )

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.n = 0
        self.level = 0.0
        self.dev = 0.0
        self.fast = 0.0
        self.quantum = 0.0  # 0 = no change seen yet
        self.integral = True
        self.prev = 0.0
        self.run = 0
        self.in_event = False
        self.quiet = 0
        self.cooldown = 0

    @property
    def samples(self) -> int:
        """Samples learned so far."""
        return self.n

    def sigma(self) -> float:
        """Current robust spread with its floors."""
        c = self.config
        step = self.quantum if self.quantum > 0.0 else (1.0 if self.integral else 0.0)
        return max(MAD_TO_SIGMA * self.dev, step, c.rel_floor * abs(self.level), c.abs_floor)

    def update(self, x: float) -> Step:
        """Score ``x`` against the baseline, then learn it. ``x`` must be finite."""
        c = self.config
        t = c.z_threshold
        n = self.n
        if n == 0:
            self.n = 1
            self.level = self.fast = self.prev = x
            self.integral = x.is_integer()
            return Step(0.0, 0.0, False, False, "high", x, x, 1)

        sigma = self.sigma()
        level = self.level
        fast = self.fast + c.fast_alpha * (x - self.fast)
        resid = x - level
        z_point = abs(resid) / sigma
        z_shift = abs(fast - level) / (sigma * c.fast_scale)
        z = min(max(z_point, z_shift), Z_CAP)
        judged = n >= c.warmup_samples
        score = z * z / (z * z + t * t) if judged else 0.0
        toward = resid if z_point >= z_shift else fast - level
        anomalous = judged and z >= t

        if self.in_event:
            if z < c.clear_ratio * t:
                self.quiet += 1
                if self.quiet >= c.clear_samples:
                    self.in_event = False
                    self.quiet = 0
            else:
                self.quiet = 0
        event = anomalous and not self.in_event and self.cooldown == 0
        if event:
            self.in_event = True
            self.quiet = 0
            self.cooldown = c.suppress_samples
        elif self.cooldown > 0:
            self.cooldown -= 1

        rate = max(c.alpha, 1.0 / (n + 1))
        lim = c.clip * sigma if n >= CLIP_AFTER else float("inf")
        clipped = min(max(resid, -lim), lim)
        self.level = level + rate * clipped
        self.dev += rate * (abs(clipped) - self.dev)

        out_of_band = judged and z_point >= t
        if out_of_band and resid > 0:
            self.run = self.run + 1 if self.run > 0 else 1
        elif out_of_band and resid < 0:
            self.run = self.run - 1 if self.run < 0 else -1
        else:
            self.run = 0
        if abs(self.run) >= c.relearn_after:
            self.level = fast
            self.run = 0

        step = abs(x - self.prev)
        if step > 0.0 and (self.quantum == 0.0 or step < self.quantum):
            self.quantum = step
        self.integral = self.integral and x.is_integer()
        self.prev = x
        self.fast = fast
        self.n = n + 1
        return Step(
            score,
            z,
            judged,
            event,
            "high" if toward >= 0 else "low",
            level - t * sigma,
            level + t * sigma,
            self.n,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (the config is stored by the owner)."""
        return {name: getattr(self, name) for name in STATE_FIELDS}

    @classmethod
    def from_dict(cls, data: object, config: DetectorConfig | None = None) -> StreamDetector:
        """Inverse of to_dict; raises ValueError on missing or mistyped fields."""
        if not isinstance(data, dict):
            raise ValueError("detector state must be a mapping")
        det = cls(config)
        try:
            det.n = _as_int(data["n"])
            for name in ("level", "dev", "fast", "quantum", "prev"):
                setattr(det, name, _as_float(data[name]))
            det.integral = bool(data["integral"])
            det.in_event = bool(data["in_event"])
            det.run = _as_int(data["run"])
            det.quiet = _as_int(data["quiet"])
            det.cooldown = _as_int(data["cooldown"])
        except KeyError as err:
            raise ValueError(f"detector state lacks {err}") from err
        if det.n < 0 or det.dev < 0 or det.quantum < 0:
            raise ValueError("detector state out of range")
        return det


def _as_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError("non-finite number in state")
    return out


def _as_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value
