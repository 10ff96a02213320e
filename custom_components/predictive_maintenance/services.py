"""Self-healing services: diagnose, recover, repair_config, validate."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

import voluptuous as vol
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .config_repair import async_repair_config
from .const import DOMAIN
from .device_lookup import coordinator_for_device
from .healer import DeviceHealer, RecoveryBusyError
from .healing import IssueType, plan_for
from .healing.config_checks import ConfigType
from .self_healing import healing_runtime

SERVICE_DIAGNOSE: Final = "diagnose"
SERVICE_RECOVER: Final = "recover"
SERVICE_REPAIR_CONFIG: Final = "repair_config"
SERVICE_VALIDATE: Final = "validate"
ATTR_SYMPTOMS: Final = "symptoms"
ATTR_ISSUE_TYPE: Final = "issue_type"
ATTR_CONFIG_TYPE: Final = "config_type"

_DEVICE: dict[vol.Marker, Any] = {vol.Required(ATTR_DEVICE_ID): cv.string}
DIAGNOSE_SCHEMA = vol.Schema(
    {**_DEVICE, vol.Optional(ATTR_SYMPTOMS, default=[]): vol.All(cv.ensure_list, [cv.string])}
)
# Types are checked in the handler, so an unknown one gets our translated error.
RECOVER_SCHEMA = vol.Schema({**_DEVICE, vol.Required(ATTR_ISSUE_TYPE): cv.string})
REPAIR_CONFIG_SCHEMA = vol.Schema({**_DEVICE, vol.Required(ATTR_CONFIG_TYPE): cv.string})
VALIDATE_SCHEMA = vol.Schema(_DEVICE)


def _healer_for(hass: HomeAssistant, call: ServiceCall) -> DeviceHealer:
    coordinator = coordinator_for_device(hass, call.data[ATTR_DEVICE_ID])
    entry = coordinator.config_entry
    healer = None if entry is None else healing_runtime(hass).healers.get(entry.entry_id)
    if healer is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="device_not_loaded",
            translation_placeholders={"name": coordinator.name},
        )
    return healer


def _choice[E: StrEnum](enum: type[E], value: str, key: str, placeholder: str) -> E:
    try:
        return enum(value)
    except ValueError:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders={
                placeholder: value,
                "valid": ", ".join(str(v) for v in enum),
            },
        ) from None


async def _async_diagnose(call: ServiceCall) -> ServiceResponse:
    healer = _healer_for(call.hass, call)
    diagnosis = healer.diagnose(call.data[ATTR_SYMPTOMS])
    return {"diagnosis": diagnosis.as_dict()}


async def _async_recover(call: ServiceCall) -> ServiceResponse:
    healer = _healer_for(call.hass, call)
    issue_type = _choice(IssueType, call.data[ATTR_ISSUE_TYPE], "unknown_issue_type", "issue_type")
    steps = plan_for(issue_type, load_switch=healer.load_switch is not None)
    if any(step.needs_connection for step in steps) and not healer.coordinator.link.connected:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="device_not_connected",
            translation_placeholders={"name": healer.name},
        )
    try:
        actions = await healer.async_recover(issue_type, automatic=False)
    except RecoveryBusyError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="recovery_in_progress",
            translation_placeholders={"name": err.name},
        ) from err
    return {"recovery_actions": [action.as_dict() for action in actions]}


async def _async_repair_config(call: ServiceCall) -> ServiceResponse:
    healer = _healer_for(call.hass, call)
    config_type = _choice(
        ConfigType, call.data[ATTR_CONFIG_TYPE], "unknown_config_type", "config_type"
    )
    items = await async_repair_config(healer, config_type)
    return {"repairs": [item.as_dict() for item in items]}


async def _async_validate(call: ServiceCall) -> ServiceResponse:
    healer = _healer_for(call.hass, call)
    result: dict[str, Any] = healer.validate().as_dict()
    return result


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the self-healing services (once, in async_setup)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_DIAGNOSE,
        _async_diagnose,
        schema=DIAGNOSE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_RECOVER,
        _async_recover,
        schema=RECOVER_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_REPAIR_CONFIG,
        _async_repair_config,
        schema=REPAIR_CONFIG_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_VALIDATE,
        _async_validate,
        schema=VALIDATE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
