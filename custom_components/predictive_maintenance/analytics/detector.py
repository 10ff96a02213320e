"""Online anomaly detector for one (device, metric) stream: O(1) time and memory per sample.

The baseline is a robust forgetting estimate of level and spread: residuals are clipped
to ``clip`` sigmas before they are learned, so an outlier cannot poison it. The spread
has a floor of one quantisation step (learned from the smallest change seen, or 1 for a
metric that has only shown integers), so a metric that never moves cannot alarm on its
first 1-unit wiggle. Where the data has a daily cycle, a half-hourly profile (offset and
spread per bin) is learned from the timestamps and used once it explains the stream
better than a flat level. Two tests feed the score: a point test (robust z of the sample)
and a distribution-change test (short EW mean against the baseline, in units of its own
long-run noise), which catches level shifts smaller than the point threshold. The bar
rises with the stream's own recent extremes, overall and per hour of day. An excursion
yields one event; after ``relearn_after`` consecutive out-of-band samples on one side the
baseline adopts the short mean, so a sustained shift is reported once and then becomes
normal. An excursion that keeps growing after its event has ended (a slide to failure
the adapting baseline absorbs) is reported once more each time its distance from the
value expected at its onset has grown ``escalation``-fold. Events are ranked (their
score) by ratio, size against recent extremes, recent event count, and how far the
stream's raw score has lately run above its own long-run mean at that hour of the day (a
short EW mean of r^2 / (r^2 + 1) against a long one kept per hour, in the spirit of HTM's
anomaly likelihood), so an excursion at an hour when the stream is routinely noisy ranks
lower than the same excursion at a quiet hour.

The state update uses only + - * / abs min max (and the bin index of the timestamp), so
the numpy fleet path (fleet.py) reproduces this one bit for bit.
"""

from __future__ import annotations

import base64
import math
import struct
from dataclasses import dataclass
from typing import Any

from .config import DetectorConfig

MAD_TO_SIGMA = 1.2533141373155001  # sqrt(pi/2): mean absolute deviation -> sigma for Gaussian noise
Z_CAP = 1e9  # bounds the peak trackers
R_CAP = 1e6  # z / threshold cap: r^2 / (r^2 + 1) stays strictly below 1.0
CLIP_AFTER = 10  # samples before residual clipping starts (the spread is meaningless before)
DAY_S = 86_400.0
# Half-hour bins keep the sawtooth of a smooth daily cycle small while steps on the
# hour or half hour (schedules) still fall on a bin edge; peaks are tracked per hour.
SEASON_BINS = 48
SEASON_S = DAY_S / SEASON_BINS
SEASON_SLOTS = 24
SLOT_S = DAY_S / SEASON_SLOTS
# Counters and flags are stored as JSON numbers and booleans.
WHOLE_FIELDS = ("n", "integral", "run", "in_event", "quiet", "cooldown")
# Fields added after the first release: states saved before them load with 0.0.
LATER_FIELDS = ("alarms", "extreme", "s_recent", "esc_anchor", "esc_size")
# Profiles are stored as base64 of little-endian float64: exact, and a third of the size
# of a JSON list of floats.
ARRAY_FIELDS = {
    "season": SEASON_BINS,
    "bin_dev": SEASON_BINS,
    "slot_peak": SEASON_SLOTS,
    "slot_usual": SEASON_SLOTS,
}
# Arrays added after the first release: a state saved before one loads it filled with the
# scalar it replaced (slot_usual: the stream-wide s_usual), else with 0.0.
LATER_ARRAYS = {"slot_usual": "s_usual"}

# The float scalars are stored together as one packed array under "floats", in this
# order; a field added later goes at the end, and a shorter array loads it as 0.0. States
# written before the packing keep one JSON number per field and still load.
FLOAT_FIELDS = (
    "level",
    "plain",
    "dev",
    "dev_plain",
    "fast",
    "shift_dev",
    "quantum",
    "prev",
    "peak",
    "t_first",
    "t_last",
    "alarms",
    "extreme",
    "s_recent",
    "esc_anchor",
    "esc_size",
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
    r = min(z / threshold, R_CAP)
    return r * r / (r * r + 1.0)


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
        "alarms",
        "bin_dev",
        "config",
        "cooldown",
        "dev",
        "dev_plain",
        "esc_anchor",
        "esc_size",
        "extreme",
        "fast",
        "in_event",
        "integral",
        "level",
        "n",
        "peak",
        "plain",
        "prev",
        "quantum",
        "quiet",
        "run",
        "s_recent",
        "season",
        "shift_dev",
        "slot_peak",
        "slot_usual",
        "t_first",
        "t_last",
    )

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.n = 0
        self.level = 0.0  # level of the deseasonalised value
        self.plain = 0.0  # level without the daily profile
        self.dev = 0.0
        self.dev_plain = 0.0
        self.fast = 0.0
        self.shift_dev = 0.0
        self.quantum = 0.0  # 0 = no change seen yet
        self.integral = True
        self.prev = 0.0
        self.run = 0
        self.in_event = False
        self.quiet = 0
        self.cooldown = 0
        self.peak = 0.0
        self.t_first = 0.0
        self.t_last = 0.0
        self.season = [0.0] * SEASON_BINS
        self.bin_dev = [0.0] * SEASON_BINS
        self.slot_peak = [0.0] * SEASON_SLOTS
        self.alarms = 0.0  # recent events, each decaying by alarm_decay per sample
        self.extreme = 0.0  # largest recent |deviation|, decaying by extreme_decay
        # Short EW mean of the compressed raw score r^2 / (r^2 + 1), r = z / thr, and its
        # long EW mean per hour of the day (slot 0 only, for a stream without timestamps).
        self.s_recent = 0.0
        self.slot_usual = [0.0] * SEASON_SLOTS
        # The expected value and the signed deviation frozen at the onset of the last event
        # (esc_size 0: no live excursion), for the escalation of a growing excursion.
        self.esc_anchor = 0.0
        self.esc_size = 0.0

    @property
    def samples(self) -> int:
        """Samples learned so far."""
        return self.n

    def _floor(self, level: float) -> float:
        c = self.config
        step = self.quantum if self.quantum > 0.0 else (1.0 if self.integral else 0.0)
        return max(step, c.rel_floor * abs(level), c.abs_floor)

    def seasonal(self, t: float | None) -> bool:
        """Whether the daily profile explains the stream better than a flat level."""
        c = self.config
        return (
            t is not None
            and t - self.t_first >= DAY_S
            and self.dev < c.season_gate * self.dev_plain
        )

    def daily_offset(self, t: float | None) -> float:
        """What the daily profile adds at ``t`` (0 while it is not in use)."""
        if t is None or not self.seasonal(t):
            return 0.0
        return self.season[int((t % DAY_S) // SEASON_S)]

    def _event_score(self, ratio: float, size: float, shifted: bool, excess: float = 0.0) -> float:
        """Score (0.5..1) of an event sample: its ratio, ranked by how credible it is.

        Heavy-tailed streams raise many marginal events; what separates the real ones is
        that they are rare for the stream, larger than its recent extremes, confirmed
        by the short mean rather than carried by one sample, and that the stream's raw
        score has lately run above its own long-run mean at this hour of the day
        (``excess``, in -1..1: the short mean's excess over the hour's long mean, in units
        of the room that mean leaves below 1, so a stream whose score is usually high at
        this hour gains little).
        """
        c = self.config
        big = min(2.0, size / self.extreme) if self.extreme > 0.0 else 2.0
        lift = 1.0 + c.excess_gain * min(max(excess, -1.0), 1.0)
        r = ratio / (1.0 + c.alarm_discount * self.alarms) * math.sqrt(math.sqrt(big))
        r *= lift * lift
        if not shifted:
            r *= c.point_weight
        r = min(r, R_CAP)
        # Events stay in [0.5, 1): above every sub-threshold sample, never exactly 1.0.
        return 0.5 + 0.5 * (r * r / (r * r + 1.0))

    def update(self, x: float, t: float | None = None) -> Step:
        """Score ``x`` (stamped ``t`` seconds, for the daily profile) then learn it."""
        c = self.config
        thr = c.z_threshold
        n = self.n
        slot = 0 if t is None else int((t % DAY_S) // SLOT_S)
        bin_ = 0 if t is None else int((t % DAY_S) // SEASON_S)
        if n == 0:
            self.n = 1
            self.level = self.plain = self.fast = self.prev = x
            self.integral = x.is_integer()
            self.t_first = self.t_last = 0.0 if t is None else t
            return Step(0.0, 0.0, False, False, "high", x, x, 1)

        active = self.seasonal(t)
        profile = self.season[bin_]
        offset = profile if active else 0.0
        base = self.level if active else self.plain
        # A bin may be wider than the day's average spread (a steep half hour), not narrower.
        spread = max(self.bin_dev[bin_], self.dev) if active else self.dev_plain
        sigma = max(MAD_TO_SIGMA * spread, self._floor(base))
        expected = base + offset
        resid = x - expected
        fast = self.fast + c.fast_alpha * (x - offset - self.fast)
        z_point = abs(resid) / sigma
        gap = fast - base
        z_shift = abs(gap) / max(MAD_TO_SIGMA * self.shift_dev, sigma * c.fast_scale)
        z_raw = max(z_point, z_shift)
        bar = max(thr, c.peak_ratio * self.peak, c.slot_peak_ratio * self.slot_peak[slot])
        ratio = min(z_raw / bar, R_CAP)
        z = ratio * thr
        judged = n >= c.warmup_samples
        score = ratio * ratio / (ratio * ratio + 1.0) if judged else 0.0
        toward = resid if z_point >= z_shift else fast - base
        anomalous = judged and z >= thr
        r_raw = min(z_raw / thr, R_CAP)
        s_raw = r_raw * r_raw / (r_raw * r_raw + 1.0)
        s_recent = self.s_recent + c.recent_alpha * (s_raw - self.s_recent)

        if self.in_event:
            if z < c.clear_ratio * thr:
                self.quiet += 1
                if self.quiet >= c.clear_samples:
                    self.in_event = False
                    self.quiet = 0
            else:
                self.quiet = 0
        event = anomalous and not self.in_event and (self.cooldown == 0 or ratio >= c.override)
        # An excursion that keeps growing after its event has ended (the baseline and the
        # bar have adapted to it) is reported again once it is `escalation` times as far
        # from the value expected at its onset; it is over when the value comes back
        # within half the onset deviation or crosses to the other side.
        escalate = False
        beyond = x - self.esc_anchor
        if self.esc_size != 0.0:
            if beyond * self.esc_size <= 0.0 or abs(beyond) < 0.5 * abs(self.esc_size):
                self.esc_size = 0.0
            elif abs(beyond) >= c.escalation * abs(self.esc_size):
                escalate = not event and not self.in_event
        if event or escalate:
            rank = ratio
            if escalate:
                # Ranked by its growth: at least `escalation` (the onset was >= the threshold).
                rank = max(ratio, abs(beyond) / abs(self.esc_size))
                self.esc_size = beyond
                toward = beyond
            elif c.escalation > 0.0:
                onset = max(abs(resid), thr * sigma)
                self.esc_anchor = expected
                self.esc_size = onset if toward >= 0 else -onset
            event = True
            self.in_event = True
            self.quiet = 0
            self.cooldown = c.suppress_samples
            room = max(1.0 - self.slot_usual[slot], 1e-9)
            excess = (s_recent - self.slot_usual[slot]) / room
            score = self._event_score(rank, abs(resid), z_shift > z_point, excess)
            self.alarms += 1.0
        elif self.cooldown > 0:
            self.cooldown -= 1
        self.alarms *= c.alarm_decay
        self.s_recent = s_recent
        # Per hour, the long mean keeps the memory (in time) that it would have stream-wide.
        if t is None:
            usual_rate = max(c.usual_alpha, 1.0 / n)
        else:
            usual_rate = max(SEASON_SLOTS * c.usual_alpha, min(1.0, SEASON_SLOTS / n))
        self.slot_usual[slot] += usual_rate * (s_raw - self.slot_usual[slot])
        if n >= CLIP_AFTER:
            self.extreme = max(abs(resid), c.extreme_decay * self.extreme)
            self.peak = max(min(z_raw, Z_CAP), c.peak_decay * self.peak)
            if t is not None:
                self.slot_peak[slot] = max(
                    min(z_raw, Z_CAP), c.slot_peak_decay * self.slot_peak[slot]
                )

        rate = max(c.alpha, 1.0 / (n + 1))
        clipping = n >= CLIP_AFTER
        r_plain = x - self.plain
        lim = c.clip * max(MAD_TO_SIGMA * self.dev_plain, self._floor(self.plain))
        r_plain = min(max(r_plain, -lim), lim) if clipping else r_plain
        self.plain += rate * r_plain
        self.dev_plain += rate * (abs(r_plain) - self.dev_plain)
        if t is not None:
            r_seas = x - self.level - profile
            lim = c.clip * max(MAD_TO_SIGMA * self.dev, self._floor(self.level))
            r_seas = min(max(r_seas, -lim), lim) if clipping else r_seas
            self.level += rate * r_seas
            self.dev += rate * (abs(r_seas) - self.dev)
            # The profile learns per unit of time, not per sample, so its memory is the same
            # number of days whatever the sampling interval.
            elapsed = min(max(t - self.t_last, 0.0), SEASON_S)
            bin_rate = min(1.0, c.season_rate * elapsed / SEASON_S)
            self.season[bin_] += bin_rate * r_seas
            self.bin_dev[bin_] += bin_rate * (abs(r_seas) - self.bin_dev[bin_])
            self.t_last = t
        else:
            self.level = self.plain
            self.dev = self.dev_plain

        out_of_band = judged and z_point >= thr
        if out_of_band and resid > 0:
            self.run = self.run + 1 if self.run > 0 else 1
        elif out_of_band and resid < 0:
            self.run = self.run - 1 if self.run < 0 else -1
        else:
            self.run = 0
        if abs(self.run) >= c.relearn_after:
            shift = fast - base
            self.level += shift
            self.plain += shift
            self.run = 0

        step = abs(x - self.prev)
        if step > 0.0 and (self.quantum == 0.0 or step < self.quantum):
            self.quantum = step
        self.integral = self.integral and x.is_integer()
        self.prev = x
        shift_lim = c.clip * max(MAD_TO_SIGMA * self.shift_dev, sigma * c.fast_scale)
        self.shift_dev += rate * (min(abs(gap), shift_lim) - self.shift_dev)
        self.fast = fast
        self.n = n + 1
        return Step(
            score,
            z,
            judged,
            event,
            "high" if toward >= 0 else "low",
            expected - thr * sigma,
            expected + thr * sigma,
            self.n,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (the config is stored by the owner)."""
        state: dict[str, Any] = {name: getattr(self, name) for name in WHOLE_FIELDS}
        state["floats"] = _pack([getattr(self, name) for name in FLOAT_FIELDS], len(FLOAT_FIELDS))
        for name, size in ARRAY_FIELDS.items():
            state[name] = _pack(getattr(self, name), size)
        return state

    @classmethod
    def from_dict(cls, data: object, config: DetectorConfig | None = None) -> StreamDetector:
        """Inverse of to_dict; raises ValueError on missing or mistyped fields."""
        if not isinstance(data, dict):
            raise ValueError("detector state must be a mapping")
        det = cls(config)
        try:
            det.n = _as_int(data["n"])
            for name, value in zip(FLOAT_FIELDS, _float_fields(data), strict=True):
                setattr(det, name, value)
            for name, size in ARRAY_FIELDS.items():
                if name in LATER_ARRAYS and name not in data:
                    seed = _as_float(data.get(LATER_ARRAYS[name], 0.0))
                    setattr(det, name, [seed] * size)
                    continue
                setattr(det, name, _unpack(data[name], size))
            det.integral = bool(data["integral"])
            det.in_event = bool(data["in_event"])
            det.run = _as_int(data["run"])
            det.quiet = _as_int(data["quiet"])
            det.cooldown = _as_int(data["cooldown"])
        except KeyError as err:
            raise ValueError(f"detector state lacks {err}") from err
        spreads = (det.dev, det.dev_plain, det.shift_dev, det.quantum, det.alarms, det.extreme)
        means = (det.s_recent, *det.slot_usual)
        if min(det.n, *spreads) < 0 or not all(0.0 <= m < 1.0 for m in means):
            raise ValueError("detector state out of range")
        return det


def _as_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError("non-finite number in state")
    return out


def _float_fields(data: dict[str, Any]) -> list[float]:
    """The float scalars of a saved state, packed or (older states) one per key."""
    if "floats" in data:
        values = _unpack(data["floats"])
        if not 0 < len(values) <= len(FLOAT_FIELDS):
            raise ValueError("bad packed scalars")
        return values + [0.0] * (len(FLOAT_FIELDS) - len(values))
    return [
        0.0 if name in LATER_FIELDS and name not in data else _as_float(data[name])
        for name in FLOAT_FIELDS
    ]


def _pack(values: list[float], size: int) -> str:
    return base64.b64encode(struct.pack(f"<{size}d", *values)).decode("ascii")


def _unpack(value: object, size: int | None = None) -> list[float]:
    """Floats packed by _pack; exactly ``size`` of them, or as many as there are."""
    if not isinstance(value, str):
        raise ValueError("expected a base64 string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
        count = len(raw) // 8 if size is None else size
        values = list(struct.unpack(f"<{count}d", raw))
    except (ValueError, struct.error, UnicodeEncodeError) as err:
        raise ValueError(f"bad packed array: {err}") from err
    return [_as_float(v) for v in values]


def _as_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value
