"""repair_config: run the configuration checks of one kind and apply the fixes we can."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from homeassistant.const import CONF_HOST, CONF_PORT

from .const import CONF_OTA_PASSWORD, CONF_OTA_PORT, DEFAULT_OTA_PORT
from .device.link import ConnectFailure
from .healer import DeviceHealer
from .healing.config_checks import (
    ConfigType,
    Fix,
    RepairItem,
    RepairStatus,
    check_api,
    check_network,
    check_ota,
    check_sensors,
)
from .recovery import ActionStatus, RecoveryExecutor

PORT_CHECK_TIMEOUT: Final = 5.0


async def port_open(host: str, port: int, timeout: float = PORT_CHECK_TIMEOUT) -> bool:  # noqa: ASYNC109
    """Return whether a TCP connection to host:port succeeds."""
    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def async_repair_config(healer: DeviceHealer, config_type: ConfigType) -> list[RepairItem]:
    """Check one kind of configuration, fix what can be fixed, return every item."""
    facts = healer.facts()
    host: str = healer.entry.data[CONF_HOST]
    port: int = healer.entry.data[CONF_PORT]
    match config_type:
        case ConfigType.NETWORK:
            items = check_network(facts, host, port)
        case ConfigType.API:
            items = check_api(facts)
        case ConfigType.SENSORS:
            items = check_sensors(facts)
        case ConfigType.OTA:
            options = healer.entry.options
            ota_port = int(options.get(CONF_OTA_PORT, DEFAULT_OTA_PORT))
            items = check_ota(
                await port_open(host, ota_port),
                host,
                ota_port,
                password_set=bool(options.get(CONF_OTA_PASSWORD)),
            )
    return [await _apply(healer, item) for item in items]


async def _apply(healer: DeviceHealer, item: RepairItem) -> RepairItem:
    match item.fix:
        case None:
            return item
        case Fix.RECONNECT:
            executor = RecoveryExecutor(healer.hass, healer.coordinator, None)
            action = await executor.async_reconnect()
            if action.status is ActionStatus.SUCCEEDED:
                return item.resolved(RepairStatus.FIXED, f"{item.action}: {action.details}")
            return item.resolved(RepairStatus.FAILED, f"{item.action}: {action.details}")
        case Fix.REAUTH:
            coordinator = healer.coordinator
            coordinator.raise_key_issue(
                coordinator.data.connect_failure or ConnectFailure.INVALID_KEY
            )
            return item.resolved(
                RepairStatus.NEEDS_USER,
                f"{item.action}: enter the new key in its repair (Settings → System → Repairs)",
            )
