"""The device side of the ESPHome OTA protocol (version 2), one server per simulated device.

Speaks what `ota_esphome.cpp` speaks: magic, version, feature ack (legacy 0x40 or
extended 0x48 + flags), no / SHA-256 / MD5 password auth, ota type, size, md5, data in
8 KiB blocks with a 0x47 ack per block, RECEIVE_OK, md5 check, END_OK. Like the real
device it serves one session at a time; a connection that arrives during a session is
closed at once and counted in `overlapping_connections`, so a test can assert a client
never opened two sessions to one device.

`OTAFaults` scripts the failures of field case C01 and friends. A received, verified
image goes to `on_image`; the simulated device then "flashes" it (see
`simulator.firmware_images.FirmwareSlots`). Written independently of the integration's
OTA client on purpose: tests of the client then test it against a second reading of
the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import inspect
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

_LOGGER = logging.getLogger(__name__)

MAGIC: Final = bytes((0x6C, 0x26, 0xF7, 0x5C, 0x45))
BLOCK_SIZE: Final = 8192
DEFAULT_DATA_TIMEOUT: Final = 105.0
DEFAULT_HANDSHAKE_TIMEOUT: Final = 20.0
DEFAULT_MAX_IMAGE_SIZE: Final = 0x1C0000  # a 1.75 MiB app partition

_FEATURE_SHA256: Final = 0x02
_FEATURE_EXTENDED: Final = 0x04
_OK: Final = 0x00
_REQUEST_MD5_AUTH: Final = 0x01
_REQUEST_SHA256_AUTH: Final = 0x02
_HEADER_OK: Final = 0x40
_AUTH_OK: Final = 0x41
_PREPARE_OK: Final = 0x42
_MD5_OK: Final = 0x43
_RECEIVE_OK: Final = 0x44
_END_OK: Final = 0x45
_CHUNK_OK: Final = 0x47
_FEATURE_FLAGS: Final = 0x48
ERROR_MAGIC: Final = 0x80
ERROR_AUTH_INVALID: Final = 0x82
ERROR_UPDATE_END: Final = 0x84
ERROR_ESP32_NOT_ENOUGH_SPACE: Final = 0x89
ERROR_MD5_MISMATCH: Final = 0x8B
ERROR_UNSUPPORTED_OTA_TYPE: Final = 0x8E


class OTAAuth(StrEnum):
    """How the device checks the OTA password (ignored when it has none)."""

    SHA256 = "sha256"
    MD5 = "md5"


class SessionOutcome(StrEnum):
    """How a session on the device ended."""

    SUCCESS = "success"
    BAD_MAGIC = "bad_magic"
    AUTH_FAILED = "auth_failed"
    PREPARE_FAILED = "prepare_failed"
    MD5_MISMATCH = "md5_mismatch"
    IMAGE_REJECTED = "image_rejected"
    CLIENT_CLOSED = "client_closed"
    DROPPED = "dropped"
    HANDSHAKE_TIMEOUT = "handshake_timeout"
    DATA_TIMEOUT = "data_timeout"
    SERVER_STOPPED = "server_stopped"


@dataclass
class OTAFaults:
    """Scripted failures; every field off by default. Change them between sessions freely.

    - `drop_at_byte`: abort the TCP connection once this many image bytes arrived.
    - `corrupt_data`: flip one received byte, so the final md5 check answers 0x8B.
    - `hold_ack`: ``(block, seconds)``: send the ack of that 1-based block late
      (C01 script A: lwIP retransmitting a lost ack). The device reads nothing meanwhile.
    - `never_ack_from_block`: from this 1-based block on, send no ack; the device sits in
      its data timeout and then drops the session (C01 script B).
    - `prepare_error`: answer the size with this error code instead of PREPARE_OK.
    - `bytes_per_second`: cap the data phase's receive rate (a slow link).
    - `sessions`: how many more sessions the faults apply to (None: all of them).
    """

    drop_at_byte: int | None = None
    corrupt_data: bool = False
    hold_ack: tuple[int, float] | None = None
    never_ack_from_block: int | None = None
    prepare_error: int | None = None
    bytes_per_second: float | None = None
    sessions: int | None = None


_NO_FAULTS: Final = OTAFaults()


@dataclass(frozen=True, kw_only=True)
class ReceivedImage:
    """An image that arrived complete with a matching md5."""

    data: bytes
    md5: str
    ota_type: int


@dataclass(kw_only=True)
class OTASessionRecord:
    """One session as the device saw it; times are `time.monotonic()`."""

    index: int
    started: float
    ended: float | None = None
    outcome: SessionOutcome | None = None
    size: int = 0
    bytes_received: int = 0
    blocks_acked: int = 0
    error_code: int | None = None
    ack_holds: list[tuple[int, float, float]] = field(default_factory=list)
    """(block, hold start, hold end) for each held ack."""


type ImageCallback = Callable[[ReceivedImage], Awaitable[None] | None]
type ImageCheck = Callable[[bytes], int | None]
"""Looks at a complete image before END_OK; an error code rejects it (esp_ota_end failing)."""


class _SessionEnd(Exception):
    def __init__(self, outcome: SessionOutcome, code: int | None = None) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome
        self.code = code


class OTAServer:
    """An ESPHome OTA endpoint on 127.0.0.1 for one simulated device."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        password: str | None = None,
        auth: OTAAuth = OTAAuth.SHA256,
        version: int = 2,
        extended_protocol: bool = True,
        data_timeout: float = DEFAULT_DATA_TIMEOUT,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        max_image_size: int = DEFAULT_MAX_IMAGE_SIZE,
        on_image: ImageCallback | None = None,
        faults: OTAFaults | None = None,
        check_image: ImageCheck | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        if version not in (1, 2):
            raise ValueError("OTA protocol version must be 1 or 2")
        self.host = host
        self._requested_port = port
        self._password = password or None
        self.auth = auth
        self.version = version
        self.extended_protocol = extended_protocol
        self.data_timeout = data_timeout
        self.handshake_timeout = handshake_timeout
        self.max_image_size = max_image_size
        self.on_image = on_image
        self.check_image = check_image
        self.on_change = on_change  # called on every session change (start, ack, end)
        self.faults = faults or OTAFaults()
        self.sessions: list[OTASessionRecord] = []
        self.images: list[ReceivedImage] = []
        self.overlapping_connections = 0
        self.connections = 0
        self._active: OTASessionRecord | None = None
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._changed = asyncio.Event()

    def __repr__(self) -> str:
        password = "**REDACTED**" if self._password else None
        return f"OTAServer(host={self.host!r}, port={self.port}, password={password!r})"

    @property
    def port(self) -> int:
        """The listening port (the real one once started with port 0)."""
        if self._server is None or not self._server.sockets:
            return self._requested_port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def listening(self) -> bool:
        """True while the port accepts connections."""
        return self._server is not None

    @property
    def busy(self) -> bool:
        """True while a session is running."""
        return self._active is not None

    @property
    def active_session(self) -> OTASessionRecord | None:
        """The running session's record (updated as blocks are acked), if any."""
        return self._active

    @property
    def sessions_overlapped(self) -> bool:
        """True if a connection ever arrived while another session was still running."""
        return self.overlapping_connections > 0

    def set_password(self, password: str | None) -> None:
        """Change the OTA password (a reflashed device)."""
        self._password = password or None

    async def start(self) -> None:
        """Listen; `port` is valid afterwards and stays the same across stop/start."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._on_connection, self.host, self._requested_port, reuse_address=True
        )
        # A device that reboots comes back on the port it had, even when it was ephemeral.
        self._requested_port = self.port

    def abort(self) -> None:
        """Stop listening and reset every connection at once (power loss, crash).

        Running sessions end as `server_stopped`; `stop()` later waits for their handlers.
        """
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        # A handler asleep in a held ack would otherwise keep its session across the reboot.
        for task in self._handlers:
            if task is not asyncio.current_task():
                task.cancel()

    async def stop(self) -> None:
        """Stop listening, end any session and wait for every handler to finish."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        # `on_image` may stop the server itself (the device reboots): not its own handler.
        others = [task for task in self._handlers if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        if others:
            await asyncio.gather(*others, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> OTAServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - same signature as SimulatedDevice.wait_for
    ) -> None:
        """Wait until `predicate()` holds; it is re-checked on every session change."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def wait_for_sessions(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until `count` sessions have ended."""
        await self.wait_for(lambda: len(self.sessions) >= count, timeout)

    async def wait_idle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until no connection is being handled (every session is recorded)."""
        await self.wait_for(lambda: not self._handlers, timeout)

    def _notify(self) -> None:
        self._changed.set()
        if self.on_change is not None:
            self.on_change()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            if self._active is not None:
                self.overlapping_connections += 1
                _LOGGER.warning("OTA connection while session %d runs", self._active.index)
                writer.transport.abort()
                self._notify()
                return
            await self._serve(reader, writer)
        finally:
            self._writers.discard(writer)
            self._handlers.discard(task)
            self._notify()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        record = OTASessionRecord(index=len(self.sessions) + 1, started=time.monotonic())
        self._active = record
        self._notify()
        faults = self._take_faults()
        received: ReceivedImage | None = None
        try:
            received = await _DeviceSession(self, reader, writer, record, faults).run()
            record.outcome = SessionOutcome.SUCCESS
        except _SessionEnd as end:
            record.outcome, record.error_code = end.outcome, end.code
        except asyncio.CancelledError:
            record.outcome = SessionOutcome.SERVER_STOPPED
            raise
        finally:
            # The session is over before the socket closes: a client that reconnects the
            # instant it sees the close must not be counted as overlapping.
            record.ended = time.monotonic()
            self._active = None
            self.sessions.append(record)
            writer.transport.abort()
            self._notify()
        if received is not None:
            self.images.append(received)
            if self.on_image is not None:
                result = self.on_image(received)
                if inspect.isawaitable(result):
                    await result
            self._notify()

    def _take_faults(self) -> OTAFaults:
        faults = self.faults
        if faults.sessions is None:
            return faults
        if faults.sessions <= 0:
            return _NO_FAULTS
        faults.sessions -= 1
        return faults

    def _password_value(self) -> str | None:
        return self._password


class _DeviceSession:
    def __init__(
        self,
        server: OTAServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        record: OTASessionRecord,
        faults: OTAFaults,
    ) -> None:
        self._server = server
        self._reader = reader
        self._writer = writer
        self._record = record
        self._faults = faults

    async def run(self) -> ReceivedImage:
        server = self._server
        if await self._read(len(MAGIC)) != MAGIC:
            await self._fail(SessionOutcome.BAD_MAGIC, ERROR_MAGIC)
        await self._write(bytes((_OK, server.version)))
        (features,) = await self._read(1)
        extended = server.extended_protocol and bool(features & _FEATURE_EXTENDED)
        await self._write(bytes((_FEATURE_FLAGS, 0x00)) if extended else bytes((_HEADER_OK,)))
        await self._authenticate(features)

        ota_type = (await self._read(1))[0] if extended else 0
        if ota_type != 0:
            await self._fail(SessionOutcome.PREPARE_FAILED, ERROR_UNSUPPORTED_OTA_TYPE)
        size = int.from_bytes(await self._read(4), "big")
        self._record.size = size
        if self._faults.prepare_error is not None:
            await self._fail(SessionOutcome.PREPARE_FAILED, self._faults.prepare_error)
        if not 0 < size <= server.max_image_size:
            await self._fail(SessionOutcome.PREPARE_FAILED, ERROR_ESP32_NOT_ENOUGH_SPACE)
        await self._write(bytes((_PREPARE_OK,)))
        expected_md5 = (await self._read(32)).decode(errors="replace").lower()
        await self._write(bytes((_MD5_OK,)))

        data = await self._receive(size)
        await self._write(bytes((_RECEIVE_OK,)))
        actual_md5 = hashlib.md5(data).hexdigest()
        if actual_md5 != expected_md5:
            await self._fail(SessionOutcome.MD5_MISMATCH, ERROR_MD5_MISMATCH)
        if server.check_image is not None:
            code = server.check_image(bytes(data))
            if code is not None:
                await self._fail(SessionOutcome.IMAGE_REJECTED, code)
        await self._write(bytes((_END_OK,)))
        with contextlib.suppress(_SessionEnd):
            await self._read(1)  # the client's final OK; the device reboots either way
            await self._write(bytes((_OK,)))
        return ReceivedImage(data=bytes(data), md5=actual_md5, ota_type=ota_type)

    async def _authenticate(self, features: int) -> None:
        password = self._server._password_value()
        if password is None:
            await self._write(bytes((_AUTH_OK,)))
            return
        if self._server.auth is OTAAuth.SHA256:
            if not features & _FEATURE_SHA256:
                await self._fail(SessionOutcome.AUTH_FAILED, ERROR_AUTH_INVALID)
            hasher, request, length = hashlib.sha256, _REQUEST_SHA256_AUTH, 64
        else:
            hasher, request, length = hashlib.md5, _REQUEST_MD5_AUTH, 32
        nonce = hasher(secrets.token_bytes(16)).hexdigest().encode()
        await self._write(bytes((request,)) + nonce)
        cnonce = await self._read(length)
        response = await self._read(length)
        expected = hasher(password.encode() + nonce + cnonce).hexdigest().encode()
        if not hmac.compare_digest(response.lower(), expected):
            await self._fail(SessionOutcome.AUTH_FAILED, ERROR_AUTH_INVALID)
        await self._write(bytes((_AUTH_OK,)))

    async def _receive(self, size: int) -> bytearray:
        faults, record = self._faults, self._record
        chunk_acks = self._server.version >= 2
        data = bytearray()
        started = last_rx = time.monotonic()
        while len(data) < size:
            want = min(size - len(data), BLOCK_SIZE - len(data) % BLOCK_SIZE)
            if faults.drop_at_byte is not None:
                if len(data) >= faults.drop_at_byte:
                    raise _SessionEnd(SessionOutcome.DROPPED)
                want = min(want, faults.drop_at_byte - len(data))
            if faults.bytes_per_second is not None:
                want = min(want, max(1, int(faults.bytes_per_second / 20)))
            # The device's data timeout runs from the last byte it received.
            remaining = self._server.data_timeout - (time.monotonic() - last_rx)
            chunk = await self._read_some(want, remaining)
            data += chunk
            record.bytes_received = len(data)
            if faults.bytes_per_second is not None:
                due = started + len(data) / faults.bytes_per_second
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            last_rx = time.monotonic()
            if chunk_acks:
                await self._ack_blocks(len(data), size, last_rx)
        if faults.corrupt_data:
            data[len(data) // 2] ^= 0xFF
        return data

    async def _ack_blocks(self, received: int, size: int, last_rx: float) -> None:
        faults, record = self._faults, self._record
        while record.blocks_acked * BLOCK_SIZE + BLOCK_SIZE <= received or (
            received == size and record.blocks_acked * BLOCK_SIZE < size
        ):
            block = record.blocks_acked + 1
            if faults.never_ack_from_block is not None and block >= faults.never_ack_from_block:
                # Stuck resending an ack that never arrives: the session only ends when
                # the data timeout, counted from the last byte received, runs out.
                remaining = self._server.data_timeout - (time.monotonic() - last_rx)
                await asyncio.sleep(max(0.0, remaining))
                raise _SessionEnd(SessionOutcome.DATA_TIMEOUT)
            if faults.hold_ack is not None and faults.hold_ack[0] == block:
                hold_start = time.monotonic()
                self._server._notify()
                await asyncio.sleep(faults.hold_ack[1])
                record.ack_holds.append((block, hold_start, time.monotonic()))
            await self._write(bytes((_CHUNK_OK,)))
            record.blocks_acked = block
            self._server._notify()

    async def _read(self, size: int) -> bytes:
        try:
            async with asyncio.timeout(self._server.handshake_timeout):
                return await self._reader.readexactly(size)
        except TimeoutError as err:
            raise _SessionEnd(SessionOutcome.HANDSHAKE_TIMEOUT) from err
        except (asyncio.IncompleteReadError, OSError) as err:
            raise _SessionEnd(SessionOutcome.CLIENT_CLOSED) from err

    async def _read_some(self, size: int, limit: float) -> bytes:
        try:
            async with asyncio.timeout(max(0.0, limit)):
                chunk = await self._reader.read(size)
        except TimeoutError as err:
            raise _SessionEnd(SessionOutcome.DATA_TIMEOUT) from err
        except OSError as err:
            raise _SessionEnd(SessionOutcome.CLIENT_CLOSED) from err
        if not chunk:
            raise _SessionEnd(SessionOutcome.CLIENT_CLOSED)
        return chunk

    async def _write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as err:
            raise _SessionEnd(SessionOutcome.CLIENT_CLOSED) from err

    async def _fail(self, outcome: SessionOutcome, code: int) -> None:
        with contextlib.suppress(_SessionEnd):
            await self._write(bytes((code,)))
        raise _SessionEnd(outcome, code)
