"""Per-device OTA options: the port (ESPHome does not report it) and the password.

The password is never shown back in the form: a blank field keeps the stored one, and
a form without a port keeps the stored port (3232, ESPHome's default, when none is set).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import voluptuous as vol
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from custom_components.predictive_maintenance.const import (
    CONF_OTA_PASSWORD,
    CONF_OTA_PORT,
)

CONF_OTA_PASSWORD_CLEAR: Final = "ota_password_clear"

FIRMWARE_OPTIONS: Final[dict[vol.Marker, Any]] = {
    # Optional, so a submission without it (another feature's) keeps the stored port.
    vol.Optional(CONF_OTA_PORT): vol.All(
        NumberSelector(NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)),
        vol.Coerce(int),
    ),
    vol.Optional(CONF_OTA_PASSWORD): TextSelector(
        TextSelectorConfig(type=TextSelectorType.PASSWORD)
    ),
    vol.Optional(CONF_OTA_PASSWORD_CLEAR, default=False): BooleanSelector(),
}


def without_secrets(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return the options to pre-fill a form with: never the password."""
    return {key: value for key, value in options.items() if key != CONF_OTA_PASSWORD}


def merge_firmware_options(old: Mapping[str, Any], user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return the options to store: a blank password keeps the old one unless cleared."""
    merged = dict(user_input)
    if CONF_OTA_PORT not in merged and CONF_OTA_PORT in old:
        merged[CONF_OTA_PORT] = old[CONF_OTA_PORT]
    clear = bool(merged.pop(CONF_OTA_PASSWORD_CLEAR, False))
    password = str(merged.pop(CONF_OTA_PASSWORD, "") or "")
    if clear:
        return merged
    if password:
        merged[CONF_OTA_PASSWORD] = password
    elif old.get(CONF_OTA_PASSWORD):
        merged[CONF_OTA_PASSWORD] = old[CONF_OTA_PASSWORD]
    return merged
