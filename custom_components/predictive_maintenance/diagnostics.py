"""Diagnostics of a monitored device (the encryption key is redacted)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_NOISE_PSK
from .coordinator import PredictiveMaintenanceConfigEntry

TO_REDACT = {CONF_NOISE_PSK}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PredictiveMaintenanceConfigEntry
) -> dict[str, Any]:
    """Return what the integration knows about the device, minus secrets."""
    coordinator = entry.runtime_data
    snapshot = coordinator.data
    analytics = coordinator.analytics
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
    }
