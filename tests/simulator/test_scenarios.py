"""Scenario models: deterministic for a seed, quantised like real sensors, faults unfold."""

from __future__ import annotations

import statistics

import pytest

from simulator import SCENARIOS, SimulatedDevice, make_scenario
from simulator.fleet import DEMO_TIME_SCALE

from .conftest import ClientFactory, DeviceFactory

SAMPLE_TIMES = [0.0, 1.0, 59.0, 600.5, 3600.0, 7777.0, 20_000.0]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_seed_same_values(name: str) -> None:
    first, second, other = make_scenario(name, 7), make_scenario(name, 7), make_scenario(name, 8)
    for t in SAMPLE_TIMES:
        assert first.values(t, t, 0) == second.values(t, t, 0)
    assert first.crash(3) == second.crash(3)
    assert any(first.values(t, t, 0) != other.values(t, t, 0) for t in SAMPLE_TIMES)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_values_quantised_like_real_sensors(name: str) -> None:
    scenario = make_scenario(name, 3)
    previous_min_free = float("inf")
    for step in range(300):
        uptime = step * 7.0
        values = scenario.values(uptime, uptime, 0)
        assert values["wifi_signal"] == int(values["wifi_signal"])
        assert -100 <= values["wifi_signal"] <= -20
        for metric in ("heap_free", "heap_max_block", "heap_min_free"):
            assert values[metric] % 4 == 0
        assert (
            abs(values["internal_temperature"] * 10 - round(values["internal_temperature"] * 10))
            < 1e-6
        )
        assert values["loop_time"] == int(values["loop_time"]) >= 1
        assert values["uptime"] == int(uptime)
        assert values["heap_max_block"] <= values["heap_free"]
        assert values["heap_min_free"] <= values["heap_free"]
        assert values["heap_min_free"] <= previous_min_free  # a running minimum since boot
        previous_min_free = values["heap_min_free"]


def test_healthy_stays_in_plausible_ranges() -> None:
    scenario = make_scenario("healthy", 11)
    samples = [scenario.values(t, t, 0) for t in range(0, 86_400, 97)]
    assert all(-85 <= s["wifi_signal"] <= -40 for s in samples)
    assert all(30 <= s["internal_temperature"] <= 60 for s in samples)
    assert all(120_000 <= s["heap_free"] <= 210_000 for s in samples)
    assert all(1 <= s["loop_time"] <= 80 for s in samples)
    assert scenario.crash(0) is None


def test_overheating_climbs_toward_85_to_90() -> None:
    scenario = make_scenario("overheating", 2)
    start = scenario.values(0.0, 0.0, 0)["internal_temperature"]
    late = [scenario.values(t, t, 0)["internal_temperature"] for t in range(14_400, 18_000, 60)]
    assert start < 55
    assert 84 <= statistics.mean(late) <= 91


def test_wifi_degrades_toward_minus_90_with_more_jitter() -> None:
    scenario = make_scenario("wifi_degradation", 4)
    early = [scenario.values(t, t, 0)["wifi_signal"] for t in range(0, 600)]
    late = [scenario.values(t, t, 0)["wifi_signal"] for t in range(18_000, 18_600)]
    assert statistics.mean(early) > -72
    assert -93 <= statistics.mean(late) <= -86
    assert statistics.stdev(late) > 2 * statistics.stdev(early)


def test_memory_leak_crash_unfolds_in_minutes_at_demo_scale() -> None:
    for seed in range(20):
        crash = make_scenario("memory_leak", seed).crash(0)
        assert crash is not None
        assert crash.reason == "Exception"
        assert 100 <= crash.uptime / DEMO_TIME_SCALE <= 200


def test_crash_loop_crashes_several_times_in_three_minutes_at_demo_scale() -> None:
    for seed in range(20):
        scenario = make_scenario("crash_loop", seed)
        elapsed, crashes, reasons = 0.0, 0, set()
        while True:
            crash = scenario.crash(crashes)
            assert crash is not None
            elapsed += crash.uptime / DEMO_TIME_SCALE
            if elapsed > 180:
                break
            crashes += 1
            reasons.add(crash.reason)
            elapsed += 3.0  # reboot_delay of the demo
        assert crashes >= 3
        assert reasons <= {"Exception", "Task watchdog"}


async def _leak_until_reboot(dev: SimulatedDevice) -> list[dict[str, float]]:
    trace = [dev.values]
    while dev.boot_count == 0:
        dev.advance(60.0)
        trace.append(dev.values)
    await dev.wait_online()
    trace.append(dev.values)
    return trace


async def test_memory_leak_device_crashes_and_reboots_deterministically(
    make_device: DeviceFactory,
) -> None:
    first = await make_device(scenario="memory_leak", seed=3, reboot_delay=0.01)
    second = await make_device(name="esp-twin", scenario="memory_leak", seed=3, reboot_delay=0.01)
    trace = await _leak_until_reboot(first)
    assert trace == await _leak_until_reboot(second)

    before_crash, after_boot = trace[-3], trace[-1]
    assert trace[0]["heap_free"] - before_crash["heap_free"] > 100_000
    assert before_crash["heap_max_block"] < 0.2 * trace[0]["heap_max_block"]
    assert before_crash["heap_min_free"] < trace[0]["heap_min_free"]
    assert first.reset_reason == "Exception"
    assert first.reboots == ["Exception"]
    assert after_boot["uptime"] < 60.0  # rebooted unseen inside the last step
    assert after_boot["heap_free"] > 140_000
    assert first.is_online


async def test_watched_leak_crash_resets_the_connection(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device(scenario="memory_leak", seed=3, reboot_delay=0.5)
    await make_client(dev)
    await dev.wait_for_clients(1)
    dev.advance(20_000.0)  # well past the leak's crash
    assert dev.is_rebooting
    assert dev.reset_reason == "Exception"
    await dev.wait_for_clients(0)
    await dev.wait_online()
    assert dev.uptime == 0.0


async def test_reboot_timeout_without_clients(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    """Field case C04: unmonitored, the device reboots every reboot_timeout, unseen."""
    dev = await make_device(initial_uptime=86_400.0, reboot_timeout=900.0)
    client = await make_client(dev)
    await dev.wait_for_clients(1)
    dev.advance(5000.0)  # watched: no reboot
    assert dev.boot_count == 0
    await client.disconnect()
    await dev.wait_for_clients(0)
    dev.advance(8 * 900.0 + 420.0)
    assert dev.boot_count == 8
    assert dev.uptime == 420.0
    assert dev.reset_reason == "Software/System restart"
    assert dev.is_online


async def test_crash_loop_device_reboots_on_its_own(make_device: DeviceFactory) -> None:
    dev = await make_device(scenario="crash_loop", time_scale=20_000.0, reboot_delay=0.02)
    await dev.wait_for(lambda: dev.boot_count >= 3)
    assert set(dev.reboots) <= {"Exception", "Task watchdog"}


async def test_set_scenario_and_value_override(make_device: DeviceFactory) -> None:
    dev = await make_device(seed=9)
    dev.advance(1000.0)
    dev.set_scenario("overheating")
    assert dev.scenario == "overheating"
    assert dev.values["internal_temperature"] < 60  # drift starts when the scenario is set
    dev.advance(5 * 3600.0)
    assert dev.values["internal_temperature"] > 80
    dev.set_value("wifi_signal", -127.0)
    assert dev.values["wifi_signal"] == -127.0
    dev.set_value("wifi_signal", None)
    assert dev.values["wifi_signal"] > -100
    with pytest.raises(ValueError, match="unknown scenario"):
        dev.set_scenario("meltdown")
