"""Shared set-up of the firmware tests: a catalogue in HA's config dir, fast timing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.predictive_maintenance.const import CONF_OTA_PASSWORD, CONF_OTA_PORT, DOMAIN
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.firmware_ha import (
    DATA_FIRMWARE,
    FirmwareManager,
    FirmwareTiming,
)
from simulator import SimulatedDevice, write_demo_catalogue

from .helpers import wait_for

IMAGE_SIZE = 64 * 1024
# Scaled: the simulator's clock is frozen (tests advance it), so the watch window only
# has to outlast what a test does while it runs.
FAST_TIMING = FirmwareTiming(
    boot_good_delay=0.6,
    margin=0.4,
    down_timeout=15.0,
    back_timeout=30.0,
    ota_retry_pause=0.05,
)


@pytest.fixture
def firmware_config_dir(hass: HomeAssistant, tmp_path: Path) -> None:
    """Keep each test's catalogue and backups in its own folder (not the shared test config)."""
    hass.config.config_dir = str(tmp_path)


def catalogue_folder(hass: HomeAssistant) -> Path:
    """Return `<config>/predictive_maintenance/firmware`."""
    return Path(hass.config.path(DOMAIN, "firmware"))


def write_catalogue(hass: HomeAssistant, **kwargs: Any) -> None:
    """Write the demo catalogue (1.0.0 current, 1.0.1 security, 1.1.0 bad) for the tests."""
    write_demo_catalogue(catalogue_folder(hass), size=IMAGE_SIZE, **kwargs)


def ota_options(device: SimulatedDevice, password: str | None = None) -> dict[str, Any]:
    """Entry options pointing at the device's OTA port."""
    options: dict[str, Any] = {CONF_OTA_PORT: device.ota_port}
    if password is not None:
        options[CONF_OTA_PASSWORD] = password
    return options


async def ready_manager(
    hass: HomeAssistant, timing: FirmwareTiming = FAST_TIMING
) -> FirmwareManager:
    """Return the manager with the catalogue re-read and test timing."""
    manager = hass.data[DATA_FIRMWARE]
    manager.timing = timing
    await manager.async_reload()
    return manager


async def wait_online(coordinator: DeviceCoordinator, version: str | None = None) -> None:
    """Wait until the coordinator is online (and reports `version`)."""

    def ready() -> bool:
        data = coordinator.data
        if not data.online or data.details is None:
            return False
        return version is None or data.details.project_version == version

    await wait_for(ready, what=f"device online on {version}")
