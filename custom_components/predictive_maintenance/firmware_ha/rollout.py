"""Staged rollout: canary first, then batches; halt once failures pass the allowed ratio."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from custom_components.predictive_maintenance.const import DOMAIN, EVENT_ROLLOUT
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator

from .manager import FirmwareManager
from .models import Outcome
from .target import running_version

_LOGGER = logging.getLogger(__name__)

RUNNING: Final = "running"
HALTED: Final = "halted"
COMPLETED: Final = "completed"
INTERRUPTED: Final = "interrupted"
PENDING: Final = "pending"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
SKIPPED: Final = "skipped"


def plan_batches(targets: list[str], canary_count: int, batch_size: int) -> list[list[str]]:
    """The canary batch, then batches of `batch_size`, in target order."""
    canary = targets[:canary_count]
    rest = targets[canary_count:]
    batches = [canary] if canary else []
    batches += [rest[i : i + batch_size] for i in range(0, len(rest), batch_size)]
    return batches


def counts(rollout: dict[str, Any]) -> dict[str, int]:
    """Devices per status."""
    found = {SUCCEEDED: 0, FAILED: 0, SKIPPED: 0, PENDING: 0, RUNNING: 0}
    for result in rollout["results"].values():
        found[result["status"]] = found.get(result["status"], 0) + 1
    return found


def over_ratio(rollout: dict[str, Any]) -> bool:
    """True once failures exceed the allowed share of the devices processed so far."""
    done = counts(rollout)
    processed = done[SUCCEEDED] + done[FAILED]
    return processed > 0 and done[FAILED] / processed > float(rollout["max_failure_ratio"])


def new_rollout(
    *,
    project: str,
    version: str,
    targets: dict[str, str],
    canary_count: int,
    batch_size: int,
    max_failure_ratio: float,
) -> dict[str, Any]:
    """A fresh rollout record (JSON-safe, persisted as is). `targets`: entry id -> name."""
    order = list(targets)
    return {
        "rollout_id": uuid.uuid4().hex[:12],
        "project": project,
        "version": version,
        "status": RUNNING,
        "canary_count": canary_count,
        "batch_size": batch_size,
        "max_failure_ratio": max_failure_ratio,
        "batches": plan_batches(order, canary_count, batch_size),
        "next_batch": 0,
        "names": dict(targets),
        "results": {entry_id: {"status": PENDING, "reason": ""} for entry_id in order},
        "started_at": dt_util.utcnow().isoformat(),
        "updated_at": dt_util.utcnow().isoformat(),
        "halt_reason": None,
    }


def summary(rollout: dict[str, Any]) -> dict[str, Any]:
    """The service response and event payload: state, counts, failed devices."""
    names = rollout["names"]
    done = counts(rollout)
    return {
        "rollout_id": rollout["rollout_id"],
        "project": rollout["project"],
        "version": rollout["version"],
        "status": rollout["status"],
        "halt_reason": rollout["halt_reason"],
        "total": len(rollout["results"]),
        "processed": done[SUCCEEDED] + done[FAILED],
        "succeeded": done[SUCCEEDED],
        "failed": done[FAILED],
        "skipped": done[SKIPPED],
        "pending": done[PENDING] + done[RUNNING],
        "batches_started": rollout["next_batch"],
        "batches_total": len(rollout["batches"]),
        "failed_devices": [
            {"device": names.get(entry_id, entry_id), "reason": result["reason"]}
            for entry_id, result in rollout["results"].items()
            if result["status"] == FAILED
        ],
        "devices": [
            {"device": names.get(entry_id, entry_id), **result}
            for entry_id, result in rollout["results"].items()
        ],
    }


class RolloutRunner:
    """Runs one rollout to its end (or halt), saving its state after every device."""

    def __init__(
        self, hass: HomeAssistant, manager: FirmwareManager, rollout: dict[str, Any]
    ) -> None:
        """Bind to the rollout record kept in the manager's store."""
        self.hass = hass
        self.manager = manager
        self.rollout = rollout

    async def async_run(self) -> dict[str, Any]:
        """Run the remaining batches; return the summary."""
        rollout = self.rollout
        rollout["status"] = RUNNING
        await self._save("started" if rollout["next_batch"] == 0 else "resumed")
        while rollout["next_batch"] < len(rollout["batches"]):
            index = rollout["next_batch"]
            batch = [
                entry_id
                for entry_id in rollout["batches"][index]
                if rollout["results"][entry_id]["status"] in (PENDING, RUNNING)
            ]
            for entry_id in batch:
                rollout["results"][entry_id] = {"status": RUNNING, "reason": ""}
            await self._save("batch_started", batch=index)
            await asyncio.gather(*(self._async_device(entry_id) for entry_id in batch))
            rollout["next_batch"] = index + 1
            if rollout["status"] == HALTED:
                await self._save("halted", batch=index)
                return summary(rollout)
        rollout["status"] = COMPLETED
        await self._save("completed")
        return summary(rollout)

    async def _async_device(self, entry_id: str) -> None:
        rollout = self.rollout
        version = rollout["version"]
        status, reason = await self._async_update(entry_id, version)
        rollout["results"][entry_id] = {"status": status, "reason": reason}
        if rollout["status"] == RUNNING and over_ratio(rollout):
            done = counts(rollout)
            rollout["status"] = HALTED
            rollout["halt_reason"] = (
                f"{done[FAILED]} of {done[SUCCEEDED] + done[FAILED]} devices failed, more "
                f"than {float(rollout['max_failure_ratio']):.0%}"
            )
            _LOGGER.warning("Rollout %s halted: %s", rollout["rollout_id"], rollout["halt_reason"])
        await self._save("device_finished", device=entry_id)

    async def _async_update(self, entry_id: str, version: str) -> tuple[str, str]:
        entry = self.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
            return SKIPPED, "the device is not loaded"
        coordinator: DeviceCoordinator = entry.runtime_data
        if not coordinator.data.online:
            return SKIPPED, "the device is offline"
        if running_version(coordinator) == version:
            return SUCCEEDED, f"already on {version}"
        try:
            result = await self.manager.async_apply(
                coordinator,
                version=version,
                auto_rollback=True,
                trigger=f"rollout {self.rollout['rollout_id']}",
            )
        except HomeAssistantError as err:
            return FAILED, str(err) or str(err.translation_key)
        if result.outcome is Outcome.SUCCEEDED:
            return SUCCEEDED, ""
        return FAILED, result.reason

    async def _save(self, phase: str, **extra: str | int) -> None:
        rollout = self.rollout
        rollout["updated_at"] = dt_util.utcnow().isoformat()
        self.manager.store.save_rollout(rollout)
        await self.manager.store.async_save()
        data = summary(rollout)
        data.pop("devices")
        if "device" in extra:
            entry_id = str(extra.pop("device"))
            extra["device"] = rollout["names"].get(entry_id, entry_id)
            extra["device_status"] = rollout["results"][entry_id]["status"]
        self.hass.bus.async_fire(EVENT_ROLLOUT, {"phase": phase, **data, **extra})


def interrupt_running(rollouts: dict[str, dict[str, Any]]) -> list[str]:
    """After a restart: a rollout that was running is interrupted; its devices pending."""
    interrupted = []
    for rollout in rollouts.values():
        if rollout.get("status") == RUNNING:
            rollout["status"] = INTERRUPTED
            for result in rollout["results"].values():
                if result["status"] == RUNNING:
                    result.update(status=PENDING, reason="interrupted by a restart")
            interrupted.append(str(rollout["rollout_id"]))
    return interrupted
