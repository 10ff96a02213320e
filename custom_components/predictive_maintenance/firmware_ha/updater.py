"""Run one firmware change on one device: upload, reboot, validate, roll back if needed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.firmware import (
    OTAAuthError,
    OTAClient,
    OTAError,
    RetryPolicy,
)

from .models import FirmwareTiming, Outcome, Stage, StageName, StageStatus, UpdateResult
from .target import FirmwareTarget, ota_password
from .validation import Verdict, async_validate_update, async_wait_reboot
from .watch import DeviceWatch

type ProgressFn = Callable[[float | None], None]


class OTAPasswordError(Exception):
    """The device wants an OTA password we lack, or refused ours (nothing was sent)."""

    def __init__(self, *, missing: bool) -> None:
        """Remember which of the two it was."""
        super().__init__("OTA password missing" if missing else "OTA password refused")
        self.missing = missing


@dataclass(slots=True)
class ChangeRunner:
    """The stages after `verify`, against one device."""

    coordinator: DeviceCoordinator
    target: FirmwareTarget
    timing: FirmwareTiming
    progress: ProgressFn

    async def async_run(
        self,
        image: bytes,
        *,
        expected: str,
        previous: str | None,
        result: UpdateResult,
        rollback_image: bytes | None,
        rollback_off_reason: str,
    ) -> Verdict | None:
        """Flash `image`; on a failed validation flash `rollback_image` back if given.

        Returns the validation verdict (None when it never got that far). Raises
        OTAPasswordError before anything reached the device.
        """
        coordinator = self.coordinator
        health_before = coordinator.data.report.health_score
        with DeviceWatch(coordinator) as watch:
            drops = watch.drops
            upload = result.add(await self._upload(image, StageName.UPLOAD))
            if upload.status is StageStatus.FAILED:
                result.reason = upload.details
                result.add(
                    Stage(
                        StageName.ROLLBACK,
                        StageStatus.SKIPPED,
                        f"nothing was flashed: the device keeps {previous}",
                    )
                )
                return None
            self.progress(None)
            reboot = result.add(await async_wait_reboot(watch, drops, self.timing))
            if reboot.status is StageStatus.FAILED:
                result.reason = reboot.details
                result.add(
                    Stage(StageName.ROLLBACK, StageStatus.SKIPPED, "the device is not reachable")
                )
                return None
            verdict = await async_validate_update(
                watch,
                previous=previous,
                expected=expected,
                health_before=health_before,
                health_now=lambda: coordinator.data.report.health_score,
                timing=self.timing,
            )
            result.add(verdict.stage)
            if verdict.passed:
                result.outcome = Outcome.SUCCEEDED
                return verdict
            result.reason = verdict.stage.details
            if verdict.went_back:
                result.add(
                    Stage(
                        StageName.ROLLBACK,
                        StageStatus.SKIPPED,
                        "skipped: device already on the previous image",
                    )
                )
                return verdict
            if rollback_image is None or previous is None:
                result.add(Stage(StageName.ROLLBACK, StageStatus.SKIPPED, rollback_off_reason))
                return verdict
            await self._roll_back(watch, rollback_image, previous, result)
            return verdict

    async def _roll_back(
        self, watch: DeviceWatch, image: bytes, previous: str, result: UpdateResult
    ) -> None:
        drops = watch.drops
        try:
            upload = await self._upload(image, StageName.ROLLBACK)
        except OTAPasswordError:
            upload = Stage(StageName.ROLLBACK, StageStatus.FAILED, "the device refused OTA")
        if upload.status is StageStatus.FAILED:
            result.add(
                Stage(
                    StageName.ROLLBACK,
                    StageStatus.FAILED,
                    f"re-flashing {previous} failed: {upload.details}",
                    upload.extra,
                )
            )
            return
        self.progress(None)
        reboot = await async_wait_reboot(watch, drops, self.timing)
        if reboot.status is StageStatus.FAILED or watch.version != previous:
            result.add(
                Stage(
                    StageName.ROLLBACK,
                    StageStatus.FAILED,
                    f"flashed {previous} back, but {reboot.details}",
                )
            )
            return
        result.outcome = Outcome.ROLLED_BACK
        result.add(
            Stage(
                StageName.ROLLBACK,
                StageStatus.PASSED,
                f"flashed {previous} back; the device runs it again",
                {"running_version": previous},
            )
        )

    async def _upload(self, image: bytes, stage: StageName) -> Stage:
        target = self.target
        client = OTAClient(
            target.host,
            target.ota_port,
            password=ota_password(self.coordinator),
            retry=RetryPolicy(attempts=self.timing.ota_attempts, pause=self.timing.ota_retry_pause),
        )
        total = len(image)

        def on_progress(sent: int, size: int) -> None:
            self.progress(100.0 * sent / size if size else None)

        try:
            done = await client.upload(image, progress=on_progress)
        except OTAAuthError as err:
            raise OTAPasswordError(missing=not target.has_password) from err
        except OTAError as err:
            return Stage(
                stage,
                StageStatus.FAILED,
                str(err),
                {
                    "phase": str(err.phase),
                    "offset": err.offset,
                    "total": err.total or total,
                    "attempts": err.attempts,
                    "device_code": err.code,
                },
            )
        return Stage(
            stage,
            StageStatus.PASSED,
            f"sent {total:,} B in {done.duration:.1f} s ({done.attempts} attempt(s))",
            {"bytes": total, "attempts": done.attempts, "seconds": round(done.duration, 2)},
        )
