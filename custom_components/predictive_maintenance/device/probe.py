"""One-shot connection to an ESPHome device to learn who it is.

The config flow uses this to test what the user entered (host, port, API encryption key)
before it creates or updates an entry. It opens one native API connection, reads
DeviceInfo and closes the connection again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from dataclasses import dataclass
from typing import Final

from aioesphomeapi.client import APIClient
from aioesphomeapi.core import (
    APIConnectionError,
    EncryptionErrorAPIError,
    EncryptionPlaintextAPIError,
    InvalidAuthAPIError,
    InvalidEncryptionKeyAPIError,
    RequiresEncryptionAPIError,
)

from .connection import api_connection_alive, release_torn_down_connection

_LOGGER = logging.getLogger(__name__)

PROBE_TIMEOUT: Final = 15.0
NOISE_PSK_LENGTH: Final = 32
CLIENT_INFO: Final = "Home Assistant Predictive Maintenance"


class DeviceProbeError(Exception):
    """The device could not be identified."""


class CannotConnectError(DeviceProbeError):
    """Nothing answered, or the connection broke before DeviceInfo arrived."""


class RequiresKeyError(DeviceProbeError):
    """The device uses API encryption and no key was given."""


class InvalidKeyError(DeviceProbeError):
    """The key is malformed or the device rejected it."""


class PasswordNotSupportedError(DeviceProbeError):
    """The device still uses the legacy API password (removed in ESPHome 2026.1)."""


class DeviceNotEncryptedError(InvalidKeyError):
    """A key was given but the device speaks plaintext.

    A subclass of InvalidKeyError because the key does not work with this device; callers
    that care can tell the user to leave the key empty instead of asking for another key.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceIdentity:
    """What a device says about itself."""

    mac: str
    name: str
    friendly_name: str
    model: str
    manufacturer: str
    esphome_version: str
    project_name: str
    project_version: str
    uses_encryption: bool

    @property
    def title(self) -> str:
        """Return the name to show to people."""
        return self.friendly_name or self.name or self.mac


def normalize_noise_psk(value: str | None) -> str | None:
    """Return the key as the device expects it, or None for "no encryption".

    Keys are often copied straight out of the device's YAML, quotes and all.
    """
    if value is None:
        return None
    cleaned = value.strip().strip("\"'").strip()
    return cleaned or None


def is_valid_noise_psk(value: str) -> bool:
    """Return whether value is base64 for exactly 32 bytes."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == NOISE_PSK_LENGTH


def normalize_mac(mac: str) -> str:
    """Return a MAC as uppercase hex pairs joined by colons."""
    digits = "".join(ch for ch in mac if ch.isalnum()).upper()
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


async def async_probe_device(
    host: str,
    port: int,
    noise_psk: str | None,
) -> DeviceIdentity:
    """Connect to the device, read its DeviceInfo and disconnect.

    Raises CannotConnectError, RequiresKeyError, InvalidKeyError (DeviceNotEncryptedError
    when a key was given to a plaintext device) or PasswordNotSupportedError.
    """
    psk = normalize_noise_psk(noise_psk)
    if psk is not None and not is_valid_noise_psk(psk):
        raise InvalidKeyError("The encryption key is not base64 for 32 bytes")

    # APIClient looks up the running loop in its constructor, so it is built here.
    client = APIClient(host, port, None, client_info=CLIENT_INFO, noise_psk=psk)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            await client.connect(login=False)
            if not api_connection_alive(client):
                raise CannotConnectError(f"{host}:{port} closed the connection during setup")
            info = await client.device_info()
    except RequiresEncryptionAPIError as err:
        raise RequiresKeyError(str(err)) from err
    except EncryptionPlaintextAPIError as err:
        raise DeviceNotEncryptedError(str(err)) from err
    except EncryptionErrorAPIError as err:
        # A frame that fails to decrypt after a good handshake is a broken link, not a bad
        # key, although aioesphomeapi derives it from InvalidEncryptionKeyAPIError.
        raise CannotConnectError(str(err)) from err
    except InvalidEncryptionKeyAPIError as err:
        raise InvalidKeyError(str(err)) from err
    except InvalidAuthAPIError as err:
        raise PasswordNotSupportedError(str(err)) from err
    except TimeoutError as err:
        # aioesphomeapi 29.x turns the timeout's cancellation into APIConnectionCancelledError,
        # handled below; newer versions let it surface as TimeoutError here.
        _LOGGER.debug("Timed out probing %s:%s", host, port)
        raise CannotConnectError(f"No answer from {host}:{port} within {PROBE_TIMEOUT} s") from err
    except (APIConnectionError, OSError) as err:
        _LOGGER.debug("Cannot connect to %s:%s: %s", host, port, err)
        raise CannotConnectError(str(err)) from err
    finally:
        # Saying goodbye on a torn-down connection would hit the same crash.
        if api_connection_alive(client):
            await client.disconnect(force=True)
        else:
            release_torn_down_connection(client)

    # Reading DeviceInfo works without the password, but every later connection would fail.
    if info.uses_password:
        raise PasswordNotSupportedError(f"{host}:{port} uses an API password")

    return DeviceIdentity(
        mac=normalize_mac(info.mac_address),
        name=info.name,
        friendly_name=info.friendly_name,
        model=info.model,
        manufacturer=info.manufacturer,
        esphome_version=info.esphome_version,
        project_name=info.project_name,
        project_version=info.project_version,
        uses_encryption=psk is not None,
    )
