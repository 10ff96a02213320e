"""Config flow for Predictive Maintenance: add, rediscover, re-key and move ESPHome devices."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.device_registry import format_mac
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from .const import (
    CONF_DEVICE_NAME,
    CONF_ESPHOME_ENTRY,
    CONF_NOISE_PSK,
    DEFAULT_PORT,
    DOMAIN,
    ESPHOME_CONF_NOISE_PSK,
    ESPHOME_DOMAIN,
    ZEROCONF_TXT_API_ENCRYPTION,
    ZEROCONF_TXT_FRIENDLY_NAME,
    ZEROCONF_TXT_MAC,
)
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
from .options_flow import PredictiveMaintenanceOptionsFlow

_LOGGER = logging.getLogger(__name__)

KEY_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))

MANUAL_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): str,
        vol.Required(CONF_PORT, default=DEFAULT_PORT): cv.port,
        vol.Optional(CONF_NOISE_PSK): KEY_SELECTOR,
    }
)
ADDRESS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): str,
        vol.Required(CONF_PORT, default=DEFAULT_PORT): cv.port,
    }
)
# Empty is allowed: it is how the user says the device does not (or no longer) use
# encryption, so a plaintext device is only ever accepted on the user's explicit word.
KEY_SCHEMA = vol.Schema({vol.Optional(CONF_NOISE_PSK): KEY_SELECTOR})

# Most specific first: DeviceNotEncryptedError is an InvalidKeyError.
PROBE_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (DeviceNotEncryptedError, "device_not_encrypted"),
    (InvalidKeyError, "invalid_key"),
    (RequiresKeyError, "requires_key"),
    (PasswordNotSupportedError, "password_not_supported"),
    (CannotConnectError, "cannot_connect"),
)

MENU_OPTIONS = ["esphome", "manual"]


def _entry_data(
    identity: DeviceIdentity, host: str, port: int, noise_psk: str | None
) -> dict[str, Any]:
    # The native API treats an empty key as "no encryption"; a string keeps the type stable.
    return {
        CONF_HOST: host,
        CONF_PORT: port,
        CONF_NOISE_PSK: noise_psk or "",
        CONF_DEVICE_NAME: identity.name,
    }


class PredictiveMaintenanceConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up monitoring of one ESPHome device per entry."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Return the self-healing options flow."""
        return PredictiveMaintenanceOptionsFlow()

    def __init__(self) -> None:
        """Start with nothing known about the device."""
        self._host: str | None = None
        self._port: int = DEFAULT_PORT
        self._name: str | None = None
        self._key_expected = False

    async def _async_probe(
        self, host: str, port: int, noise_psk: str | None
    ) -> tuple[DeviceIdentity | None, str | None]:
        """Return the device identity, or the error key to show on the form."""
        try:
            return await async_probe_device(host, port, noise_psk), None
        except Exception as err:
            for error_type, error_key in PROBE_ERRORS:
                if isinstance(err, error_type):
                    return None, error_key
            _LOGGER.exception("Unexpected error while connecting to %s:%s", host, port)
            return None, "unknown"

    async def _async_create_entry(
        self, identity: DeviceIdentity, host: str, port: int, noise_psk: str | None
    ) -> ConfigFlowResult:
        await self.async_set_unique_id(format_mac(identity.mac), raise_on_progress=False)
        self._abort_if_unique_id_configured(updates={CONF_HOST: host, CONF_PORT: port})
        return self.async_create_entry(
            title=identity.title, data=_entry_data(identity, host, port, noise_psk)
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the ESPHome integration's devices when there are any, else ask for an address."""
        if user_input is None and self._esphome_candidates():
            return self.async_show_menu(step_id="user", menu_options=MENU_OPTIONS)
        return await self.async_step_manual(user_input)

    async def async_step_manual(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the device's address and key, and check them on the device."""
        errors: dict[str, str] = {}
        if user_input is not None:
            host = user_input[CONF_HOST].strip()
            port = user_input[CONF_PORT]
            noise_psk = normalize_noise_psk(user_input.get(CONF_NOISE_PSK))
            identity, error = await self._async_probe(host, port, noise_psk)
            if identity is not None:
                return await self._async_create_entry(identity, host, port, noise_psk)
            errors["base"] = error or "unknown"

        # The key is never sent back to the browser; host and port are kept for the retry.
        suggested = {k: v for k, v in (user_input or {}).items() if k != CONF_NOISE_PSK}
        return self.async_show_form(
            step_id="manual",
            data_schema=self.add_suggested_values_to_schema(MANUAL_SCHEMA, suggested),
            errors=errors,
        )

    @callback
    def _esphome_candidates(self) -> dict[str, ConfigEntry]:
        """Return loaded ESPHome entries, by entry id, for devices not monitored yet."""
        monitored = {
            entry.unique_id
            for entry in self._async_current_entries(include_ignore=False)
            if entry.unique_id
        }
        candidates: dict[str, ConfigEntry] = {}
        for entry in self.hass.config_entries.async_entries(
            ESPHOME_DOMAIN, include_ignore=False, include_disabled=False
        ):
            host = entry.data.get(CONF_HOST)
            port = entry.data.get(CONF_PORT)
            # Entries that failed to set up or were unloaded may hold stale data; the probe
            # checks the rest anyway.
            if (
                entry.state is not ConfigEntryState.LOADED
                or not isinstance(host, str)
                or not isinstance(port, int)
                or (entry.unique_id is not None and format_mac(entry.unique_id) in monitored)
            ):
                continue
            candidates[entry.entry_id] = entry
        return candidates

    async def async_step_esphome(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Monitor a device from the ESPHome integration, reusing its address and key."""
        candidates = self._esphome_candidates()
        if not candidates:
            return self.async_abort(reason="no_esphome_devices")

        errors: dict[str, str] = {}
        if user_input is not None:
            source = candidates.get(user_input[CONF_ESPHOME_ENTRY])
            if source is None:
                errors["base"] = "esphome_device_unavailable"
            else:
                host = source.data[CONF_HOST]
                port = source.data[CONF_PORT]
                noise_psk = normalize_noise_psk(source.data.get(ESPHOME_CONF_NOISE_PSK))
                identity, error = await self._async_probe(host, port, noise_psk)
                if identity is not None:
                    return await self._async_create_entry(identity, host, port, noise_psk)
                errors["base"] = error or "unknown"

        options = [
            SelectOptionDict(value=entry_id, label=f"{entry.title} ({entry.data[CONF_HOST]})")
            for entry_id, entry in sorted(
                candidates.items(), key=lambda item: item[1].title.casefold()
            )
        ]
        return self.async_show_form(
            step_id="esphome",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_ESPHOME_ENTRY): SelectSelector(
                        SelectSelectorConfig(options=options)
                    )
                }
            ),
            errors=errors,
        )

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """Handle an ESPHome device announcing itself over mDNS."""
        properties = discovery_info.properties
        self._host = discovery_info.host
        self._port = discovery_info.port or DEFAULT_PORT
        hostname = discovery_info.hostname.removesuffix(".").removesuffix(".local")
        self._name = properties.get(ZEROCONF_TXT_FRIENDLY_NAME) or hostname
        self._key_expected = bool(properties.get(ZEROCONF_TXT_API_ENCRYPTION))

        # Devices running ESPHome older than 2021.10 announce no MAC; the probe finds it later.
        if mac := properties.get(ZEROCONF_TXT_MAC):
            await self.async_set_unique_id(format_mac(mac))
            self._abort_if_unique_id_configured(
                updates={CONF_HOST: self._host, CONF_PORT: self._port}
            )
        else:
            self._async_abort_entries_match({CONF_HOST: self._host, CONF_PORT: self._port})

        self.context["title_placeholders"] = {"name": self._name}
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before monitoring a discovered device."""
        assert self._host is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            if self._key_expected:
                return await self.async_step_encryption_key()
            identity, error = await self._async_probe(self._host, self._port, None)
            if identity is not None:
                return await self._async_create_entry(identity, self._host, self._port, None)
            if error == "requires_key":
                return await self.async_step_encryption_key()
            errors["base"] = error or "unknown"

        return self.async_show_form(
            step_id="discovery_confirm",
            description_placeholders=self._placeholders(),
            errors=errors,
        )

    async def async_step_encryption_key(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the API encryption key of a discovered device."""
        assert self._host is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            noise_psk = normalize_noise_psk(user_input.get(CONF_NOISE_PSK))
            identity, error = await self._async_probe(self._host, self._port, noise_psk)
            if identity is not None:
                return await self._async_create_entry(identity, self._host, self._port, noise_psk)
            errors["base"] = error or "unknown"

        return self.async_show_form(
            step_id="encryption_key",
            data_schema=KEY_SCHEMA,
            description_placeholders=self._placeholders(),
            errors=errors,
        )

    def _placeholders(self) -> dict[str, str]:
        return {"name": self._name or self._host or "", "host": self._host or ""}

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Find out why the stored key fails before asking the user anything."""
        entry = self._get_reauth_entry()
        noise_psk = normalize_noise_psk(entry_data.get(CONF_NOISE_PSK))
        identity, error = await self._async_probe(
            entry_data[CONF_HOST], entry_data[CONF_PORT], noise_psk
        )
        if identity is not None:
            # The stored key works again; reloading is all that is needed.
            await self.async_set_unique_id(format_mac(identity.mac), raise_on_progress=False)
            self._abort_if_unique_id_mismatch()
            return self.async_update_reload_and_abort(entry)
        if error == "device_not_encrypted":
            return await self.async_step_reauth_encryption_removed()
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_encryption_removed(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before monitoring a device without encryption that used to have it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            identity, error = await self._async_probe(
                entry.data[CONF_HOST], entry.data[CONF_PORT], None
            )
            if identity is not None:
                await self.async_set_unique_id(format_mac(identity.mac), raise_on_progress=False)
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_NOISE_PSK: "", CONF_DEVICE_NAME: identity.name}
                )
            if error in ("requires_key", "invalid_key"):
                return await self.async_step_reauth_confirm()
            errors["base"] = error or "unknown"

        return self.async_show_form(
            step_id="reauth_encryption_removed",
            description_placeholders={"name": entry.title, "host": entry.data[CONF_HOST]},
            errors=errors,
        )

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the device's current key and check it on the device."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            noise_psk = normalize_noise_psk(user_input.get(CONF_NOISE_PSK))
            identity, error = await self._async_probe(
                entry.data[CONF_HOST], entry.data[CONF_PORT], noise_psk
            )
            if identity is not None:
                await self.async_set_unique_id(format_mac(identity.mac), raise_on_progress=False)
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(
                    entry,
                    data_updates={CONF_NOISE_PSK: noise_psk or "", CONF_DEVICE_NAME: identity.name},
                )
            errors["base"] = error or "unknown"

        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=KEY_SCHEMA,
            description_placeholders={"name": entry.title, "host": entry.data[CONF_HOST]},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move the entry to a new address of the same device."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            host = user_input[CONF_HOST].strip()
            port = user_input[CONF_PORT]
            noise_psk = normalize_noise_psk(entry.data.get(CONF_NOISE_PSK))
            identity, error = await self._async_probe(host, port, noise_psk)
            if identity is not None:
                await self.async_set_unique_id(format_mac(identity.mac), raise_on_progress=False)
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(
                    entry,
                    data_updates={
                        CONF_HOST: host,
                        CONF_PORT: port,
                        CONF_DEVICE_NAME: identity.name,
                    },
                )
            errors["base"] = error or "unknown"

        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                ADDRESS_SCHEMA, user_input or entry.data
            ),
            description_placeholders={"name": entry.title},
            errors=errors,
        )
