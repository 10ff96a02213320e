"""Diagnostics of a monitored device (the encryption key is redacted)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_NOISE_PSK, CONF_OTA_PASSWORD
from .coordinator import PredictiveMaintenanceConfigEntry
from .firmware_ha import DATA_FIRMWARE
from .self_healing import healing_runtime

TO_REDACT = {CONF_NOISE_PSK, CONF_OTA_PASSWORD}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PredictiveMaintenanceConfigEntry
) -> dict[str, Any]:
    """Return what the integration knows about the device, minus secrets."""
    coordinator = entry.runtime_data
    snapshot = coordinator.data
    analytics = coordinator.analytics
    healer = healing_runtime(hass).healers.get(entry.entry_id)
    firmware = hass.data.get(DATA_FIRMWARE)
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "device": None if snapshot.details is None else asdict(snapshot.details),
        "snapshot": {
            "online": snapshot.online,
            "not_reporting": snapshot.not_reporting,
            "expected_interval_s": snapshot.expected_interval,
            "last_sample_at": None
            if snapshot.last_sample_at is None
            else snapshot.last_sample_at.isoformat(),
            "connect_failure": snapshot.connect_failure,
            "wrong_device": snapshot.wrong_device,
            "metrics": dict(snapshot.metrics),
            "metric_units": dict(snapshot.metric_units),
            "reset_reason": snapshot.reset_reason,
            "report": asdict(snapshot.report),
        },
        "link": coordinator.diagnostics(),
        "analytics": {
            "samples": {metric: d.samples for metric, d in analytics.detectors.items()},
            "reboots": analytics.reboots.to_dict(),
            "anomalies_kept": len(analytics.anomalies),
            "risk": analytics.risk.to_dict(),
        },
        "self_healing": None if healer is None else healer.diagnostics(),
        "firmware": None if firmware is None else firmware.diagnostics(coordinator.mac),
    }
