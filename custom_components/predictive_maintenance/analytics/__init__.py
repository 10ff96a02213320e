"""Analytics engine: anomaly detection, failure prediction and health (pure Python + numpy).

Nothing here imports Home Assistant, and imports inside the package are relative, so it
can be used as ``custom_components.predictive_maintenance.analytics`` or, with
``custom_components/predictive_maintenance`` on sys.path, as ``analytics``.
"""

from __future__ import annotations

from .config import DetectorConfig
from .detector import StreamDetector
from .device import STATE_VERSION, DeviceAnalytics
from .errors import InvalidSampleError
from .facade import AnomalyDetector
from .models import AnomalyEvent, HealthReport, RiskLevel, Severity

__all__ = [
    "STATE_VERSION",
    "AnomalyDetector",
    "AnomalyEvent",
    "DetectorConfig",
    "DeviceAnalytics",
    "HealthReport",
    "InvalidSampleError",
    "RiskLevel",
    "Severity",
    "StreamDetector",
]
