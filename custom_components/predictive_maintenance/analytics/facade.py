"""Seed-compatible facade: one DeviceAnalytics per device id."""

from __future__ import annotations

from typing import Any

from .device import DeviceAnalytics
from .models import AnomalyEvent

FACADE_VERSION = 1


class AnomalyDetector:
    """The issue-3 interface over a dictionary of DeviceAnalytics."""

    def __init__(self, warmup_samples: int = 50, z_threshold: float = 3.0) -> None:
        self.warmup_samples = warmup_samples
        self.z_threshold = z_threshold
        self.devices: dict[str, DeviceAnalytics] = {}

    def device(self, device_id: str) -> DeviceAnalytics:
        """The analytics of ``device_id``, created on first use."""
        dev = self.devices.get(device_id)
        if dev is None:
            dev = self.devices[device_id] = DeviceAnalytics(
                device_id, self.warmup_samples, self.z_threshold
            )
        return dev

    def update_baseline(
        self, device_id: str, metric_name: str, value: object, timestamp: float | None = None
    ) -> None:
        """Learn a sample without asking for a verdict."""
        self.device(device_id).add_sample(metric_name, value, timestamp)

    def detect_anomaly(
        self, device_id: str, metric_name: str, value: object, timestamp: float | None = None
    ) -> AnomalyEvent | None:
        """Score and learn a sample; the event (first sample of an excursion) or None.

        Do not call update_baseline as well for the same sample: this one learns it too.
        """
        return self.device(device_id).add_sample(metric_name, value, timestamp)

    def predict_failure(
        self, device_id: str, lookback_hours: float = 24.0, now: float | None = None
    ) -> dict[str, Any]:
        """Risk, probability and time to failure of a device, as a plain dict.

        A device never seen gets a neutral answer (and is not created).
        """
        known = self.devices.get(device_id)
        rep = (known or DeviceAnalytics(device_id)).report(now, lookback_hours=lookback_hours)
        return {
            "device_id": device_id,
            "risk_level": str(rep.risk_level),
            "failure_probability": rep.failure_probability,
            "time_to_failure_hours": rep.time_to_failure_hours,
            "confidence": rep.confidence,
            "recommendations": list(rep.recommendations),
            "anomaly_count": rep.anomaly_count,
            "metrics_affected": list(rep.metrics_affected),
            "most_affected_metric": rep.most_affected_metric,
            "health_score": rep.health_score,
        }

    def get_device_health_score(self, device_id: str, now: float | None = None) -> float:
        """Health 0-100 of a device (100 for one never seen)."""
        if device_id not in self.devices:
            return 100.0
        return self.devices[device_id].report(now).health_score

    def to_dict(self) -> dict[str, Any]:
        """Versioned JSON-safe state of all devices."""
        return {
            "version": FACADE_VERSION,
            "warmup_samples": self.warmup_samples,
            "z_threshold": self.z_threshold,
            "devices": {k: v.to_dict() for k, v in self.devices.items()},
        }

    @classmethod
    def from_dict(cls, data: object) -> AnomalyDetector:
        """Inverse of to_dict; ValueError on an unknown version or a corrupt state."""
        if not isinstance(data, dict) or data.get("version") != FACADE_VERSION:
            raise ValueError("unsupported or corrupt anomaly detector state")
        try:
            obj = cls(int(data["warmup_samples"]), float(data["z_threshold"]))
            obj.devices = {str(k): DeviceAnalytics.from_dict(v) for k, v in data["devices"].items()}
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"corrupt anomaly detector state: {err!r}") from err
        return obj
