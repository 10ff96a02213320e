"""ESPHome OTA client (protocol version 2, as `esphome/espota2.py` speaks it).

One `upload` call runs at most `RetryPolicy.attempts` sessions. Only network-level
failures (refused, reset, closed, silent) are retried; anything the device answers
with an error code, and a refused password above all, ends the upload at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import ota_protocol as p
from .ota_errors import (
    OTAAuthError,
    OTADeviceError,
    OTAError,
    OTANetworkError,
    OTAPhase,
    OTAProtocolError,
    OTATimeoutError,
)
from .ota_locks import DEFAULT_LOCKS, OTASessionLocks

_LOGGER = logging.getLogger(__name__)

type ProgressCallback = Callable[[int, int], None]
"""Called with (bytes sent, total bytes); the values never go backwards."""

MAX_IMAGE_SIZE = 0xFFFFFFFF


@dataclass(frozen=True, kw_only=True)
class OTATimeouts:
    """Seconds to wait for each kind of answer.

    `ack` covers everything after authentication (flash erase, chunk acks, the final
    md5 check) and must outlast the device's own data timeout: a client that gives up
    first reconnects while the device still holds the old session (field case C01).
    """

    connect: float = 20.0
    handshake: float = 20.0
    ack: float = 160.0
    device_data_timeout: float = 105.0
    final_ack: float = 2.0

    def __post_init__(self) -> None:
        values = (self.connect, self.handshake, self.ack, self.device_data_timeout)
        if min(*values, self.final_ack) <= 0:
            raise ValueError("OTA timeouts must be positive")
        if self.ack <= self.device_data_timeout:
            raise ValueError(
                f"ack timeout {self.ack:g} s must be longer than the device's data "
                f"timeout {self.device_data_timeout:g} s"
            )


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How many sessions one upload may open, and the pause between them."""

    attempts: int = 3
    pause: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.pause < 0:
            raise ValueError("attempts must be >= 1 and pause >= 0")


@dataclass(frozen=True, kw_only=True)
class OTAResult:
    """A finished upload."""

    total: int
    attempts: int
    protocol_version: int
    duration: float
    stages: dict[str, float] = field(default_factory=dict)
    """Seconds spent in connect_auth, prepare, md5, data and end (last attempt)."""


class _MonotonicProgress:
    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self._callback = callback
        self._total = total
        self._reported = -1

    def report(self, sent: int) -> None:
        # A retry starts again at byte 0; the caller's progress bar must not jump back.
        if self._callback is None or sent <= self._reported:
            return
        self._reported = sent
        self._callback(sent, self._total)


class _Session:
    """One TCP session: the protocol steps, with phase and offset kept for errors."""

    def __init__(self, client: OTAClient, image: bytes, progress: _MonotonicProgress) -> None:
        self._client = client
        self._timeouts = client.timeouts
        self._image = image
        self._progress = progress
        self._phase = OTAPhase.CONNECT
        self._sent = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.version = 0
        self.stages: dict[str, float] = {}

    def _error[E: OTAError](self, kind: type[E], message: str, code: int | None = None) -> E:
        return kind(
            message,
            phase=self._phase,
            offset=self._sent,
            total=len(self._image),
            code=code,
            target=self._client.target,
        )

    async def run(self, ota_type: int) -> None:
        try:
            await self._steps(ota_type)
        finally:
            await self._close()

    async def _steps(self, ota_type: int) -> None:
        started = time.perf_counter()
        await self._connect()
        extended = await self._handshake()
        await self._authenticate()
        mark = self._stage("connect_auth", started)

        self._phase = OTAPhase.PREPARE
        if extended:
            await self._send(bytes((ota_type,)))
        await self._send(len(self._image).to_bytes(4, "big"))
        await self._expect(p.RESPONSE_UPDATE_PREPARE_OK, self._timeouts.ack, "prepare ack")
        mark = self._stage("prepare", mark)

        self._phase = OTAPhase.MD5
        await self._send(hashlib.md5(self._image).hexdigest().encode())
        await self._expect(p.RESPONSE_BIN_MD5_OK, self._timeouts.ack, "md5 ack")
        mark = self._stage("md5", mark)

        self._phase = OTAPhase.DATA
        await self._send_data()
        mark = self._stage("data", mark)

        self._phase = OTAPhase.END
        await self._expect(p.RESPONSE_RECEIVE_OK, self._timeouts.ack, "receive ack")
        await self._expect(p.RESPONSE_UPDATE_END_OK, self._timeouts.ack, "end ack")
        await self._finish()
        self._stage("end", mark)

    def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            raise RuntimeError("OTA session used before it connected")
        return self._reader, self._writer

    def _stage(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.stages[name] = now - since
        return now

    async def _connect(self) -> None:
        client = self._client
        try:
            async with asyncio.timeout(self._timeouts.connect):
                self._reader, self._writer = await asyncio.open_connection(client.host, client.port)
        except TimeoutError as err:
            raise self._error(
                OTATimeoutError, f"no connection within {self._timeouts.connect:g} s"
            ) from err
        except OSError as err:
            raise self._error(OTANetworkError, f"cannot connect: {err}") from err

    async def _handshake(self) -> bool:
        self._phase = OTAPhase.HANDSHAKE
        await self._send(p.MAGIC)
        status, version = await self._read(2, self._timeouts.handshake, "version")
        if status != p.RESPONSE_OK:
            raise self._device_error(status)
        if version not in (p.VERSION_1, p.VERSION_2):
            raise self._error(OTAProtocolError, f"unsupported OTA protocol version {version}")
        self.version = version
        await self._send(bytes((p.FEATURE_SHA256_AUTH | p.FEATURE_EXTENDED,)))
        (ack,) = await self._read(1, self._timeouts.handshake, "feature ack")
        if ack == p.RESPONSE_FEATURE_FLAGS:
            await self._read(1, self._timeouts.handshake, "server feature flags")
            return True
        if ack == p.RESPONSE_HEADER_OK:
            return False
        raise self._device_error(ack)

    async def _authenticate(self) -> None:
        self._phase = OTAPhase.AUTH
        (request,) = await self._read(1, self._timeouts.handshake, "auth request")
        if request == p.RESPONSE_AUTH_OK:
            return
        if request == p.RESPONSE_REQUEST_SHA256_AUTH:
            hasher, nonce_len = hashlib.sha256, 64
        elif request == p.RESPONSE_REQUEST_MD5_AUTH:
            hasher, nonce_len = hashlib.md5, 32
        else:
            raise self._device_error(request)
        password = self._client.password_value()
        if password is None:
            raise self._error(OTAAuthError, "the device requires an OTA password; none is set")
        nonce = await self._read(nonce_len, self._timeouts.handshake, "auth nonce")
        cnonce = hasher(secrets.token_bytes(32)).hexdigest().encode()
        await self._send(cnonce)
        await self._send(hasher(password.encode() + nonce + cnonce).hexdigest().encode())
        await self._expect(p.RESPONSE_AUTH_OK, self._timeouts.handshake, "auth result")

    async def _send_data(self) -> None:
        image = memoryview(self._image)
        chunk_acks = self.version >= p.VERSION_2
        for start in range(0, len(image), p.BLOCK_SIZE):
            block = image[start : start + p.BLOCK_SIZE]
            await self._send(block)
            self._sent = start + len(block)
            self._progress.report(self._sent)
            if chunk_acks:
                await self._expect(p.RESPONSE_CHUNK_OK, self._timeouts.ack, "chunk ack")

    async def _finish(self) -> None:
        # The device reboots right after our final OK; its own final byte often never comes.
        try:
            await self._send(bytes((p.RESPONSE_OK,)))
            await self._read(1, self._timeouts.final_ack, "final ack")
        except OTANetworkError:
            _LOGGER.debug("%s: no final ack, the device is rebooting", self._client.target)

    async def _send(self, data: bytes | memoryview) -> None:
        writer = self._streams()[1]
        try:
            writer.write(data)
            async with asyncio.timeout(self._timeouts.ack):
                await writer.drain()
        except TimeoutError as err:
            raise self._error(OTATimeoutError, "the device stopped reading") from err
        except OSError as err:
            raise self._error(OTANetworkError, f"connection lost while sending: {err}") from err

    async def _read(self, size: int, limit: float, what: str) -> bytes:
        try:
            async with asyncio.timeout(limit):
                return await self._streams()[0].readexactly(size)
        except TimeoutError as err:
            raise self._error(OTATimeoutError, f"no {what} within {limit:g} s") from err
        except asyncio.IncompleteReadError as err:
            raise self._error(
                OTANetworkError, f"the device closed the connection while we waited for {what}"
            ) from err
        except OSError as err:
            raise self._error(
                OTANetworkError, f"connection lost waiting for {what}: {err}"
            ) from err

    async def _expect(self, expected: int, limit: float, what: str) -> None:
        (response,) = await self._read(1, limit, what)
        if response != expected:
            raise self._device_error(response, expected)

    def _device_error(self, code: int, expected: int | None = None) -> OTAError:
        if code == p.ERROR_AUTH_INVALID:
            return self._error(OTAAuthError, p.describe_code(code), code)
        if code in p.ERROR_MESSAGES:
            return self._error(OTADeviceError, p.describe_code(code), code)
        wanted = f" (expected 0x{expected:02x})" if expected is not None else ""
        return self._error(OTAProtocolError, f"unexpected response 0x{code:02x}{wanted}", code)

    async def _close(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        try:
            async with asyncio.timeout(self._timeouts.final_ack):
                await self._writer.wait_closed()
        except (OSError, TimeoutError):
            pass


class OTAClient:
    """Uploads application images to one ESPHome device's OTA port."""

    def __init__(
        self,
        host: str,
        port: int = p.DEFAULT_PORT,
        *,
        password: str | None = None,
        timeouts: OTATimeouts | None = None,
        retry: RetryPolicy | None = None,
        locks: OTASessionLocks | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeouts = timeouts or OTATimeouts()
        self.retry = retry or RetryPolicy()
        self._password = password or None
        self._locks = locks or DEFAULT_LOCKS

    @property
    def target(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port}"

    def password_value(self) -> str | None:
        """The OTA password (for the auth step only; never log it)."""
        return self._password

    def __repr__(self) -> str:
        password = "**REDACTED**" if self._password else None
        return f"OTAClient(host={self.host!r}, port={self.port}, password={password!r})"

    async def upload(
        self,
        image: bytes,
        *,
        progress: ProgressCallback | None = None,
        ota_type: int = p.OTA_TYPE_APP,
    ) -> OTAResult:
        """Send `image` to the device; raise an `OTAError` subclass on failure.

        Waits for any other upload to the same host:port in this process first.
        """
        if not 0 < len(image) <= MAX_IMAGE_SIZE:
            raise ValueError(f"image size {len(image)} is outside 1..{MAX_IMAGE_SIZE}")
        reporter = _MonotonicProgress(progress, len(image))
        async with self._locks.lock_for(self.host, self.port):
            started = time.monotonic()
            for attempt in range(1, self.retry.attempts + 1):
                session = _Session(self, image, reporter)
                try:
                    await session.run(ota_type)
                except OTAError as err:
                    err.attempts = attempt
                    if not err.retryable or attempt == self.retry.attempts:
                        raise
                    _LOGGER.warning(
                        "%s (attempt %d of %d), retrying in %g s",
                        err,
                        attempt,
                        self.retry.attempts,
                        self.retry.pause,
                    )
                    await asyncio.sleep(self.retry.pause)
                    continue
                reporter.report(len(image))
                return OTAResult(
                    total=len(image),
                    attempts=attempt,
                    protocol_version=session.version,
                    duration=time.monotonic() - started,
                    stages=session.stages,
                )
        raise AssertionError("unreachable: the last attempt returns or raises")
