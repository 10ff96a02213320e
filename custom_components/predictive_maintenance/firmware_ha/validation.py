"""After an upload: did the device reboot, come back on the new image and stay healthy?"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from .models import FirmwareTiming, Stage, StageName, StageStatus
from .watch import DeviceWatch

# How long to wait for the reset reason of the new boot, as evidence (failures only).
RESET_REASON_WAIT = 3.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """The validate stage, and whether the device went back to the old image by itself."""

    stage: Stage
    went_back: bool = False

    @property
    def passed(self) -> bool:
        """Return True when validation passed."""
        return self.stage.status is StageStatus.PASSED


async def async_wait_reboot(watch: DeviceWatch, drops_before: int, timing: FirmwareTiming) -> Stage:
    """Wait for the reboot that follows an upload, and for the device to answer again."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    went_down = await watch.wait_until(
        lambda: watch.drops > drops_before or not watch.online, timing.down_timeout
    )
    if not went_down:
        return Stage(
            StageName.REBOOT,
            StageStatus.FAILED,
            f"the device did not restart within {timing.down_timeout:g} s of the upload",
        )
    if not await watch.wait_until(lambda: watch.online, timing.back_timeout):
        return Stage(
            StageName.REBOOT,
            StageStatus.FAILED,
            f"the device did not come back within {timing.back_timeout:g} s",
        )
    return Stage(
        StageName.REBOOT,
        StageStatus.PASSED,
        f"back after {loop.time() - started:.1f} s, running {watch.version}",
        {"running_version": watch.version},
    )


async def _went_back(previous: str | None, watch: DeviceWatch) -> Verdict:
    reason = await watch.fresh_reset_reason(RESET_REASON_WAIT)
    return Verdict(
        Stage(
            StageName.VALIDATE,
            StageStatus.FAILED,
            f"the device went back to {previous} by itself"
            + (f" (reset reason: {reason})" if reason else ""),
            {"running_version": watch.version, "reset_reason": reason},
        ),
        went_back=True,
    )


async def async_validate_update(
    watch: DeviceWatch,
    *,
    previous: str | None,
    expected: str,
    health_before: float,
    health_now: Callable[[], float],
    timing: FirmwareTiming,
) -> Verdict:
    """Check the version at once, then watch for resets for the whole window.

    A failure ends the wait early; a pass never comes before the window has run.
    """
    version = watch.version
    if previous is not None and version == previous and previous != expected:
        return await _went_back(previous, watch)
    if version != expected:
        return Verdict(
            Stage(
                StageName.VALIDATE,
                StageStatus.FAILED,
                f"the device reports {version}, expected {expected}",
                {"running_version": version},
            )
        )
    window = timing.watch_window
    drops = watch.drops
    if await watch.wait_until(lambda: watch.drops > drops, window):
        await watch.wait_until(lambda: watch.online, timing.back_timeout)
        if previous is not None and watch.version == previous:
            return await _went_back(previous, watch)
        reason = await watch.fresh_reset_reason(RESET_REASON_WAIT)
        return Verdict(
            Stage(
                StageName.VALIDATE,
                StageStatus.FAILED,
                f"the device restarted during the {window:g} s watch window"
                + (f" (reset reason: {reason})" if reason else ""),
                {"running_version": watch.version, "reset_reason": reason},
            )
        )
    if not watch.online or watch.version != expected:
        return Verdict(
            Stage(
                StageName.VALIDATE,
                StageStatus.FAILED,
                f"after the watch window the device is {'online' if watch.online else 'offline'}"
                f" and reports {watch.version}",
                {"running_version": watch.version},
            )
        )
    health = health_now()
    if health < health_before - timing.health_tolerance:
        return Verdict(
            Stage(
                StageName.VALIDATE,
                StageStatus.FAILED,
                f"health fell from {health_before:.0f} to {health:.0f}",
                {"health_before": health_before, "health_after": health},
            )
        )
    return Verdict(
        Stage(
            StageName.VALIDATE,
            StageStatus.PASSED,
            f"running {expected}, no reset in the {window:g} s watch window, "
            f"health {health:.0f} (before {health_before:.0f})",
            {"watch_window_s": window, "health_before": health_before, "health_after": health},
        )
    )
