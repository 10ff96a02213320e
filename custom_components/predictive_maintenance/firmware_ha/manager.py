"""The firmware manager: catalogue, backups, one change per device, audit, rollback detection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send

from custom_components.predictive_maintenance.analytics.limits import LIMITS
from custom_components.predictive_maintenance.const import DOMAIN, EVENT_FIRMWARE
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.firmware import (
    FirmwareCatalogue,
    FirmwareRelease,
    is_newer,
)
from custom_components.predictive_maintenance.self_healing import healing_runtime

from .backups import BackupImage, ImageBackups
from .models import FirmwareTiming, Outcome, Stage, StageName, StageStatus, UpdateResult
from .resolve import Candidate, async_path_image, async_release_image, pick_release
from .sources import CatalogueSources
from .store import DeviceFirmwareState, FirmwareStore
from .target import FirmwareTarget, running_version, target_of
from .updater import ChangeRunner, OTAPasswordError
from .validation import RESET_REASON_WAIT
from .watch import DeviceWatch

_LOGGER = logging.getLogger(__name__)

SIGNAL_CATALOGUE: Final = f"{DOMAIN}_firmware_catalogue"
HEAP_FLOOR_METRIC: Final = "heap_min_free"
AUDIT_IN_DIAGNOSTICS: Final = 50


def signal_progress(entry_id: str) -> str:
    """Dispatcher signal of one entry's install progress."""
    return f"{DOMAIN}_firmware_progress_{entry_id}"


def rollback_issue_id(entry_id: str) -> str:
    """Issue registry id of a device's device-side rollback."""
    return f"firmware_rolled_back_{entry_id}"


def _is_newer(candidate: str, current: str | None) -> bool:
    if current is None:
        return True
    try:
        return is_newer(candidate, current)
    except ValueError:
        return False


class FirmwareManager:
    """Integration-wide firmware state, in hass.data (see DATA_FIRMWARE)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Prepare; nothing is read before async_setup()."""
        self.hass = hass
        self.sources = CatalogueSources(hass)
        self.store = FirmwareStore(hass)
        self.backups = ImageBackups(self.sources.backups)
        self.catalogue = FirmwareCatalogue(())
        self.timing = FirmwareTiming()
        self._busy: set[str] = set()
        # entry id -> percent of the upload (None: in progress, no figure)
        self.progress: dict[str, float | None] = {}
        self.rollout_running: str | None = None

    async def async_setup(self) -> None:
        """Load the audit log and the catalogue."""
        await self.store.async_load()
        await self.async_reload()

    async def async_reload(self) -> FirmwareCatalogue:
        """Read the catalogue again (new files, new URLs)."""
        self.catalogue = await self.sources.async_load()
        async_dispatcher_send(self.hass, SIGNAL_CATALOGUE)
        return self.catalogue

    # ---- what is available -------------------------------------------------------------

    def bad_versions(self, project: str) -> frozenset[str]:
        """Return the versions of a project known to be bad."""
        return self.store.bad_versions(project)

    def updates_for(self, target: FirmwareTarget) -> list[FirmwareRelease]:
        """Releases newer than what runs, installable from it, newest first."""
        return [
            release
            for release in self.catalogue.releases_for(target.project, target.chip_family)
            if release.installable_from(target.version)
            and _is_newer(release.version, target.version)
        ]

    def latest_for(self, target: FirmwareTarget) -> FirmwareRelease | None:
        """The newest update that is not known bad."""
        bad = self.bad_versions(target.project)
        return next((r for r in self.updates_for(target) if r.version not in bad), None)

    def expected_firmware(self, mac: str) -> tuple[str | None, bool]:
        """Return (version the device should run, whether it went back by itself).

        The hook self-healing's `firmware_as_expected` check reads: after a device-side
        rollback (C02 A) the expected version stays the one flashed, so validate fails.
        """
        state = self.store.devices.get(mac)
        if state is None:
            return None, False
        return state.expected_version, state.rolled_back_from is not None

    def is_busy(self, entry_id: str) -> bool:
        """Return True while a firmware change runs on the entry's device."""
        return entry_id in self._busy

    # ---- applying ----------------------------------------------------------------------

    def check_can_start(self, coordinator: DeviceCoordinator) -> FirmwareTarget:
        """Raise a translated error when no firmware change may start now."""
        target = target_of(coordinator)
        name = target.name
        if self.is_busy(target.entry_id):
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="firmware_update_running",
                translation_placeholders={"name": name},
            )
        healer = healing_runtime(self.hass).healers.get(target.entry_id)
        if healer is not None and healer.recovering:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="firmware_recovery_running",
                translation_placeholders={"name": name},
            )
        if not coordinator.data.online or coordinator.data.details is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="firmware_device_offline",
                translation_placeholders={"name": name},
            )
        heap_min = coordinator.monitor.values.get(HEAP_FLOOR_METRIC)
        floor = LIMITS[HEAP_FLOOR_METRIC].failure
        if heap_min is not None and heap_min < floor:
            # C07: an OTA with this little headroom fails part-way or crashes the device.
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="firmware_low_memory",
                translation_placeholders={
                    "name": name,
                    "heap_min_free": f"{heap_min:.0f}",
                    "floor": f"{floor:.0f}",
                },
            )
        return target

    async def async_candidate(
        self,
        target: FirmwareTarget,
        *,
        version: str | None = None,
        patch: str | None = None,
        path: str | None = None,
    ) -> Candidate:
        """Resolve what to install: an explicit choice, else the latest good update."""
        if sum(x is not None for x in (version, patch, path)) > 1:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="firmware_choose_one"
            )
        previous = await self.backups.async_load(target.mac, target.version or "")
        previous_project = None if previous is None else previous.project
        if path is not None:
            return await async_path_image(
                self.sources.folder, path, target, previous_project=previous_project
            )
        if version is None and patch is None:
            latest = self.latest_for(target)
            if latest is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="firmware_no_update",
                    translation_placeholders={
                        "name": target.name,
                        "version": target.version or "?",
                    },
                )
            version = latest.version
        release = pick_release(self.catalogue, target, version=version, patch=patch)
        return await async_release_image(
            release, target, fetch=self.sources.fetcher(), previous_project=previous_project
        )

    async def async_previous_image(self, target: FirmwareTarget) -> BackupImage | None:
        """The image that runs now: kept from an earlier change, or from the catalogue."""
        version = target.version
        if version is None:
            return None
        kept = await self.backups.async_load(target.mac, version)
        if kept is not None:
            return kept
        release = self.catalogue.get(target.project, version)
        if release is None or release.build_for(target.chip_family) is None:
            return None
        try:
            candidate = await async_release_image(
                release, target, fetch=self.sources.fetcher(), previous_project=None
            )
        except ServiceValidationError as err:
            _LOGGER.warning("The catalogue's %s image is unusable: %s", version, err)
            return None
        await self.backups.async_save(target.mac, version, candidate.data)
        return BackupImage(
            version=version, project=candidate.info.project_name, data=candidate.data
        )

    async def async_apply(
        self,
        coordinator: DeviceCoordinator,
        *,
        version: str | None = None,
        patch: str | None = None,
        path: str | None = None,
        auto_rollback: bool = True,
        trigger: str,
    ) -> UpdateResult:
        """Verify, upload, reboot, validate and (if it fails) roll back one device."""
        target = self.check_can_start(coordinator)
        candidate = await self.async_candidate(target, version=version, patch=patch, path=path)
        if candidate.version == target.version:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="firmware_already_installed",
                translation_placeholders={"name": target.name, "version": candidate.version},
            )
        previous = await self.async_previous_image(target)
        if previous is None and auto_rollback:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="firmware_no_previous_image",
                translation_placeholders={"name": target.name, "version": target.version or "?"},
            )
        result = UpdateResult(old_version=target.version, new_version=candidate.version)
        result.add(self._verify_stage(target, candidate, previous))
        async with self._changing(coordinator, target):
            await self.backups.async_save(target.mac, candidate.version, candidate.data)
            self._event(target, "update", "started", versions=(target.version, candidate.version))
            runner = ChangeRunner(coordinator, target, self.timing, self._progress_fn(target))
            try:
                verdict = await runner.async_run(
                    candidate.data,
                    expected=candidate.version,
                    previous=target.version,
                    result=result,
                    rollback_image=previous.data if auto_rollback and previous else None,
                    rollback_off_reason="skipped: auto_rollback is off"
                    if not auto_rollback
                    else "skipped: no previous image",
                )
            except OTAPasswordError as err:
                await self._finish(coordinator, target, "update", result, trigger, attempted=False)
                raise self._password_error(target, err) from err
            result.running_version = running_version(coordinator)
            state = self.store.device(target.mac)
            flashed = any(
                s.stage is StageName.UPLOAD and s.status is StageStatus.PASSED
                for s in result.stages
            )
            if flashed:
                state.last_from, state.last_to = target.version, candidate.version
            if result.outcome is Outcome.SUCCEEDED:
                state.expected_version = candidate.version
                state.rolled_back_from = None
                self._clear_rollback_issue(target)
            elif result.outcome is Outcome.ROLLED_BACK:
                state.expected_version = target.version
            if verdict is not None and not verdict.passed:
                self.store.mark_bad(
                    target.project, candidate.version, reason=result.reason, device=target.name
                )
                if verdict.went_back:
                    self.report_device_rollback(
                        coordinator,
                        target,
                        from_version=candidate.version,
                        to_version=target.version,
                        reset_reason=verdict.stage.extra.get("reset_reason"),
                    )
            await self._finish(coordinator, target, "update", result, trigger, attempted=True)
        return result

    async def async_rollback(self, coordinator: DeviceCoordinator, *, trigger: str) -> UpdateResult:
        """Flash back the image that ran before the last change."""
        target = self.check_can_start(coordinator)
        state = self.store.device(target.mac)
        if state.last_from is None or state.last_to is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="firmware_nothing_to_roll_back",
                translation_placeholders={"name": target.name},
            )
        from_version, to_version = target.version, state.last_from
        result = UpdateResult(old_version=from_version, new_version=to_version)
        if from_version == to_version:
            # The device went back by itself (C02 A): nothing to flash, only acknowledge it.
            result.add(
                Stage(
                    StageName.ROLLBACK,
                    StageStatus.SKIPPED,
                    "skipped: device already on the previous image",
                )
            )
            result.outcome = Outcome.SUCCEEDED
            result.running_version = from_version
            state.expected_version = to_version
            state.rolled_back_from = None
            self._clear_rollback_issue(target)
            await self._finish(coordinator, target, "rollback", result, trigger, attempted=False)
            return result
        if from_version != state.last_to:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="firmware_nothing_to_roll_back",
                translation_placeholders={"name": target.name},
            )
        image = await self.backups.async_load(target.mac, to_version)
        if image is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="firmware_no_previous_image",
                translation_placeholders={"name": target.name, "version": to_version},
            )
        result.add(
            Stage(
                StageName.VERIFY,
                StageStatus.PASSED,
                f"kept image of {to_version} ({len(image.data):,} B) checked",
            )
        )
        async with self._changing(coordinator, target):
            self._event(target, "rollback", "started", versions=(from_version, to_version))
            runner = ChangeRunner(coordinator, target, self.timing, self._progress_fn(target))
            try:
                await runner.async_run(
                    image.data,
                    expected=to_version,
                    previous=from_version,
                    result=result,
                    rollback_image=None,
                    rollback_off_reason="skipped: a rollback is not rolled back",
                )
            except OTAPasswordError as err:
                await self._finish(
                    coordinator, target, "rollback", result, trigger, attempted=False
                )
                raise self._password_error(target, err) from err
            result.running_version = running_version(coordinator)
            if any(
                s.stage is StageName.UPLOAD and s.status is StageStatus.PASSED
                for s in result.stages
            ):
                state.last_from, state.last_to = from_version, to_version
                state.expected_version = to_version
                state.rolled_back_from = None
                self._clear_rollback_issue(target)
            await self._finish(coordinator, target, "rollback", result, trigger, attempted=True)
        return result

    # ---- device-side rollback ----------------------------------------------------------

    @callback
    def async_track(self, coordinator: DeviceCoordinator) -> None:
        """Follow the reported version; a drop from the new to the old one is a rollback."""
        version = running_version(coordinator)
        if version is None or coordinator.data.wrong_device:
            return
        target = target_of(coordinator)
        state = self.store.device(target.mac)
        seen = state.last_seen_version
        if seen == version:
            return
        state.last_seen_version = version
        if state.expected_version is None:
            state.expected_version = version
        if (
            not self.is_busy(target.entry_id)
            and state.last_to is not None
            and seen == state.last_to
            and version == state.last_from
            and state.last_from != state.last_to
        ):
            self.hass.async_create_task(
                self._async_report_later(coordinator, target, seen, version), eager_start=False
            )
            return
        if seen is not None and not self.is_busy(target.entry_id):
            self._record_external_change(target, state, seen, version)
        self.hass.async_create_task(self.store.async_save(), eager_start=False)

    def _record_external_change(
        self, target: FirmwareTarget, state: DeviceFirmwareState, seen: str, version: str
    ) -> None:
        """Audit a version change we did not make; an upgrade becomes what should run.

        Flashed from elsewhere (ESPHome dashboard, USB): without this, validate would
        report a mismatch for ever. A step back stays a mismatch, as self-healing reads
        it as a rollback (C02).
        """
        try:
            upgrade = is_newer(version, seen)
        except ValueError:
            upgrade = True
        if upgrade and state.rolled_back_from is None:
            state.expected_version = version
        self.store.add_audit(
            {
                "mac": target.mac,
                "device": target.name,
                "action": "external_change",
                "trigger": "device",
                "from_version": seen,
                "to_version": version,
                "result": "detected",
                "reason": "the version changed outside Home Assistant",
            }
        )

    async def _async_report_later(
        self, coordinator: DeviceCoordinator, target: FirmwareTarget, seen: str, version: str
    ) -> None:
        # The reset reason of the boot that went back arrives just after the version.
        with DeviceWatch(coordinator) as watch:
            reason = await watch.fresh_reset_reason(RESET_REASON_WAIT)
        self.report_device_rollback(
            coordinator, target, from_version=seen, to_version=version, reset_reason=reason
        )
        await self.store.async_save()

    @callback
    def report_device_rollback(
        self,
        coordinator: DeviceCoordinator,
        target: FirmwareTarget,
        *,
        from_version: str,
        to_version: str | None,
        reset_reason: str | None,
    ) -> None:
        """Event, audit entry, known-bad mark and repair issue for a rollback by the device."""
        state = self.store.device(target.mac)
        state.rolled_back_from = from_version
        state.expected_version = from_version
        reason = f"the device went back to {to_version} by itself"
        self.store.mark_bad(target.project, from_version, reason=reason, device=target.name)
        self.store.add_audit(
            {
                "mac": target.mac,
                "device": target.name,
                "action": "device_rollback",
                "trigger": "device",
                "from_version": from_version,
                "to_version": to_version,
                "result": "detected",
                "reason": reason,
                "reset_reason": reset_reason,
            }
        )
        _LOGGER.warning(
            "%s went back from firmware %s to %s by itself (reset reason %s)",
            target.name,
            from_version,
            to_version,
            reset_reason,
        )
        self._event(
            target,
            "device_rollback",
            "detected",
            versions=(from_version, to_version),
            details=reason,
            reset_reason=reset_reason,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            rollback_issue_id(target.entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="firmware_rolled_back",
            translation_placeholders={
                "name": target.name,
                "from_version": from_version,
                "to_version": to_version or "?",
                "reset_reason": reset_reason or "unknown",
            },
        )

    # ---- helpers -----------------------------------------------------------------------

    def _verify_stage(
        self, target: FirmwareTarget, candidate: Candidate, previous: BackupImage | None
    ) -> Stage:
        info = candidate.info
        notes = [
            f"{info.project_name} {candidate.version} for {info.chip_family}, "
            f"{len(candidate.data):,} B, checksums match",
            f"previous image {previous.version} kept"
            if previous is not None
            else "no previous image kept: no automatic rollback",
        ]
        status = StageStatus.PASSED if previous is not None else StageStatus.WARNING
        if candidate.version in self.bad_versions(target.project):
            notes.append(f"{candidate.version} is known bad")
            status = StageStatus.WARNING
        return Stage(StageName.VERIFY, status, "; ".join(notes))

    def _progress_fn(self, target: FirmwareTarget) -> Any:
        entry_id = target.entry_id
        signal = signal_progress(entry_id)

        def report(percent: float | None) -> None:
            rounded = None if percent is None else float(int(percent))
            if entry_id in self.progress and self.progress[entry_id] == rounded:
                return
            self.progress[entry_id] = rounded
            async_dispatcher_send(self.hass, signal)

        return report

    @asynccontextmanager
    async def _changing(
        self, coordinator: DeviceCoordinator, target: FirmwareTarget
    ) -> AsyncIterator[None]:
        entry_id = target.entry_id
        self._busy.add(entry_id)
        coordinator.firmware_update_in_progress = True
        self.progress[entry_id] = 0.0
        async_dispatcher_send(self.hass, signal_progress(entry_id))
        try:
            yield
        finally:
            self._busy.discard(entry_id)
            coordinator.firmware_update_in_progress = False
            self.progress.pop(entry_id, None)
            async_dispatcher_send(self.hass, signal_progress(entry_id))
            self.async_track(coordinator)

    async def _finish(
        self,
        coordinator: DeviceCoordinator,
        target: FirmwareTarget,
        action: str,
        result: UpdateResult,
        trigger: str,
        *,
        attempted: bool,
    ) -> None:
        self.store.add_audit(
            {
                "mac": target.mac,
                "device": target.name,
                "action": action,
                "trigger": trigger,
                "from_version": result.old_version,
                "to_version": result.new_version,
                "result": str(result.outcome) if attempted or result.stages else "failed",
                "reason": result.reason,
                "running_version": result.running_version,
                "stages": [stage.as_dict() for stage in result.stages],
            }
        )
        await self.store.async_save()
        self._event(
            target,
            action,
            str(result.outcome),
            versions=(result.old_version, result.new_version),
            details=result.reason,
        )
        log = _LOGGER.info if result.outcome is Outcome.SUCCEEDED else _LOGGER.warning
        log(
            "Firmware %s of %s from %s to %s: %s %s",
            action,
            target.name,
            result.old_version,
            result.new_version,
            result.outcome,
            result.reason,
        )

    def _password_error(self, target: FirmwareTarget, err: OTAPasswordError) -> Exception:
        if err.missing:
            return ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="firmware_ota_password_missing",
                translation_placeholders={"name": target.name},
            )
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="firmware_ota_password_wrong",
            translation_placeholders={"name": target.name},
        )

    def _event(
        self,
        target: FirmwareTarget,
        action: str,
        phase: str,
        *,
        versions: tuple[str | None, str | None],
        details: str = "",
        **extra: Any,
    ) -> None:
        from_version, to_version = versions
        device = dr.async_get(self.hass).async_get_device(identifiers={(DOMAIN, target.mac)})
        self.hass.bus.async_fire(
            EVENT_FIRMWARE,
            {
                "device_id": None if device is None else device.id,
                "entry_id": target.entry_id,
                "device_name": target.name,
                "action": action,
                "phase": phase,
                "from_version": from_version,
                "to_version": to_version,
                "details": details,
                **extra,
            },
        )

    def _clear_rollback_issue(self, target: FirmwareTarget) -> None:
        ir.async_delete_issue(self.hass, DOMAIN, rollback_issue_id(target.entry_id))

    def diagnostics(self, mac: str) -> dict[str, Any]:
        """Firmware state of one device for diagnostics (nothing secret is ever stored)."""
        state = self.store.devices.get(mac)
        return {
            "state": None if state is None else state.as_dict(),
            "catalogue": {
                "releases": [f"{r.project} {r.version}" for r in self.catalogue.releases],
                "problems": [f"{p.source}: {p.message}" for p in self.catalogue.problems],
            },
            "known_bad": self.store.known_bad,
            "audit_log": self.store.audit_for(mac)[-AUDIT_IN_DIAGNOSTICS:],
        }
