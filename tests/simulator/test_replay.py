"""Replay of CSV traces, the bundled NAB trace, and the demo fleet that plays it."""

from __future__ import annotations

from pathlib import Path

import pytest
from aioesphomeapi import SensorInfo, SensorState

from simulator import Fleet, ReplayTrace, fnv1_hash, nab_machine_temperature
from simulator.replay import NAB_MACHINE_TEMPERATURE_CSV, TRACES_DIR

from .conftest import ClientFactory, Collector, DeviceFactory

NAB_FIRST_VALUE = 73.96732207


def write_trace(tmp_path: Path, rows: list[tuple[str, float]]) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text("timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in rows))
    return path


def test_trace_is_time_compressed_and_loops(tmp_path: Path) -> None:
    path = write_trace(tmp_path, [("0", 1.0), ("10", 2.0), ("20", 3.0)])
    trace = ReplayTrace(path, speed=10.0)  # 10 trace seconds per simulated second
    assert [trace.value_at(t) for t in (0.0, 0.99, 1.0, 2.5)] == [1.0, 1.0, 2.0, 3.0]
    assert trace.duration == 3.0
    assert trace.value_at(3.0) == 1.0  # starts over


def test_iso_timestamps_and_mapping(tmp_path: Path) -> None:
    path = write_trace(tmp_path, [("2013-12-02 21:15:00", 10.0), ("2013-12-02 21:20:00", 20.0)])
    trace = ReplayTrace(path, scale=0.5, offset=1.0, speed=300.0)
    assert trace.value_at(0.0) == 6.0
    assert trace.value_at(1.0) == 11.0


def test_bad_trace_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("timestamp,value\n")
    with pytest.raises(ValueError, match="no samples"):
        ReplayTrace(path)


def test_nab_trace_bundled_with_licence() -> None:
    assert NAB_MACHINE_TEMPERATURE_CSV.is_file()
    assert "Numenta" in (TRACES_DIR / "LICENSE-NAB.txt").read_text()
    assert "NAB" in (TRACES_DIR / "README.md").read_text()
    trace = nab_machine_temperature()
    assert len(trace) == 22_695
    assert trace.value_at(0.0) == pytest.approx(20.0 + 0.35 * NAB_FIRST_VALUE)
    mapped = [trace.value_at(float(t)) for t in range(0, 22_695, 7)]
    assert min(mapped) >= 20.0
    assert max(mapped) <= 58.1


async def test_replay_device_plays_trace_over_the_api(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    trace = nab_machine_temperature()
    dev = await make_device(scenario="replay")
    client = await make_client(dev)
    states = Collector()
    client.subscribe_states(states)
    key = fnv1_hash("internal_temperature")
    for index, sim_time in enumerate((0.0, 1000.0, 2000.0)):
        if index:
            dev.advance(1000.0)
            await dev.push_states()
        await states.wait_for(lambda items, n=index + 1: sum(s.key == key for s in items) >= n)
        last = [s.state for s in states.items if isinstance(s, SensorState) and s.key == key][-1]
        assert last == pytest.approx(round(trace.value_at(sim_time), 1), abs=1e-4)


async def test_replay_of_an_extra_metric_adds_a_sensor(
    tmp_path: Path, make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    path = write_trace(tmp_path, [("0", 41.5), ("300", 40.0)])
    dev = await make_device(replay={"soil_moisture": path})
    assert dev.values["soil_moisture"] == 41.5
    client = await make_client(dev)
    entities, _ = await client.list_entities_services()
    assert "soil_moisture" in {e.object_id for e in entities if isinstance(e, SensorInfo)}


@pytest.mark.parametrize("count", [6, 7, 9])
def test_demo_fleet_mix(count: int) -> None:
    fleet = Fleet.demo(base_port=0, devices=count)
    scenarios = [dev.scenario for dev in fleet]
    assert len(fleet) == count
    assert {"memory_leak", "overheating", "wifi_degradation", "crash_loop", "replay"} <= set(
        scenarios
    )
    assert scenarios.count("healthy") == count - 5
    assert len({dev.name for dev in fleet}) == count
    assert len({dev.mac for dev in fleet}) == count
    assert fleet.device("esp-replay").scenario == "replay"


async def test_demo_fleet_serves_encrypted(make_client: ClientFactory) -> None:
    fleet = Fleet.demo(base_port=0, encrypt=True, push_interval=None)
    async with fleet:
        ports = {dev.port for dev in fleet}
        assert len(ports) == len(fleet)
        assert 0 not in ports
        replay = fleet.device("esp-replay")
        client = await make_client(replay, noise_psk=replay.noise_psk)
        assert (await client.device_info()).name == "esp-replay"
    assert not any(dev.is_online for dev in fleet)
