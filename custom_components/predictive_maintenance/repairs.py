"""Fix flows of the repair issues in issues.py: new key, new address, replaced board, resume."""

from __future__ import annotations

import logging
from typing import Any, Final

import voluptuous as vol
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.device_registry import format_mac
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType

from .const import CONF_DEVICE_NAME, CONF_MONITORING_PAUSED, CONF_NOISE_PSK, DOMAIN
from .device.probe import (
    CannotConnectError,
    DeviceIdentity,
    DeviceNotEncryptedError,
    InvalidKeyError,
    PasswordNotSupportedError,
    RequiresKeyError,
    async_probe_device,
    normalize_noise_psk,
)
from .issues import DATA_ENTRY_ID, DATA_KIND, DATA_MAC, RepairIssue
from .replacement import async_follow_new_board

_LOGGER = logging.getLogger(__name__)

KEY_SELECTOR: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
# Empty means "the device no longer uses encryption": a plaintext device is only accepted
# on the user's explicit word, as in the config flow.
OPTIONAL_KEY_SCHEMA: Final = vol.Schema({vol.Optional(CONF_NOISE_PSK): KEY_SELECTOR})
REQUIRED_KEY_SCHEMA: Final = vol.Schema({vol.Required(CONF_NOISE_PSK): KEY_SELECTOR})
ADDRESS_SCHEMA: Final = vol.Schema({vol.Required(CONF_HOST): str, vol.Required(CONF_PORT): cv.port})
REPLACED_MENU: Final = ["follow", "stop"]

# Most specific first: DeviceNotEncryptedError is an InvalidKeyError.
PROBE_ERRORS: Final[tuple[tuple[type[Exception], str], ...]] = (
    (DeviceNotEncryptedError, "device_not_encrypted"),
    (InvalidKeyError, "invalid_key"),
    (RequiresKeyError, "requires_key"),
    (PasswordNotSupportedError, "password_not_supported"),
    (CannotConnectError, "cannot_connect"),
)


async def async_create_fix_flow(
    hass: HomeAssistant,
    issue_id: str,
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """Return the fix flow of one of our issues."""
    data = data or {}
    entry_id = str(data.get(DATA_ENTRY_ID, ""))
    kind = RepairIssue(str(data.get(DATA_KIND, RepairIssue.INVALID_KEY)))
    flow_type = _FLOWS.get(kind, KeyRepairFlow)
    mac = data.get(DATA_MAC)
    return flow_type(entry_id, kind, None if mac is None else str(mac))


class _EntryRepairFlow(RepairsFlow):
    """A fix flow for one config entry; ends by aborting if the entry is gone."""

    first_step: str

    def __init__(self, entry_id: str, kind: RepairIssue, mac: str | None) -> None:
        self._entry_id = entry_id
        self._kind = kind
        self._mac = mac

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Go to the first real step; init only receives the issue id, never user input."""
        step = getattr(self, f"async_step_{self.first_step}")
        result: FlowResult = await step()
        return result

    def _entry(self) -> ConfigEntry | None:
        return self.hass.config_entries.async_get_entry(self._entry_id)

    def _placeholders(self, entry: ConfigEntry) -> dict[str, str]:
        return {
            "name": entry.title,
            "host": str(entry.data.get(CONF_HOST, "")),
            "port": str(entry.data.get(CONF_PORT, "")),
        }

    async def _probe(
        self, entry: ConfigEntry, host: str, port: int, noise_psk: str | None
    ) -> tuple[DeviceIdentity | None, str | None]:
        """Return the identity of the monitored device at host:port, or a form error key."""
        try:
            identity = await async_probe_device(host, port, noise_psk)
        except Exception as err:
            for error_type, error_key in PROBE_ERRORS:
                if isinstance(err, error_type):
                    return None, error_key
            _LOGGER.exception("Unexpected error while connecting to %s:%s", host, port)
            return None, "unknown"
        if entry.unique_id is not None and format_mac(identity.mac) != format_mac(entry.unique_id):
            return None, "wrong_device"
        return identity, None

    def _save_and_reload(self, entry: ConfigEntry, updates: dict[str, Any]) -> FlowResult:
        self.hass.config_entries.async_update_entry(entry, data={**entry.data, **updates})
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_create_entry(data={})


class KeyRepairFlow(_EntryRepairFlow):
    """Ask for the device's current key (or none), test it on the device, save, reload."""

    first_step = "key"

    async def async_step_key(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Show the key form and check what was entered."""
        entry = self._entry()
        if entry is None:
            return self.async_abort(reason="entry_removed")
        errors: dict[str, str] = {}
        if user_input is not None:
            noise_psk = normalize_noise_psk(user_input.get(CONF_NOISE_PSK))
            identity, error = await self._probe(
                entry, entry.data[CONF_HOST], entry.data[CONF_PORT], noise_psk
            )
            if identity is not None:
                return self._save_and_reload(
                    entry, {CONF_NOISE_PSK: noise_psk or "", CONF_DEVICE_NAME: identity.name}
                )
            errors["base"] = error or "unknown"
        schema = (
            REQUIRED_KEY_SCHEMA if self._kind is RepairIssue.NOT_ENCRYPTED else OPTIONAL_KEY_SCHEMA
        )
        return self.async_show_form(
            step_id="key",
            data_schema=schema,
            description_placeholders=self._placeholders(entry),
            errors=errors,
        )


class AddressRepairFlow(_EntryRepairFlow):
    """Ask for a new host and port; saved only if the same device answers there."""

    first_step = "address"

    async def async_step_address(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Show the address form and check the device at the new address."""
        entry = self._entry()
        if entry is None:
            return self.async_abort(reason="entry_removed")
        errors: dict[str, str] = {}
        if user_input is not None:
            host = user_input[CONF_HOST].strip()
            port = user_input[CONF_PORT]
            noise_psk = normalize_noise_psk(entry.data.get(CONF_NOISE_PSK))
            identity, error = await self._probe(entry, host, port, noise_psk)
            if identity is not None:
                return self._save_and_reload(
                    entry, {CONF_HOST: host, CONF_PORT: port, CONF_DEVICE_NAME: identity.name}
                )
            errors["base"] = error or "unknown"
        suggested = user_input or {
            CONF_HOST: entry.data.get(CONF_HOST),
            CONF_PORT: entry.data.get(CONF_PORT),
        }
        return self.async_show_form(
            step_id="address",
            data_schema=self.add_suggested_values_to_schema(ADDRESS_SCHEMA, suggested),
            description_placeholders=self._placeholders(entry),
            errors=errors,
        )


class ReplacedDeviceRepairFlow(_EntryRepairFlow):
    """Another board answers at the address (C06): follow it, or stop monitoring."""

    first_step = "replaced"

    async def async_step_replaced(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Offer the two choices."""
        entry = self._entry()
        if entry is None:
            return self.async_abort(reason="entry_removed")
        return self.async_show_menu(
            step_id="replaced",
            menu_options=REPLACED_MENU,
            description_placeholders={
                **self._placeholders(entry),
                "new_mac": self._new_mac(entry) or "",
            },
        )

    async def async_step_follow(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Monitor the new board as this device: same entities and history, new MAC."""
        entry = self._entry()
        if entry is None:
            return self.async_abort(reason="entry_removed")
        new_mac = self._new_mac(entry)
        if new_mac is None:
            return self.async_abort(reason="not_replaced")
        for other in self.hass.config_entries.async_entries(DOMAIN):
            if other.unique_id and format_mac(other.unique_id) == new_mac:
                return self.async_abort(
                    reason="already_monitored", description_placeholders={"other": other.title}
                )
        await async_follow_new_board(self.hass, entry, new_mac)
        return self.async_create_entry(data={})

    async def async_step_stop(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Pause monitoring; the entry and what was learned stay."""
        entry = self._entry()
        if entry is None:
            return self.async_abort(reason="entry_removed")
        return self._save_and_reload(entry, {CONF_MONITORING_PAUSED: True})

    def _new_mac(self, entry: ConfigEntry) -> str | None:
        # The board answering now wins over the one the issue was raised for.
        if entry.state is ConfigEntryState.LOADED and entry.runtime_data.wrong_mac is not None:
            return str(entry.runtime_data.wrong_mac)
        return None if self._mac is None else format_mac(self._mac)


class ResumeRepairFlow(_EntryRepairFlow):
    """Resume a paused device; a board that is still the wrong one raises its issue again."""

    first_step = "confirm"

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Confirm, then reconnect."""
        entry = self._entry()
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            return self._save_and_reload(entry, {CONF_MONITORING_PAUSED: False})
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders=self._placeholders(entry),
        )


_FLOWS: Final[dict[RepairIssue, type[_EntryRepairFlow]]] = {
    RepairIssue.INVALID_KEY: KeyRepairFlow,
    RepairIssue.ENCRYPTION_REMOVED: KeyRepairFlow,
    RepairIssue.NOT_ENCRYPTED: KeyRepairFlow,
    RepairIssue.UNREACHABLE: AddressRepairFlow,
    RepairIssue.WRONG_DEVICE: ReplacedDeviceRepairFlow,
    RepairIssue.MONITORING_PAUSED: ResumeRepairFlow,
}
