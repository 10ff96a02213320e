"""One OTA session per device at a time, across every client in the process."""

from __future__ import annotations

import asyncio
from weakref import WeakKeyDictionary


class OTASessionLocks:
    """An `asyncio.Lock` per (host, port), kept per event loop.

    Locks are bound to the loop that first waits on them, so a registry shared by
    several loops (one per test, say) must not hand one loop's lock to another.
    """

    def __init__(self) -> None:
        self._locks: WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Lock]
        ] = WeakKeyDictionary()

    def lock_for(self, host: str, port: int) -> asyncio.Lock:
        """The lock guarding OTA sessions to `host:port` on the running loop."""
        per_loop = self._locks.setdefault(asyncio.get_running_loop(), {})
        return per_loop.setdefault((host.strip().lower(), port), asyncio.Lock())


DEFAULT_LOCKS = OTASessionLocks()
