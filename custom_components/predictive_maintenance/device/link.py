"""A long-lived native API connection to one ESPHome device."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from aioesphomeapi import ButtonInfo, DeviceInfo, EntityInfo, EntityState
from aioesphomeapi.client import APIClient
from aioesphomeapi.core import (
    APIConnectionError,
    EncryptionErrorAPIError,
    EncryptionPlaintextAPIError,
    InvalidAuthAPIError,
    InvalidEncryptionKeyAPIError,
    RequiresEncryptionAPIError,
)
from aioesphomeapi.reconnect_logic import ReconnectLogic
from zeroconf import Zeroconf
from zeroconf.asyncio import AsyncZeroconf

from .connection import api_connection_alive, release_torn_down_connection

type ZeroconfInstance = Zeroconf | AsyncZeroconf

_LOGGER = logging.getLogger(__name__)

CLIENT_INFO = "Home Assistant Predictive Maintenance"


class ConnectFailure(StrEnum):
    """Why a connection attempt failed, as far as the user can act on it."""

    CANNOT_CONNECT = "cannot_connect"
    INVALID_KEY = "invalid_key"
    REQUIRES_KEY = "requires_key"
    PLAINTEXT_ONLY = "plaintext_only"
    PASSWORD_REQUIRED = "password_required"

    @property
    def is_key_problem(self) -> bool:
        """Return whether only a new encryption key can fix this failure."""
        return self in _KEY_PROBLEMS


_KEY_PROBLEMS = frozenset(
    {ConnectFailure.INVALID_KEY, ConnectFailure.REQUIRES_KEY, ConnectFailure.PLAINTEXT_ONLY}
)


def classify_connect_error(err: BaseException) -> ConnectFailure:
    """Map an aioesphomeapi connect error to what it means for the user."""
    # A frame that fails to decrypt after a good handshake is line noise, not a wrong key,
    # even though aioesphomeapi derives it from InvalidEncryptionKeyAPIError.
    if isinstance(err, EncryptionErrorAPIError):
        return ConnectFailure.CANNOT_CONNECT
    if isinstance(err, InvalidEncryptionKeyAPIError):
        return ConnectFailure.INVALID_KEY
    if isinstance(err, RequiresEncryptionAPIError):
        return ConnectFailure.REQUIRES_KEY
    if isinstance(err, EncryptionPlaintextAPIError):
        return ConnectFailure.PLAINTEXT_ONLY
    if isinstance(err, InvalidAuthAPIError):
        return ConnectFailure.PASSWORD_REQUIRED
    return ConnectFailure.CANNOT_CONNECT


class LinkListener(Protocol):
    """Receives everything a DeviceLink learns; all calls run in the event loop."""

    def link_connected(self, device_info: DeviceInfo, entities: list[EntityInfo]) -> None:
        """Handle a completed connection (device info and entity list are fresh)."""

    def link_disconnected(self, expected: bool) -> None:
        """Handle a lost connection; expected is True when the device said goodbye."""

    def link_failed(self, failure: ConnectFailure, err: Exception) -> None:
        """Handle a failed connection attempt."""

    def link_state(self, state: EntityState) -> None:
        """Handle a state pushed by the device."""


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """Where and how to reach a device."""

    host: str
    port: int
    noise_psk: str | None = None


class DeviceNotConnectedError(Exception):
    """Raised when a command needs a connection that is not there."""


class UnknownCommandError(Exception):
    """Raised when the device has no entity for the requested command."""


class DeviceLink:
    """Keeps one APIClient connected through ReconnectLogic and reports to a listener."""

    def __init__(
        self,
        target: LinkTarget,
        listener: LinkListener,
        *,
        zeroconf_instance: ZeroconfInstance | None = None,
        device_name: str | None = None,
    ) -> None:
        """Prepare the link; nothing connects before start()."""
        self._target = target
        self._listener = listener
        self._zeroconf_instance = zeroconf_instance
        # ReconnectLogic only listens for mDNS announcements when it has a name, and an
        # mDNS listener without HA's shared zeroconf would start a private one.
        self._device_name = device_name if zeroconf_instance is not None else None
        self._client: APIClient | None = None
        self._reconnect: ReconnectLogic | None = None
        self._connected = False
        self._stopping = False
        self._buttons: dict[str, int] = {}

    @property
    def connected(self) -> bool:
        """Return whether the device is connected and subscribed."""
        return self._connected

    @property
    def target(self) -> LinkTarget:
        """Return where this link connects to."""
        return self._target

    async def start(self) -> None:
        """Start connecting in the background; returns at once, even if the device is down."""
        if self._reconnect is not None:
            return
        self._stopping = False
        self._client = APIClient(
            self._target.host,
            self._target.port,
            None,
            client_info=CLIENT_INFO,
            noise_psk=self._target.noise_psk or None,
            zeroconf_instance=self._zeroconf_instance,
        )
        self._reconnect = ReconnectLogic(
            client=self._client,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            on_connect_error=self._on_connect_error,
            zeroconf_instance=self._zeroconf_instance,
            name=self._device_name,
        )
        await self._reconnect.start()

    async def stop(self) -> None:
        """Stop reconnecting and close the connection; leaves no task or timer behind."""
        self._stopping = True
        reconnect, client = self._reconnect, self._client
        self._reconnect = None
        self._client = None
        if reconnect is not None:
            await reconnect.stop()
        if client is not None:
            if api_connection_alive(client):
                await client.disconnect()
            else:
                release_torn_down_connection(client)
        self._connected = False
        self._buttons = {}

    def press_button(self, object_id: str) -> None:
        """Press one of the device's buttons (e.g. restart, safe_mode)."""
        if self._client is None or not self._connected:
            raise DeviceNotConnectedError
        key = self._buttons.get(object_id)
        if key is None:
            raise UnknownCommandError(object_id)
        self._client.button_command(key)

    def has_button(self, object_id: str) -> bool:
        """Return whether the connected device offers a button with this object id."""
        return object_id in self._buttons

    async def _on_connect(self) -> None:
        client = self._client
        if client is None or self._stopping:
            return
        if not api_connection_alive(client):
            # The device said goodbye within the handshake (it is rebooting). Releasing
            # the connection makes ReconnectLogic see the disconnect and try again later.
            _LOGGER.debug("%s closed the connection during the handshake", self._target.host)
            release_torn_down_connection(client)
            return
        try:
            device_info = await client.device_info()
            entities, _services = await client.list_entities_services()
            client.subscribe_states(self._forward_state(client))
        except APIConnectionError as err:
            _LOGGER.debug("Setting up %s failed after connect: %s", self._target.host, err)
            if api_connection_alive(client):
                await client.disconnect()
            else:
                release_torn_down_connection(client)
            return
        self._buttons = {
            info.object_id: info.key for info in entities if isinstance(info, ButtonInfo)
        }
        self._connected = True
        self._listener.link_connected(device_info, entities)

    def _forward_state(self, client: APIClient) -> Callable[[EntityState], None]:
        def forward(state: EntityState) -> None:
            # States still in flight from a client we already dropped are ignored.
            if client is self._client and not self._stopping:
                self._listener.link_state(state)

        return forward

    async def _on_disconnect(self, expected: bool) -> None:
        was_connected = self._connected
        self._connected = False
        if was_connected and not self._stopping:
            self._listener.link_disconnected(expected)

    async def _on_connect_error(self, err: Exception) -> None:
        if self._stopping:
            return
        self._listener.link_failed(classify_connect_error(err), err)
