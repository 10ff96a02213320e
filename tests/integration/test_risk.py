"""Risk follows the device: a leaking device rises above low, a healthy one stays low."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from simulator import SimulatedDevice, make_scenario

from .conftest import EntryFactory, SimDeviceFactory
from .helpers import push_and_wait, state, state_value, wait_for

HEALTHY_MAC = "02:00:00:00:03:01"
LEAK_MAC = "02:00:00:00:03:02"
SEED = 3


async def _run(
    device: SimulatedDevice, coordinator: DeviceCoordinator, steps: int, dt: float
) -> None:
    """Let simulated time pass in steps, pushing states and waiting until each one arrived."""
    for _ in range(steps):
        device.advance(dt)
        await push_and_wait(device, coordinator)


async def test_memory_leak_raises_risk_healthy_stays_low(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Both devices learn for a while; then the leak's heap heads for exhaustion."""
    healthy = await sim_device(name="esp-ok", mac=HEALTHY_MAC, seed=SEED)
    leak = await sim_device(name="esp-leak", mac=LEAK_MAC, scenario="memory_leak", seed=SEED)
    healthy_coordinator: DeviceCoordinator = (await setup_entry(healthy)).runtime_data
    leak_coordinator: DeviceCoordinator = (await setup_entry(leak)).runtime_data

    crash = make_scenario("memory_leak", SEED).crash(0)
    assert crash is not None
    steps = 80
    # Stop short of the crash: the risk has to rise before the device fails.
    dt = 0.97 * crash.uptime / steps
    await _run(healthy, healthy_coordinator, steps, dt)
    await _run(leak, leak_coordinator, steps, dt)
    assert leak.reboots == []

    await wait_for(
        lambda: state_value(hass, LEAK_MAC, "risk_level") in ("medium", "high", "critical"),
        what="leak risk above low",
    )
    assert state_value(hass, HEALTHY_MAC, "risk_level") == "low"
    assert float(state_value(hass, LEAK_MAC, "failure_probability") or 0) >= 30
    assert float(state_value(hass, LEAK_MAC, "health_score") or 100) < float(
        state_value(hass, HEALTHY_MAC, "health_score") or 0
    )
    risk = state(hass, LEAK_MAC, "risk_level")
    assert risk is not None
    assert risk.attributes["recommendations"]
    assert any(metric.startswith("heap") for metric in risk.attributes["metrics_affected"])
