"""Tuning of the per-stream anomaly detector."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Parameters shared by the per-sample and the fleet detector.

    alpha: forgetting rate of the long baseline (level and spread).
    fast_alpha: rate of the short mean used by the distribution-change test.
    clip: residuals are clipped to this many sigmas before they are learned, so an
        outlier moves the baseline by at most ``alpha * clip`` sigmas.
    relearn_after: consecutive out-of-band samples on one side after which the
        baseline jumps to the short mean (a level shift is then the new normal).
    clear_samples / clear_ratio: an excursion ends after this many samples below
        ``clear_ratio * z_threshold``.
    suppress_samples / override: minimum distance between two events of one stream,
        unless the new excursion reaches override times the threshold (a real failure
        right after a marginal alarm is not hidden).
    peak_decay / peak_ratio: the largest recent z, decaying by peak_decay per sample,
        raises the bar to peak_ratio times itself: a heavy-tailed stream has to beat its
        own recent extremes to raise an event.
    slot_peak_decay / slot_peak_ratio: the same per hour of the day, so a spike that
        recurs at the same hour every day stops being news.
    season_rate / season_gate: learning rate of the 48 half-hourly offsets (and spreads)
        of the daily profile, per half hour of samples (1.2: a bin mostly relearns each
        day); the profile is used after a day and only while it cuts the spread below
        season_gate times that of a flat level.
    rel_floor / abs_floor: the spread never drops below these (relative to the level,
        absolute), besides the quantisation step.
    alarm_decay / alarm_discount: the score of an event is divided by
        ``1 + alarm_discount * a``, with ``a`` the stream's recent events (each counts 1 and
        decays by alarm_decay per sample): a stream that alarms often has to be taken less
        seriously each time. The memory is long (5,000 samples) and each event weighs
        little (1 %), so the discount follows the stream's long-run event rate rather than
        its last few events. This ranks events; it does not decide whether one is raised.
    extreme_decay: memory (per sample) of the largest deviation from the expected value;
        an event is ranked up to 2**0.25 higher when it is larger than that, lower when
        smaller.
    recent_alpha / usual_alpha / excess_gain: short and long EW means of the stream's
        compressed raw score (r^2 / (r^2 + 1), r = z / z_threshold before the bar); the
        long one is kept per hour of the day (rate 24 * usual_alpha per sample of that
        hour: the same memory in time as one stream-wide mean; stream-wide at usual_alpha
        without timestamps). At an event, the short mean's excess over the hour's long
        one, e = (recent - usual) / (1 - usual) clamped to -1..1, multiplies the score by
        (1 + excess_gain * e)^2. Like the anomaly likelihood of HTM, this ranks an event by
        how unusual the stream's recent behaviour is for that stream at that hour: an
        excursion that follows a build-up ranks up, one at an hour when the stream's raw
        score is usually high ranks down.
    point_weight: the score of an event raised by one sample alone (the point test) is
        multiplied by this; an event the short mean confirms (a shift) keeps its score.
    escalation: an event freezes the expected value and the deviation of its onset (at
        least z_threshold sigmas); while the value stays on that side, beyond half that
        deviation, and the excursion's event has ended, a value that deviates escalation
        times as far from the frozen expected value raises one more event (and becomes
        the new onset deviation). A slide to failure that the adapting baseline and the
        raised bar absorb is then reported again when it has grown that much; a spike or
        a level shift (which stop growing) is not. 0 disables.
    """

    warmup_samples: int = 50
    z_threshold: float = 3.0
    alpha: float = 0.003
    fast_alpha: float = 0.2
    clip: float = 3.0
    relearn_after: int = 12
    clear_samples: int = 3
    clear_ratio: float = 0.8
    suppress_samples: int = 200
    override: float = 2.0
    rel_floor: float = 1e-4
    season_rate: float = 1.2
    season_gate: float = 0.8
    peak_decay: float = 0.999
    peak_ratio: float = 0.6
    slot_peak_decay: float = 0.98
    slot_peak_ratio: float = 1.3
    abs_floor: float = 1e-9
    alarm_decay: float = 0.9998
    alarm_discount: float = 0.01
    extreme_decay: float = 0.9998
    point_weight: float = 0.8
    recent_alpha: float = 0.4
    usual_alpha: float = 0.001
    excess_gain: float = 0.5
    escalation: float = 2.5

    def __post_init__(self) -> None:
        if self.warmup_samples < 1:
            raise ValueError("warmup_samples must be at least 1")
        if not self.z_threshold > 0:
            raise ValueError("z_threshold must be positive")
        if not (0 < self.alpha < 1 and 0 < self.fast_alpha < 1):
            raise ValueError("alpha and fast_alpha must be in (0, 1)")

    @property
    def fast_scale(self) -> float:
        """Standard deviation of the short EW mean of unit-variance noise."""
        return math.sqrt(self.fast_alpha / (2.0 - self.fast_alpha))

    def to_dict(self) -> dict[str, float | int]:
        """JSON-safe form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> DetectorConfig:
        """Inverse of to_dict; unknown keys are ignored, missing keys take defaults."""
        if not isinstance(data, dict):
            raise ValueError("detector config must be a mapping")
        names = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in names})
        except TypeError as err:
            raise ValueError(f"bad detector config: {err}") from err
