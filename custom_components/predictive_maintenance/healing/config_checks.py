"""Configuration checks behind repair_config: what is fine, what we can fix, what needs the user."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from custom_components.predictive_maintenance.analytics.limits import LIMITS

from .facts import DeviceFacts
from .rules import HEALTH_METRICS, RECONNECTS_PER_HOUR


class ConfigType(StrEnum):
    """What repair_config can look at."""

    NETWORK = "network"
    API = "api"
    SENSORS = "sensors"
    OTA = "ota"


class RepairStatus(StrEnum):
    """State of one repair item."""

    OK = "ok"
    FIXED = "fixed"
    FAILED = "failed"
    NEEDS_USER = "needs_user"
    UNAVAILABLE = "unavailable"


class Fix(StrEnum):
    """Fixes the integration can apply itself."""

    RECONNECT = "reconnect"
    REAUTH = "reauth"


@dataclass(frozen=True, slots=True)
class RepairItem:
    """One checked item; `fix` is set when the integration can try to repair it."""

    item: str
    action: str
    status: RepairStatus
    fix: Fix | None = None

    def resolved(self, status: RepairStatus, action: str) -> RepairItem:
        """Return the item after its fix ran."""
        return replace(self, status=status, action=action, fix=None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"item": self.item, "action": self.action, "status": str(self.status)}


def check_network(facts: DeviceFacts, host: str, port: int) -> list[RepairItem]:
    """Reachability, reconnect rate and signal."""
    items: list[RepairItem] = []
    if facts.connected:
        items.append(RepairItem("reachable", f"connected to {host}:{port}", RepairStatus.OK))
    else:
        items.append(
            RepairItem(
                "reachable",
                f"not reachable at {host}:{port}: check power and Wi-Fi, or change the "
                "address with Reconfigure",
                RepairStatus.NEEDS_USER,
            )
        )
    drops = facts.unexpected_disconnects_1h
    if drops >= RECONNECTS_PER_HOUR and facts.connected:
        items.append(
            RepairItem(
                "reconnect_rate",
                f"{drops} drops in the last hour: reconnecting the API session",
                RepairStatus.FAILED,
                Fix.RECONNECT,
            )
        )
    else:
        items.append(
            RepairItem("reconnect_rate", f"{drops} drops in the last hour", RepairStatus.OK)
        )
    signal = facts.metrics.get("wifi_signal")
    limit = LIMITS["wifi_signal"]
    if signal is None:
        items.append(
            RepairItem(
                "signal",
                "no Wi-Fi signal sensor: add `sensor: - platform: wifi_signal`",
                RepairStatus.NEEDS_USER,
            )
        )
    elif limit.state(signal.value):
        items.append(
            RepairItem(
                "signal",
                f"{signal.value:g} dBm is weak (warning at {limit.warning:g} dBm): move the "
                "device or the access point, or add an antenna",
                RepairStatus.NEEDS_USER,
            )
        )
    else:
        items.append(RepairItem("signal", f"{signal.value:g} dBm", RepairStatus.OK))
    return items


def check_api(facts: DeviceFacts) -> list[RepairItem]:
    """Encryption on, and the stored key accepted."""
    items: list[RepairItem] = []
    if facts.encrypted:
        items.append(RepairItem("encryption", "the API is encrypted", RepairStatus.OK))
    else:
        items.append(
            RepairItem(
                "encryption",
                "the API is not encrypted: add `api: encryption: key:` to the device's YAML, "
                "install it, then enter the key with Reconfigure or when asked",
                RepairStatus.NEEDS_USER,
            )
        )
    if facts.key_problem:
        items.append(
            RepairItem(
                "key",
                f"the device rejects the stored settings ({facts.connect_failure})",
                RepairStatus.FAILED,
                Fix.REAUTH,
            )
        )
    elif facts.connected and not facts.encrypted:
        items.append(RepairItem("key", "no key is used (plaintext API)", RepairStatus.OK))
    elif facts.connected:
        items.append(RepairItem("key", "the device accepts the stored key", RepairStatus.OK))
    else:
        items.append(
            RepairItem(
                "key", "cannot check the key while the device is offline", RepairStatus.UNAVAILABLE
            )
        )
    return items


def check_sensors(facts: DeviceFacts) -> list[RepairItem]:
    """Which health metrics the device exposes, and the YAML for the missing ones."""
    if not facts.metrics_known:
        return [
            RepairItem(
                "metrics",
                "the device has not been connected yet, its sensors are unknown",
                RepairStatus.UNAVAILABLE,
            )
        ]
    items: list[RepairItem] = []
    for metric, component in HEALTH_METRICS.items():
        if metric in facts.bound_metrics:
            items.append(RepairItem(metric, "reported", RepairStatus.OK))
        else:
            items.append(RepairItem(metric, f"missing: add `{component}`", RepairStatus.NEEDS_USER))
    return items


def check_ota(
    ota_reachable: bool | None, host: str, port: int, *, password_set: bool
) -> list[RepairItem]:
    """Whether the OTA port answers and an OTA password is stored (never its value)."""
    if ota_reachable is None:
        port_item = RepairItem("ota_port", "not checked", RepairStatus.UNAVAILABLE)
    elif ota_reachable:
        port_item = RepairItem("ota_port", f"{host}:{port} accepts connections", RepairStatus.OK)
    else:
        port_item = RepairItem(
            "ota_port",
            f"{host}:{port} does not accept connections: add `ota: - platform: esphome` "
            "to the device's YAML, or set the OTA port in the options",
            RepairStatus.NEEDS_USER,
        )
    if password_set:
        password_item = RepairItem("ota_password", "an OTA password is stored", RepairStatus.OK)
    else:
        password_item = RepairItem(
            "ota_password",
            "no OTA password is stored: if the YAML sets `ota: password:`, enter it in the options",
            RepairStatus.NEEDS_USER,
        )
    return [port_item, password_item]
