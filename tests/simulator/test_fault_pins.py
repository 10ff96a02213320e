"""Pinned readings: a pin that survives reboots (incurable fault) and one a reboot clears."""

from __future__ import annotations

from simulator import DeviceConfig, SimulatedDevice


async def test_until_reboot_pin_is_cleared_by_a_restart() -> None:
    device = SimulatedDevice(
        DeviceConfig(port=0, push_interval=None, time_scale=0.0, reboot_delay=0.05)
    )
    await device.start()
    try:
        device.set_value("heap_free", 15_000.0, until_reboot=True)
        device.set_value("wifi_signal", -85.0)
        assert device.values["heap_free"] == 15_000.0
        await device.restart(wait=True)
        assert device.values["heap_free"] != 15_000.0
        assert device.values["wifi_signal"] == -85.0
        device.set_value("wifi_signal", None)
        assert device.values["wifi_signal"] != -85.0
    finally:
        await device.stop()
