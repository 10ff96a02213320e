"""OTA port and password in the options flow; the password is never shown back."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.predictive_maintenance.const import CONF_OTA_PASSWORD, CONF_OTA_PORT, DOMAIN

POLICY = {
    "auto_recover": False,
    "auto_recover_risk": "high",
    "cooldown_minutes": 30,
    "max_attempts_per_day": 3,
}


async def _submit(hass: HomeAssistant, entry: MockConfigEntry, **data: object) -> None:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"]
    assert schema is not None
    for key in schema.schema:
        suggested = (key.description or {}).get("suggested_value")
        assert suggested != "s3cret", "the password went back to the form"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**POLICY, **data}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_ota_options(hass: HomeAssistant) -> None:
    """Set port and password; a blank password keeps it; clearing removes it."""
    entry = MockConfigEntry(domain=DOMAIN, data={"host": "127.0.0.1", "port": 1})
    entry.add_to_hass(hass)
    await _submit(hass, entry, ota_port=17053, ota_password="s3cret")
    assert entry.options[CONF_OTA_PORT] == 17053
    assert entry.options[CONF_OTA_PASSWORD] == "s3cret"
    await _submit(hass, entry, ota_port=17054)
    assert entry.options[CONF_OTA_PORT] == 17054
    assert entry.options[CONF_OTA_PASSWORD] == "s3cret"
    await _submit(hass, entry, ota_port=17054, ota_password_clear=True)
    assert CONF_OTA_PASSWORD not in entry.options
    # Another feature's submission without the OTA fields keeps them.
    await _submit(hass, entry, ota_password="again")
    await _submit(hass, entry)
    assert entry.options[CONF_OTA_PORT] == 17054
    assert entry.options[CONF_OTA_PASSWORD] == "again"
