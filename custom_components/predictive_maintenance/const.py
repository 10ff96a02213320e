"""Constants for the Predictive Maintenance integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "predictive_maintenance"

CONF_NOISE_PSK: Final = "noise_psk"
# The device's ESPHome `name` (its mDNS host name); the entry title is the friendly name.
CONF_DEVICE_NAME: Final = "device_name"

DEFAULT_PORT: Final = 6053
DEFAULT_WARMUP_SAMPLES: Final = 50
DEFAULT_Z_THRESHOLD: Final = 3.0

ESPHOME_DOMAIN: Final = "esphome"
# Keys of the ESPHome integration's own entry data, read when reusing its devices.
ESPHOME_CONF_NOISE_PSK: Final = "noise_psk"

CONF_ESPHOME_ENTRY: Final = "esphome_entry"
ZEROCONF_TXT_MAC: Final = "mac"
ZEROCONF_TXT_FRIENDLY_NAME: Final = "friendly_name"
ZEROCONF_TXT_API_ENCRYPTION: Final = "api_encryption"
