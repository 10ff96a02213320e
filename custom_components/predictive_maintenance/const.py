"""Constants for the Predictive Maintenance integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "predictive_maintenance"

CONF_NOISE_PSK: Final = "noise_psk"
# The device's ESPHome `name` (its mDNS host name); the entry title is the friendly name.
CONF_DEVICE_NAME: Final = "device_name"
# Set by the "stop monitoring" repair (C06): the entry stays, nothing connects.
CONF_MONITORING_PAUSED: Final = "monitoring_paused"

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

# Self-healing options (options flow) and the bus event of every recovery.
CONF_AUTO_RECOVER: Final = "auto_recover"
CONF_AUTO_RECOVER_RISK: Final = "auto_recover_risk"
CONF_COOLDOWN_MINUTES: Final = "cooldown_minutes"
CONF_MAX_ATTEMPTS_PER_DAY: Final = "max_attempts_per_day"
CONF_THERMAL_LOAD_SWITCH: Final = "thermal_load_switch"
DEFAULT_AUTO_RECOVER_RISK: Final = "high"
DEFAULT_COOLDOWN_MINUTES: Final = 30
DEFAULT_MAX_ATTEMPTS_PER_DAY: Final = 3
EVENT_RECOVERY: Final = "predictive_maintenance_recovery"

# Firmware patching: per-device OTA endpoint (ESPHome does not report it over the API).
CONF_OTA_PORT: Final = "ota_port"
CONF_OTA_PASSWORD: Final = "ota_password"
DEFAULT_OTA_PORT: Final = 3232
EVENT_FIRMWARE: Final = "predictive_maintenance_firmware"
EVENT_ROLLOUT: Final = "predictive_maintenance_rollout"
