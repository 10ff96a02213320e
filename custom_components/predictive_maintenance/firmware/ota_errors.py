"""Errors of an OTA upload: which phase failed, at which byte, with which device code."""

from __future__ import annotations

from enum import StrEnum


class OTAPhase(StrEnum):
    """Steps of an ESPHome OTA session, in order."""

    CONNECT = "connect"
    HANDSHAKE = "handshake"
    AUTH = "auth"
    PREPARE = "prepare"
    MD5 = "md5"
    DATA = "data"
    END = "end"


class OTAError(Exception):
    """An upload failed. Not retried unless it is an `OTANetworkError`.

    `offset` is the number of image bytes handed to the connection when it failed,
    `total` the image size, `code` the device's response byte if it sent one and
    `attempts` how many sessions were tried.
    """

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        phase: OTAPhase,
        offset: int = 0,
        total: int = 0,
        code: int | None = None,
        target: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.phase = phase
        self.offset = offset
        self.total = total
        self.code = code
        self.target = target
        self.attempts = 1

    def __str__(self) -> str:
        where = f" on {self.target}" if self.target else ""
        text = f"OTA {self.phase.value} phase failed{where}: {self.message}"
        if self.phase is OTAPhase.DATA or self.offset:
            text += f" (at byte {self.offset:,} of {self.total:,})"
        if self.code is not None:
            text += f" [device code 0x{self.code:02x}]"
        if self.attempts > 1:
            text += f" after {self.attempts} attempts"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, phase={self.phase.value!r}, "
            f"offset={self.offset}, total={self.total}, code={self.code!r})"
        )


class OTAAuthError(OTAError):
    """The device wants a password we lack, or refused ours. Never retried."""


class OTADeviceError(OTAError):
    """The device answered with an error code (flash, size, md5, ...)."""


class OTAProtocolError(OTAError):
    """The device sent a byte the protocol does not allow at this point."""


class OTANetworkError(OTAError):
    """Connection refused, reset or closed by the peer: worth another attempt."""

    retryable = True


class OTATimeoutError(OTANetworkError):
    """The device went silent for longer than the configured timeout."""
