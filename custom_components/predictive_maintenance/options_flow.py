"""Options: the automatic recovery policy (off by default), the thermal load switch, OTA."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .const import (
    CONF_AUTO_RECOVER,
    CONF_AUTO_RECOVER_RISK,
    CONF_COOLDOWN_MINUTES,
    CONF_MAX_ATTEMPTS_PER_DAY,
    CONF_THERMAL_LOAD_SWITCH,
    DEFAULT_AUTO_RECOVER_RISK,
    DEFAULT_COOLDOWN_MINUTES,
    DEFAULT_MAX_ATTEMPTS_PER_DAY,
)
from .firmware_ha.options import FIRMWARE_OPTIONS, merge_firmware_options, without_secrets

RISK_OPTIONS = ["medium", "high", "critical"]

OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_AUTO_RECOVER, default=False): BooleanSelector(),
        vol.Required(CONF_AUTO_RECOVER_RISK, default=DEFAULT_AUTO_RECOVER_RISK): SelectSelector(
            SelectSelectorConfig(
                options=RISK_OPTIONS,
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_AUTO_RECOVER_RISK,
            )
        ),
        vol.Required(CONF_COOLDOWN_MINUTES, default=DEFAULT_COOLDOWN_MINUTES): vol.All(
            NumberSelector(
                NumberSelectorConfig(
                    min=1, max=1440, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="min"
                )
            ),
            vol.Coerce(int),
        ),
        vol.Required(CONF_MAX_ATTEMPTS_PER_DAY, default=DEFAULT_MAX_ATTEMPTS_PER_DAY): vol.All(
            NumberSelector(
                NumberSelectorConfig(min=1, max=24, step=1, mode=NumberSelectorMode.BOX)
            ),
            vol.Coerce(int),
        ),
        vol.Optional(CONF_THERMAL_LOAD_SWITCH): EntitySelector(
            EntitySelectorConfig(domain="switch")
        ),
    }
)


class PredictiveMaintenanceOptionsFlow(OptionsFlow):
    """Edit the self-healing options of one device; they apply without a reload."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and store the options."""
        if user_input is not None:
            options = merge_firmware_options(self.config_entry.options, user_input)
            return self.async_create_entry(data=options)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA.extend(FIRMWARE_OPTIONS), without_secrets(self.config_entry.options)
            ),
        )
