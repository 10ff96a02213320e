"""The detector of detector.py for N streams at once: one numpy pass per tick.

State is a struct of arrays; every operation mirrors StreamDetector.update in the same
order, so results are bit-identical to the per-sample path (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .config import DetectorConfig
from .detector import (
    CLIP_AFTER,
    DAY_S,
    FLOAT_FIELDS,
    MAD_TO_SIGMA,
    R_CAP,
    SEASON_BINS,
    SEASON_S,
    SEASON_SLOTS,
    SLOT_S,
    Z_CAP,
    StreamDetector,
)
from .errors import InvalidSampleError
from .validation import MAX_MAGNITUDE

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# The fleet keeps one array per scalar field of the per-stream state, in the same order.
_FLOATS = FLOAT_FIELDS
_INTS = ("n", "run", "quiet", "cooldown")
_BOOLS = ("integral", "in_event")
_PROFILES = {
    "season": SEASON_BINS,
    "bin_dev": SEASON_BINS,
    "slot_peak": SEASON_SLOTS,
    "slot_usual": SEASON_SLOTS,
}


@dataclass(frozen=True, slots=True)
class FleetStep:
    """Per-stream results of one tick (arrays of length N)."""

    score: FloatArray
    z: FloatArray
    event: BoolArray
    judged: BoolArray
    high: BoolArray
    expected_low: FloatArray
    expected_high: FloatArray


class FleetDetector:
    """N independent streams sharing one DetectorConfig."""

    def __init__(self, size: int, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.size = size
        self.n: IntArray = np.zeros(size, dtype=np.int64)
        self.run: IntArray = np.zeros(size, dtype=np.int64)
        self.quiet: IntArray = np.zeros(size, dtype=np.int64)
        self.cooldown: IntArray = np.zeros(size, dtype=np.int64)
        self.level: FloatArray = np.zeros(size)
        self.plain: FloatArray = np.zeros(size)
        self.dev: FloatArray = np.zeros(size)
        self.dev_plain: FloatArray = np.zeros(size)
        self.fast: FloatArray = np.zeros(size)
        self.shift_dev: FloatArray = np.zeros(size)
        self.quantum: FloatArray = np.zeros(size)
        self.prev: FloatArray = np.zeros(size)
        self.peak: FloatArray = np.zeros(size)
        self.t_first: FloatArray = np.zeros(size)
        self.t_last: FloatArray = np.zeros(size)
        self.alarms: FloatArray = np.zeros(size)
        self.extreme: FloatArray = np.zeros(size)
        self.s_recent: FloatArray = np.zeros(size)
        self.esc_anchor: FloatArray = np.zeros(size)
        self.esc_size: FloatArray = np.zeros(size)
        self.integral: BoolArray = np.ones(size, dtype=np.bool_)
        self.in_event: BoolArray = np.zeros(size, dtype=np.bool_)
        self.season: FloatArray = np.zeros((size, SEASON_BINS))
        self.bin_dev: FloatArray = np.zeros((size, SEASON_BINS))
        self.slot_peak: FloatArray = np.zeros((size, SEASON_SLOTS))
        self.slot_usual: FloatArray = np.zeros((size, SEASON_SLOTS))
        self._rows = np.arange(size)

    @property
    def state_bytes(self) -> int:
        """Bytes of model state held per stream."""
        arrays = [getattr(self, f) for f in (*_FLOATS, *_INTS, *_BOOLS, *_PROFILES)]
        return sum(int(a.nbytes) for a in arrays) // max(self.size, 1)

    def _floor(self, step: FloatArray, level: FloatArray) -> FloatArray:
        c = self.config
        floor: FloatArray = np.maximum(np.maximum(step, c.rel_floor * np.abs(level)), c.abs_floor)
        return floor

    def update(self, values: npt.ArrayLike, t: float | npt.ArrayLike | None = None) -> FleetStep:
        """One sample for every stream; ``t`` a shared timestamp, one per stream, or None."""
        x = np.asarray(values, dtype=np.float64)
        if x.shape != (self.size,):
            raise InvalidSampleError(f"expected {self.size} values, got shape {x.shape}")
        # NaN fails the comparison and inf exceeds the bound: one reduction checks both.
        if x.size and not float(np.abs(x).max()) <= MAX_MAGNITUDE:
            raise InvalidSampleError("values must be finite and within +-1e300")
        has_t = t is not None
        ts = np.broadcast_to(np.asarray(0.0 if t is None else t, dtype=np.float64), x.shape)
        if has_t and not np.all(np.isfinite(ts)):
            raise InvalidSampleError("timestamps must be finite")

        c = self.config
        thr = c.z_threshold
        n = self.n
        first = n == 0
        any_first = bool(first.any())
        # One shared timestamp (the usual tick) selects one column: a view, no gather.
        rows: slice | IntArray
        slot: int | IntArray
        bin_: int | IntArray
        if t is None or np.ndim(t) == 0:
            rows = slice(None)
            stamp = float(ts[0]) if has_t else 0.0
            slot = int((stamp % DAY_S) // SLOT_S)
            bin_ = int((stamp % DAY_S) // SEASON_S)
        else:
            rows = self._rows
            slot = (ts % DAY_S // SLOT_S).astype(np.int64)
            bin_ = (ts % DAY_S // SEASON_S).astype(np.int64)

        if has_t:
            active = (ts - self.t_first >= DAY_S) & (self.dev < c.season_gate * self.dev_plain)
        else:
            active = np.zeros(self.size, dtype=np.bool_)
        profile = self.season[rows, bin_]
        bin_dev = self.bin_dev[rows, bin_]
        offset = np.where(active, profile, 0.0)
        base = np.where(active, self.level, self.plain)
        spread = np.where(active, np.maximum(bin_dev, self.dev), self.dev_plain)
        step_floor = np.where(self.quantum > 0.0, self.quantum, self.integral.astype(np.float64))
        sigma = np.maximum(MAD_TO_SIGMA * spread, self._floor(step_floor, base))
        expected = base + offset
        resid = x - expected
        fast = self.fast + c.fast_alpha * (x - offset - self.fast)
        z_point = np.abs(resid) / sigma
        gap = fast - base
        z_shift = np.abs(gap) / np.maximum(MAD_TO_SIGMA * self.shift_dev, sigma * c.fast_scale)
        z_raw = np.maximum(z_point, z_shift)
        slot_peak = self.slot_peak[rows, slot]
        bar = np.maximum(np.maximum(thr, c.peak_ratio * self.peak), c.slot_peak_ratio * slot_peak)
        ratio = np.minimum(z_raw / bar, R_CAP)
        z = ratio * thr
        judged = n >= c.warmup_samples
        score = _where(bool(judged.all()), judged, ratio * ratio / (ratio * ratio + 1.0), 0.0)
        toward = np.where(z_point >= z_shift, resid, gap)
        anomalous = judged & (z >= thr)
        r_raw = np.minimum(z_raw / thr, R_CAP)
        s_raw = r_raw * r_raw / (r_raw * r_raw + 1.0)
        s_recent = self.s_recent + c.recent_alpha * (s_raw - self.s_recent)

        was_in = self.in_event
        below = z < c.clear_ratio * thr
        quiet = np.where(was_in, np.where(below, self.quiet + 1, 0), self.quiet)
        cleared = was_in & below & (quiet >= c.clear_samples)
        in_event = was_in & ~cleared
        quiet = np.where(cleared, 0, quiet)
        event = anomalous & ~in_event & ((self.cooldown == 0) | (ratio >= c.override))
        # Escalations and event scores concern the few streams with a live excursion or an
        # event: they are computed on those indices only, with StreamDetector's formulas.
        esc_anchor, esc_size, rank = self.esc_anchor, self.esc_size, ratio
        escalated = np.zeros(0, dtype=np.int64)
        live = np.flatnonzero(esc_size)
        if live.size:
            beyond = x[live] - esc_anchor[live]
            onset_dev = esc_size[live]
            over = (beyond * onset_dev <= 0.0) | (np.abs(beyond) < 0.5 * np.abs(onset_dev))
            onset_dev = np.where(over, 0.0, onset_dev)
            grown = np.abs(beyond) >= c.escalation * np.abs(onset_dev)
            esc = ~over & grown & ~event[live] & ~in_event[live]
            esc_size = esc_size.copy()
            esc_size[live] = onset_dev
            escalated = live[esc]
            if escalated.size:
                rank = ratio.copy()
                growth = np.abs(beyond[esc]) / np.abs(onset_dev[esc])
                rank[escalated] = np.maximum(ratio[escalated], growth)
                esc_size[escalated] = beyond[esc]
                # An escalation points the way the excursion has grown.
                toward = toward.copy()
                toward[escalated] = beyond[esc]
        fresh = np.flatnonzero(event) if c.escalation > 0.0 else np.zeros(0, dtype=np.int64)
        if fresh.size:
            onset = np.maximum(np.abs(resid[fresh]), thr * sigma[fresh])
            esc_anchor = esc_anchor.copy()
            esc_anchor[fresh] = expected[fresh]
            if esc_size is self.esc_size:
                esc_size = esc_size.copy()
            esc_size[fresh] = np.where(toward[fresh] >= 0, onset, -onset)
        if escalated.size:
            event = event.copy()
            event[escalated] = True
        in_event = in_event | event
        quiet = np.where(event, 0, quiet)
        cooldown = np.where(
            event, c.suppress_samples, np.where(self.cooldown > 0, self.cooldown - 1, self.cooldown)
        )
        clipping = n >= CLIP_AFTER
        all_clipped = bool(clipping.all())
        size_dev = np.abs(resid)
        slot_usual = self.slot_usual[rows, slot]
        scored = np.flatnonzero(event)
        if scored.size:
            size_ev = size_dev[scored]
            extreme_ev = self.extreme[scored]
            # min(2, |dev| / extreme), dividing only where the quotient is below 2.
            small = (extreme_ev > 0.0) & (size_ev < 2.0 * extreme_ev)
            big = np.minimum(
                2.0, np.divide(size_ev, extreme_ev, out=np.full(scored.size, 2.0), where=small)
            )
            usual = slot_usual[scored]
            room = np.maximum(1.0 - usual, 1e-9)
            excess = (s_recent[scored] - usual) / room
            lift = 1.0 + c.excess_gain * np.minimum(np.maximum(excess, -1.0), 1.0)
            r_ev = rank[scored] / (1.0 + c.alarm_discount * self.alarms[scored])
            r_ev = r_ev * np.sqrt(np.sqrt(big))
            r_ev = r_ev * (lift * lift)
            shifted = z_shift[scored] > z_point[scored]
            r_ev = np.minimum(np.where(shifted, r_ev, r_ev * c.point_weight), R_CAP)
            score[scored] = 0.5 + 0.5 * (r_ev * r_ev / (r_ev * r_ev + 1.0))
        alarms = (self.alarms + event) * c.alarm_decay
        if has_t:
            warm = np.minimum(1.0, SEASON_SLOTS / np.maximum(n, 1))
            usual_rate = np.maximum(SEASON_SLOTS * c.usual_alpha, warm)
        else:
            usual_rate = np.maximum(c.usual_alpha, 1.0 / np.maximum(n, 1))
        slot_usual_new = slot_usual + usual_rate * (s_raw - slot_usual)
        z_capped = np.minimum(z_raw, Z_CAP)
        extreme = _where(
            all_clipped,
            clipping,
            np.maximum(size_dev, c.extreme_decay * self.extreme),
            self.extreme,
        )
        peak = _where(
            all_clipped, clipping, np.maximum(z_capped, c.peak_decay * self.peak), self.peak
        )
        slot_peak_new = (
            _where(
                all_clipped,
                clipping,
                np.maximum(z_capped, c.slot_peak_decay * slot_peak),
                slot_peak,
            )
            if has_t
            else slot_peak
        )

        rate = np.maximum(c.alpha, 1.0 / (n + 1))
        r_plain = x - self.plain
        lim = c.clip * np.maximum(
            MAD_TO_SIGMA * self.dev_plain, self._floor(step_floor, self.plain)
        )
        r_plain = _where(all_clipped, clipping, np.minimum(np.maximum(r_plain, -lim), lim), r_plain)
        plain = self.plain + rate * r_plain
        dev_plain = self.dev_plain + rate * (np.abs(r_plain) - self.dev_plain)
        if has_t:
            r_seas = x - self.level - profile
            lim = c.clip * np.maximum(MAD_TO_SIGMA * self.dev, self._floor(step_floor, self.level))
            r_seas = _where(
                all_clipped, clipping, np.minimum(np.maximum(r_seas, -lim), lim), r_seas
            )
            level = self.level + rate * r_seas
            dev = self.dev + rate * (np.abs(r_seas) - self.dev)
            elapsed = np.minimum(np.maximum(ts - self.t_last, 0.0), SEASON_S)
            bin_rate = np.minimum(1.0, c.season_rate * elapsed / SEASON_S)
            profile_new = profile + bin_rate * r_seas
            bin_dev_new = bin_dev + bin_rate * (np.abs(r_seas) - bin_dev)
            t_last = ts.copy()
        else:
            level = plain
            dev = dev_plain
            profile_new = profile
            bin_dev_new = bin_dev
            t_last = self.t_last

        out_of_band = judged & (z_point >= thr)
        up = out_of_band & (resid > 0)
        down = out_of_band & (resid < 0)
        run = np.where(
            up,
            np.where(self.run > 0, self.run + 1, 1),
            np.where(down, np.where(self.run < 0, self.run - 1, -1), 0),
        )
        relearn = np.abs(run) >= c.relearn_after
        level = np.where(relearn, level + gap, level)
        plain = np.where(relearn, plain + gap, plain)
        run = np.where(relearn, 0, run)

        step = np.abs(x - self.prev)
        quantum = np.where(
            (step > 0.0) & ((self.quantum == 0.0) | (step < self.quantum)), step, self.quantum
        )
        integral = self.integral & (x == np.floor(x))
        shift_lim = c.clip * np.maximum(MAD_TO_SIGMA * self.shift_dev, sigma * c.fast_scale)
        shift_dev = self.shift_dev + rate * (np.minimum(np.abs(gap), shift_lim) - self.shift_dev)

        low = expected - thr * sigma
        high = expected + thr * sigma
        if any_first:
            # The first sample of a stream only seeds its baseline (as in StreamDetector).
            keep = ~first
            level = np.where(keep, level, x)
            plain = np.where(keep, plain, x)
            fast = np.where(keep, fast, x)
            dev = np.where(keep, dev, self.dev)
            dev_plain = np.where(keep, dev_plain, self.dev_plain)
            shift_dev = np.where(keep, shift_dev, self.shift_dev)
            quantum = np.where(keep, quantum, self.quantum)
            integral = np.where(keep, integral, x == np.floor(x))
            self.t_first = np.where(keep, self.t_first, ts if has_t else 0.0)
            t_last = np.where(keep, t_last, ts if has_t else 0.0)
            run = np.where(keep, run, self.run)
            in_event = np.where(keep, in_event, self.in_event)
            quiet = np.where(keep, quiet, self.quiet)
            cooldown = np.where(keep, cooldown, self.cooldown)
            peak = np.where(keep, peak, self.peak)
            alarms = np.where(keep, alarms, self.alarms)
            extreme = np.where(keep, extreme, self.extreme)
            s_recent = np.where(keep, s_recent, self.s_recent)
            esc_anchor = np.where(keep, esc_anchor, self.esc_anchor)
            esc_size = np.where(keep, esc_size, self.esc_size)
            slot_usual_new = np.where(keep, slot_usual_new, slot_usual)
            profile_new = np.where(keep, profile_new, profile)
            bin_dev_new = np.where(keep, bin_dev_new, bin_dev)
            slot_peak_new = np.where(keep, slot_peak_new, slot_peak)
            score = np.where(keep, score, 0.0)
            z = np.where(keep, z, 0.0)
            event = event & keep
            judged = judged & keep
            toward = np.where(keep, toward, 0.0)
            low = np.where(keep, low, x)
            high = np.where(keep, high, x)
        self.level, self.plain, self.fast = level, plain, fast
        self.dev, self.dev_plain, self.shift_dev = dev, dev_plain, shift_dev
        self.quantum, self.integral = quantum, integral
        self.run, self.in_event, self.quiet, self.cooldown = run, in_event, quiet, cooldown
        self.peak, self.t_last = peak, t_last
        self.alarms, self.extreme = alarms, extreme
        self.s_recent = s_recent
        self.esc_anchor, self.esc_size = esc_anchor, esc_size
        self.season[rows, bin_] = profile_new
        self.bin_dev[rows, bin_] = bin_dev_new
        self.slot_peak[rows, slot] = slot_peak_new
        self.slot_usual[rows, slot] = slot_usual_new
        self.prev = x.copy()
        self.n = n + 1
        return FleetStep(
            score=score,
            z=z,
            event=event,
            judged=judged,
            high=toward >= 0,
            expected_low=low,
            expected_high=high,
        )

    # ---- conversion and persistence ----------------------------------------------------
    def stream(self, i: int) -> StreamDetector:
        """Stream ``i`` as a per-sample detector (same state)."""
        det = StreamDetector(self.config)
        for f in _FLOATS:
            setattr(det, f, float(getattr(self, f)[i]))
        for f in _INTS:
            setattr(det, f, int(getattr(self, f)[i]))
        for f in _BOOLS:
            setattr(det, f, bool(getattr(self, f)[i]))
        for f in _PROFILES:
            setattr(det, f, [float(v) for v in getattr(self, f)[i]])
        return det

    @classmethod
    def from_streams(
        cls, streams: list[StreamDetector], config: DetectorConfig | None = None
    ) -> FleetDetector:
        """Stack per-sample detectors into one fleet."""
        fleet = cls(len(streams), config or (streams[0].config if streams else None))
        for i, det in enumerate(streams):
            for f in (*_FLOATS, *_INTS, *_BOOLS):
                getattr(fleet, f)[i] = getattr(det, f)
            for f in _PROFILES:
                getattr(fleet, f)[i, :] = getattr(det, f)
        return fleet

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (a list of per-stream states plus the config)."""
        return {
            "version": 1,
            "config": self.config.to_dict(),
            "streams": [self.stream(i).to_dict() for i in range(self.size)],
        }

    @classmethod
    def from_dict(cls, data: object) -> FleetDetector:
        """Inverse of to_dict; ValueError on an unknown version or a corrupt state."""
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError("unsupported or corrupt fleet state")
        config = DetectorConfig.from_dict(data.get("config"))
        streams = data.get("streams")
        if not isinstance(streams, list):
            raise ValueError("fleet state lacks its streams")
        return cls.from_streams([StreamDetector.from_dict(s, config) for s in streams], config)


def _where(every: bool, mask: BoolArray, yes: FloatArray, no: FloatArray | float) -> FloatArray:
    """np.where(mask, yes, no), skipped when ``every`` (the mask is all true: every stream
    is past its first samples, the usual case)."""
    if every:
        return yes
    out: FloatArray = np.where(mask, yes, no)
    return out
