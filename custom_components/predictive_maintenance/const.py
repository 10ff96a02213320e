"""Constants for the Predictive Maintenance integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "predictive_maintenance"

CONF_NOISE_PSK: Final = "noise_psk"

DEFAULT_PORT: Final = 6053
DEFAULT_WARMUP_SAMPLES: Final = 50
DEFAULT_Z_THRESHOLD: Final = 3.0

ESPHOME_DOMAIN: Final = "esphome"
