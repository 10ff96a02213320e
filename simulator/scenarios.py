"""Fault scenarios: sensor values as pure functions of simulated time, for a given seed.

`t` is simulated seconds since the scenario began (environment and hardware drift), `uptime`
simulated seconds since the current boot (heap state), `boot` the boot index (0, 1, ...).
Values are quantised like the real sensors report them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .entities import (
    HEAP_FREE,
    HEAP_MAX_BLOCK,
    HEAP_MIN_FREE,
    INTERNAL_TEMPERATURE,
    LOOP_TIME,
    UPTIME,
    WIFI_SIGNAL,
)
from .replay import ReplayTrace, nab_machine_temperature
from .signals import NOISE_CLIP, gauss, quantise, smooth, uniform

REASON_POWER_ON = "Power on"
REASON_SOFTWARE_RESTART = "Software/System restart"
REASON_EXCEPTION = "Exception"
REASON_TASK_WATCHDOG = "Task watchdog"

HEAP_NOISE = 600.0
HEAP_WANDER = 1500.0
# Lowest heap_free can fall below its trend: clipped noise bounds keep heap_min_free honest.
HEAP_NOISE_FLOOR = NOISE_CLIP * (HEAP_NOISE + HEAP_WANDER) + 100.0
LEAK_CRASH_FREE = 12_000.0


@dataclass(frozen=True)
class Crash:
    """This boot ends in a crash after `uptime` simulated seconds."""

    uptime: float
    reason: str


def _q4(value: float) -> float:
    """Heap figures are byte counts in multiples of 4 (allocator alignment)."""
    return float(max(0, int(value) // 4 * 4))


class Scenario:
    """A healthy ESP32: realistic noise around seed-dependent baselines. Base of all others."""

    name = "healthy"

    def __init__(self, seed: int, replay: Mapping[str, ReplayTrace] | None = None) -> None:
        self.seed = seed
        self.replay: dict[str, ReplayTrace] = dict(replay or {})
        rng = random.Random(f"profile/{seed}")
        self.rssi_base = rng.uniform(-70.0, -52.0)
        self.temp_base = rng.uniform(41.0, 50.0)
        self.heap_base = float(rng.randrange(150_000, 200_000))
        self.block_ratio = rng.uniform(0.55, 0.7)
        self.min_free_margin = float(rng.randrange(15_000, 30_000))
        self.loop_base = rng.uniform(8.0, 16.0)

    def crash(self, boot: int) -> Crash | None:
        """When (in uptime) this boot crashes, or None if it runs forever."""
        return None

    def values(self, t: float, uptime: float, boot: int) -> dict[str, float]:
        step = math.floor(t)
        raw = {
            UPTIME: float(math.floor(uptime)),
            WIFI_SIGNAL: self.wifi_signal(t, step),
            INTERNAL_TEMPERATURE: self.temperature(t, uptime, step),
            LOOP_TIME: self.loop_time(t, uptime, step),
        }
        free_trend = self.heap_trend(uptime, boot)
        heap_free = (
            free_trend
            + HEAP_NOISE * gauss(self.seed, "heap", step)
            + HEAP_WANDER * self._clipped_smooth("heap_wander", t, 300.0)
        )
        raw[HEAP_FREE] = heap_free
        raw[HEAP_MAX_BLOCK] = min(
            heap_free * self.block_ratio * self.fragmentation(uptime, boot)
            + 400.0 * gauss(self.seed, "block", step),
            heap_free - 4096.0,
        )
        raw[HEAP_MIN_FREE] = self.heap_min_free(uptime, boot)
        for metric, trace in self.replay.items():
            raw[metric] = trace.value_at(t)
        return self.quantised(raw)

    @staticmethod
    def quantised(raw: Mapping[str, float]) -> dict[str, float]:
        out = dict(raw)
        for metric in (HEAP_FREE, HEAP_MAX_BLOCK, HEAP_MIN_FREE):
            out[metric] = _q4(max(512.0, raw[metric]))
        out[HEAP_MIN_FREE] = min(out[HEAP_MIN_FREE], out[HEAP_FREE])
        out[HEAP_MAX_BLOCK] = min(out[HEAP_MAX_BLOCK], out[HEAP_FREE])
        out[WIFI_SIGNAL] = float(round(min(-20.0, max(-100.0, raw[WIFI_SIGNAL]))))
        out[INTERNAL_TEMPERATURE] = quantise(raw[INTERNAL_TEMPERATURE], 0.1)
        out[LOOP_TIME] = float(max(1, round(raw[LOOP_TIME])))
        return out

    def _clipped_smooth(self, stream: str, t: float, period: float) -> float:
        return max(-NOISE_CLIP, min(NOISE_CLIP, smooth(self.seed, stream, t, period)))

    # Per-metric models; scenarios override the ones their fault affects.

    def wifi_signal(self, t: float, step: int) -> float:
        return (
            self.rssi_base
            + 2.0 * smooth(self.seed, "rssi_wander", t, 600.0)
            + 1.0 * gauss(self.seed, "rssi", step)
        )

    def temperature(self, t: float, uptime: float, step: int) -> float:
        warm_up = -3.0 * math.exp(-uptime / 120.0)
        return (
            self.temp_base
            + warm_up
            + 1.5 * smooth(self.seed, "temp_wander", t, 1800.0)
            + 0.25 * gauss(self.seed, "temp", step)
        )

    def loop_time(self, t: float, uptime: float, step: int) -> float:
        value = self.loop_base + 2.0 * abs(gauss(self.seed, "loop", step))
        if uniform(self.seed, "loop_spike", step) < 0.02:
            value += 40.0 * uniform(self.seed, "loop_spike_size", step)
        return value

    def heap_trend(self, uptime: float, boot: int) -> float:
        return self.heap_base

    def fragmentation(self, uptime: float, boot: int) -> float:
        """Factor (0..1] on the largest free block relative to its healthy share of free heap."""
        return 1.0

    def heap_min_free(self, uptime: float, boot: int) -> float:
        # Monotone within a boot and always below the lowest heap_free can reach.
        settle = 2000.0 * (1.0 - math.exp(-uptime / 600.0))
        return self.heap_trend(uptime, boot) - HEAP_NOISE_FLOOR - self.min_free_margin - settle


class MemoryLeak(Scenario):
    """Free heap falls linearly each boot until an allocation fails and the device panics."""

    name = "memory_leak"

    def __init__(self, seed: int, replay: Mapping[str, ReplayTrace] | None = None) -> None:
        super().__init__(seed, replay)
        self.crash_uptime = random.Random(f"leak/{seed}").uniform(8000.0, 10000.0)

    def crash_after(self, boot: int) -> float:
        return self.crash_uptime * (1.0 + 0.05 * gauss(self.seed, "leak_boot", boot))

    def crash(self, boot: int) -> Crash | None:
        return Crash(self.crash_after(boot), REASON_EXCEPTION)

    def _progress(self, uptime: float, boot: int) -> float:
        return min(1.0, max(0.0, uptime / self.crash_after(boot)))

    def heap_trend(self, uptime: float, boot: int) -> float:
        return self.heap_base - (self.heap_base - LEAK_CRASH_FREE) * self._progress(uptime, boot)

    def fragmentation(self, uptime: float, boot: int) -> float:
        return 1.0 - 0.85 * self._progress(uptime, boot)

    def heap_min_free(self, uptime: float, boot: int) -> float:
        margin = self.min_free_margin * (1.0 - 0.7 * self._progress(uptime, boot))
        return self.heap_trend(uptime, boot) - HEAP_NOISE_FLOOR - margin

    def loop_time(self, t: float, uptime: float, step: int) -> float:
        # Uses the boot-0 crash time: a rough allocator-pressure effect is enough here.
        pressure = min(1.0, uptime / self.crash_uptime)
        return super().loop_time(t, uptime, step) + 10.0 * pressure**2


class Overheating(Scenario):
    """Internal temperature climbs toward 86-90 °C (failing regulator, blocked airflow)."""

    name = "overheating"
    tau = 3600.0

    def __init__(self, seed: int, replay: Mapping[str, ReplayTrace] | None = None) -> None:
        super().__init__(seed, replay)
        self.peak = random.Random(f"heat/{seed}").uniform(86.0, 90.0)

    def temperature(self, t: float, uptime: float, step: int) -> float:
        rise = (self.peak - self.temp_base) * (1.0 - math.exp(-t / self.tau))
        return self.temp_base + rise + 0.3 * gauss(self.seed, "temp", step)


class WifiDegradation(Scenario):
    """RSSI drifts down toward -90 dBm and gets noisier (antenna, new obstacle, interference)."""

    name = "wifi_degradation"
    tau = 3600.0
    target = -90.0

    def wifi_signal(self, t: float, step: int) -> float:
        ramp = 1.0 - math.exp(-t / self.tau)
        jitter = 1.0 + 4.0 * ramp
        return (
            self.rssi_base
            + (self.target - self.rssi_base) * ramp
            + jitter * gauss(self.seed, "rssi", step)
        )


class CrashLoop(Scenario):
    """Reboots every 20-40 simulated minutes: exceptions and task watchdog resets."""

    name = "crash_loop"

    def crash(self, boot: int) -> Crash | None:
        rng = random.Random(f"crash_loop/{self.seed}/{boot}")
        reason = REASON_EXCEPTION if rng.random() < 0.6 else REASON_TASK_WATCHDOG
        return Crash(rng.uniform(1200.0, 2400.0), reason)

    def loop_time(self, t: float, uptime: float, step: int) -> float:
        value = super().loop_time(t, uptime, step) + 6.0
        if uniform(self.seed, "wdt_spike", step) < 0.08:
            value += 200.0 * uniform(self.seed, "wdt_spike_size", step)
        return value

    def heap_trend(self, uptime: float, boot: int) -> float:
        return self.heap_base - 20_000.0


class Replay(Scenario):
    """Healthy device with metrics played from traces (default: NAB machine temperature)."""

    name = "replay"

    def __init__(self, seed: int, replay: Mapping[str, ReplayTrace] | None = None) -> None:
        super().__init__(seed, replay or {INTERNAL_TEMPERATURE: nab_machine_temperature()})


SCENARIOS: dict[str, Callable[[int, Mapping[str, ReplayTrace] | None], Scenario]] = {
    cls.name: cls for cls in (Scenario, MemoryLeak, Overheating, WifiDegradation, CrashLoop, Replay)
}


def make_scenario(
    name: str, seed: int, replay: Mapping[str, ReplayTrace] | None = None
) -> Scenario:
    """Build a scenario by name; ValueError for an unknown name."""
    try:
        factory = SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; choose from {sorted(SCENARIOS)}") from None
    return factory(seed, replay)
