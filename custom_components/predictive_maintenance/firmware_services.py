"""Firmware services: check_updates, apply_patch, rollback, analyze."""

from __future__ import annotations

from typing import Any, Final

import voluptuous as vol
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .coordinator import DeviceCoordinator
from .device_lookup import coordinator_for_device
from .firmware_ha import Outcome, UpdateResult, firmware_manager
from .firmware_ha.analysis import (
    DeviceEvidence,
    anomalies_by_metric,
    critical_issues,
    is_crash_reason,
    issue_types_for,
    recommend,
)
from .firmware_ha.resolve import patch_id
from .firmware_ha.rollout import HALTED, INTERRUPTED, RolloutRunner, new_rollout
from .firmware_ha.target import target_of

SERVICE_CHECK_UPDATES: Final = "check_updates"
SERVICE_APPLY_PATCH: Final = "apply_patch"
SERVICE_ROLLBACK: Final = "rollback"
SERVICE_ANALYZE: Final = "analyze"
ATTR_VERSION: Final = "version"
ATTR_PATCH_ID: Final = "patch_id"
ATTR_PATH: Final = "path"
ATTR_AUTO_ROLLBACK: Final = "auto_rollback"
ATTR_ANALYTICS: Final = "analytics"

_DEVICE: dict[vol.Marker, Any] = {vol.Required(ATTR_DEVICE_ID): cv.string}
CHECK_UPDATES_SCHEMA = vol.Schema(_DEVICE)
APPLY_PATCH_SCHEMA = vol.Schema(
    {
        **_DEVICE,
        vol.Optional(ATTR_VERSION): cv.string,
        vol.Optional(ATTR_PATCH_ID): cv.string,
        vol.Optional(ATTR_PATH): cv.string,
        vol.Optional(ATTR_AUTO_ROLLBACK, default=True): cv.boolean,
    }
)
ROLLBACK_SCHEMA = vol.Schema(_DEVICE)
ANALYTICS_OVERRIDE = vol.Schema(
    {
        vol.Optional("crash_count"): vol.All(vol.Coerce(int), vol.Range(min=0)),
        vol.Optional("reset_reason"): cv.string,
        vol.Optional("anomalies"): {cv.string: vol.All(vol.Coerce(int), vol.Range(min=0))},
        vol.Optional("issue_types"): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional("heap_min_free"): vol.Coerce(float),
        vol.Optional("risk_level"): vol.In(["low", "medium", "high", "critical"]),
    }
)
ANALYZE_SCHEMA = vol.Schema({**_DEVICE, vol.Optional(ATTR_ANALYTICS): ANALYTICS_OVERRIDE})


def _coordinator(call: ServiceCall) -> DeviceCoordinator:
    return coordinator_for_device(call.hass, call.data[ATTR_DEVICE_ID])


def _respond(call: ServiceCall, result: UpdateResult, name: str) -> ServiceResponse:
    """Return the stages; a caller that asked for no response gets an error on failure."""
    if result.outcome is not Outcome.SUCCEEDED and not call.return_response:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="firmware_update_failed",
            translation_placeholders={"name": name, "reason": result.reason},
        )
    response: dict[str, Any] = result.as_dict()
    return response


async def _async_check_updates(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    manager = firmware_manager(call.hass)
    await manager.async_reload()
    target = target_of(coordinator)
    bad = manager.bad_versions(target.project)
    updates = []
    for release in manager.updates_for(target):
        build = release.build_for(target.chip_family)
        size = await _size_kb(call.hass, build)
        updates.append(
            {
                "version": release.version,
                "patch_id": patch_id(release),
                "type": None if release.patch_type is None else str(release.patch_type),
                "priority": release.priority,
                "size_kb": size,
                "summary": None if build is None else build.summary,
                "known_bad": release.version in bad,
            }
        )
    response: dict[str, Any] = {
        "current_version": target.version,
        "updates_available": any(not u["known_bad"] for u in updates),
        "updates": updates,
    }
    return response


async def _size_kb(hass: HomeAssistant, build: Any) -> float | None:
    path = None if build is None else build.location.path
    if path is None:
        return None
    try:
        size: int = await hass.async_add_executor_job(lambda: path.stat().st_size)
    except OSError:
        return None
    return round(size / 1024, 1)


async def _async_apply_patch(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    result = await firmware_manager(call.hass).async_apply(
        coordinator,
        version=call.data.get(ATTR_VERSION),
        patch=call.data.get(ATTR_PATCH_ID),
        path=call.data.get(ATTR_PATH),
        auto_rollback=call.data[ATTR_AUTO_ROLLBACK],
        trigger="service",
    )
    return _respond(call, result, coordinator.config_entry.title)


async def _async_rollback(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    result = await firmware_manager(call.hass).async_rollback(coordinator, trigger="service")
    response = _respond(call, result, coordinator.config_entry.title)
    if response is None:
        return None
    return {"from_version": result.old_version, "to_version": result.new_version, **response}


async def _async_analyze(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    manager = firmware_manager(call.hass)
    await manager.async_reload()
    target = target_of(coordinator)
    override: dict[str, Any] = call.data.get(ATTR_ANALYTICS, {})
    now = dt_util.utcnow().timestamp()
    report = coordinator.data.report
    reset_reason = override.get("reset_reason", coordinator.monitor.reset_reason)
    crashes = override.get(
        "crash_count", max(report.crashes_24h, 1 if is_crash_reason(reset_reason) else 0)
    )
    anomalies = override.get("anomalies", anomalies_by_metric(coordinator.analytics.anomalies, now))
    issue_types = issue_types_for(anomalies, crashes) | set(override.get("issue_types", ()))
    state = manager.store.devices.get(target.mac)
    known_bad = manager.bad_versions(target.project)
    if target.version in known_bad or (state is not None and state.rolled_back_from):
        issue_types |= {"firmware"}
    evidence = DeviceEvidence(
        version=target.version,
        crash_count=crashes,
        reset_reason=reset_reason,
        anomalies=anomalies,
        issue_types=frozenset(issue_types),
        heap_min_free=override.get(
            "heap_min_free", coordinator.monitor.values.get("heap_min_free")
        ),
        risk_level=override.get("risk_level", str(report.risk_level)),
        known_bad=known_bad,
        rolled_back_from=None if state is None else state.rolled_back_from,
    )
    releases = manager.updates_for(target)
    response: dict[str, Any] = {
        "current_version": target.version,
        "critical_issues": critical_issues(evidence, releases),
        "recommended_patches": recommend(releases, evidence, target.chip_family),
        "evidence": {
            "crash_count": crashes,
            "reset_reason": reset_reason,
            "anomalies_24h": dict(anomalies),
            "issue_types": sorted(issue_types),
            "known_bad_versions": sorted(known_bad),
        },
    }
    return response


def async_setup_firmware_services(hass: HomeAssistant) -> None:
    """Register the firmware services (once, in async_setup)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_CHECK_UPDATES,
        _async_check_updates,
        schema=CHECK_UPDATES_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_APPLY_PATCH,
        _async_apply_patch,
        schema=APPLY_PATCH_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_ROLLBACK,
        _async_rollback,
        schema=ROLLBACK_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_ANALYZE,
        _async_analyze,
        schema=ANALYZE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    _async_setup_rollout_services(hass)


SERVICE_ROLLOUT: Final = "rollout"
SERVICE_ROLLOUT_RESUME: Final = "rollout_resume"
ATTR_DEVICE_IDS: Final = "device_ids"
ATTR_CANARY_COUNT: Final = "canary_count"
ATTR_BATCH_SIZE: Final = "batch_size"
ATTR_MAX_FAILURE_RATIO: Final = "max_failure_ratio"
ATTR_ROLLOUT_ID: Final = "rollout_id"

_RATIO = vol.All(vol.Coerce(float), vol.Range(min=0.0, max=1.0))
ROLLOUT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_VERSION): cv.string,
        vol.Optional(ATTR_DEVICE_IDS): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional(ATTR_CANARY_COUNT, default=1): vol.All(vol.Coerce(int), vol.Range(min=0)),
        vol.Optional(ATTR_BATCH_SIZE, default=5): vol.All(vol.Coerce(int), vol.Range(min=1)),
        vol.Optional(ATTR_MAX_FAILURE_RATIO, default=0.1): _RATIO,
    }
)
ROLLOUT_RESUME_SCHEMA = vol.Schema(
    {vol.Optional(ATTR_ROLLOUT_ID): cv.string, vol.Optional(ATTR_MAX_FAILURE_RATIO): _RATIO}
)


def _rollout_targets(call: ServiceCall, version: str) -> tuple[str, dict[str, str]]:
    """Return (project, entry id -> name): the given devices, else every device with `version`."""
    hass = call.hass
    manager = firmware_manager(hass)
    if ATTR_DEVICE_IDS in call.data:
        coordinators = [coordinator_for_device(hass, d) for d in call.data[ATTR_DEVICE_IDS]]
    else:
        coordinators = [
            entry.runtime_data
            for entry in hass.config_entries.async_loaded_entries(DOMAIN)
            if entry.runtime_data.data.details is not None
            and manager.catalogue.get(entry.runtime_data.data.details.project_name, version)
        ]
    projects = {target_of(c).project for c in coordinators}
    if not coordinators:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="rollout_no_devices",
            translation_placeholders={"version": version},
        )
    if len(projects) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="rollout_mixed_projects",
            translation_placeholders={"projects": ", ".join(sorted(projects))},
        )
    project = projects.pop()
    if manager.catalogue.get(project, version) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="firmware_unknown_version",
            translation_placeholders={
                "version": version,
                "project": project or "?",
                "available": ", ".join(r.version for r in manager.catalogue.releases_for(project))
                or "none",
            },
        )
    return project, {c.config_entry.entry_id: c.config_entry.title for c in coordinators}


async def _async_run_rollout(call: ServiceCall, rollout: dict[str, Any]) -> ServiceResponse:
    manager = firmware_manager(call.hass)
    if manager.rollout_running is not None:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="rollout_running",
            translation_placeholders={"rollout_id": manager.rollout_running},
        )
    manager.rollout_running = rollout["rollout_id"]
    try:
        result = await RolloutRunner(call.hass, manager, rollout).async_run()
    finally:
        manager.rollout_running = None
    return result


async def _async_rollout(call: ServiceCall) -> ServiceResponse:
    manager = firmware_manager(call.hass)
    await manager.async_reload()
    version: str = call.data[ATTR_VERSION]
    project, targets = _rollout_targets(call, version)
    rollout = new_rollout(
        project=project,
        version=version,
        targets=targets,
        canary_count=call.data[ATTR_CANARY_COUNT],
        batch_size=call.data[ATTR_BATCH_SIZE],
        max_failure_ratio=call.data[ATTR_MAX_FAILURE_RATIO],
    )
    return await _async_run_rollout(call, rollout)


async def _async_rollout_resume(call: ServiceCall) -> ServiceResponse:
    manager = firmware_manager(call.hass)
    await manager.async_reload()
    rollouts = manager.store.rollouts
    wanted = call.data.get(ATTR_ROLLOUT_ID)
    resumable = [r for r in rollouts.values() if r.get("status") in (HALTED, INTERRUPTED)]
    rollout = rollouts.get(wanted) if wanted is not None else (resumable[-1] if resumable else None)
    if rollout is None or rollout.get("status") not in (HALTED, INTERRUPTED):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="rollout_not_resumable",
            translation_placeholders={"rollout_id": wanted or "-"},
        )
    if ATTR_MAX_FAILURE_RATIO in call.data:
        rollout["max_failure_ratio"] = call.data[ATTR_MAX_FAILURE_RATIO]
    rollout["halt_reason"] = None
    return await _async_run_rollout(call, rollout)


def _async_setup_rollout_services(hass: HomeAssistant) -> None:
    hass.services.async_register(
        DOMAIN,
        SERVICE_ROLLOUT,
        _async_rollout,
        schema=ROLLOUT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_ROLLOUT_RESUME,
        _async_rollout_resume,
        schema=ROLLOUT_RESUME_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
