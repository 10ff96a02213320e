"""Follow one device's snapshots while a firmware change runs: drops, returns, versions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType

from homeassistant.core import CALLBACK_TYPE, callback

from custom_components.predictive_maintenance.coordinator import DeviceCoordinator

from .target import running_version


class DeviceWatch:
    """Counts connection drops and wakes waiters on every snapshot (a context manager)."""

    def __init__(self, coordinator: DeviceCoordinator) -> None:
        """Start counting from the current snapshot."""
        self._coordinator = coordinator
        self._changed = asyncio.Event()
        self._was_online = coordinator.data.online
        self._unsub: CALLBACK_TYPE | None = None
        self.drops = 0
        self._reason_at_drop = coordinator.data.reset_reason

    def __enter__(self) -> DeviceWatch:
        """Listen to the coordinator."""
        self._unsub = self._coordinator.async_add_listener(self._on_update)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop listening."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    @callback
    def _on_update(self) -> None:
        online = self.online
        if self._was_online and not online:
            self.drops += 1
            self._reason_at_drop = self.reset_reason
        self._was_online = online
        self._changed.set()

    @property
    def online(self) -> bool:
        """Return True while the device is connected (and is the right board)."""
        return self._coordinator.data.online

    @property
    def version(self) -> str | None:
        """Return the version the device reports now."""
        return running_version(self._coordinator)

    @property
    def reset_reason(self) -> str | None:
        """Return the latest reset reason the device reported."""
        return self._coordinator.data.reset_reason

    async def fresh_reset_reason(self, timeout: float) -> str | None:  # noqa: ASYNC109
        """Return the reset reason of the current boot.

        Right after a reconnect the snapshot still holds the previous boot's reason; the
        text sensor's new state follows within a second or so.
        """
        await self.wait_until(lambda: self.reset_reason != self._reason_at_drop, timeout)
        return self.reset_reason

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until predicate() holds; False after `timeout` seconds of loop time.

        The deadline is checked against the loop clock, so a timer that fires early
        never shortens the wait.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                continue
        return True
