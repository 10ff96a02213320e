"""Connection handling for one simulated device: listening socket, client sessions, dispatch.

The server knows the native API's request/response rules; what the device answers comes from
a `DeviceBackend` (the simulated device).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Protocol

from . import messages as m
from .protocol import MessageTransport, ProtocolError, negotiate

_LOGGER = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 60.0
# The firmware drops a client after 2.5 ping intervals of silence.
KEEPALIVE_DROP_FACTOR = 2.5
GRACEFUL_CLOSE_TIMEOUT = 1.0


class DeviceBackend(Protocol):
    """What a session needs from the device it belongs to."""

    @property
    def name(self) -> str: ...

    @property
    def mac(self) -> str: ...

    @property
    def noise_psk(self) -> str | None: ...

    @property
    def ping_interval(self) -> float: ...

    def hello_response(self) -> m.Message: ...

    def device_info(self) -> m.Message: ...

    def list_entities(self) -> list[m.Message]: ...

    def state_messages(self) -> list[m.Message]: ...

    def password_ok(self, password: str) -> bool: ...

    def on_button(self, key: int) -> None: ...

    def on_switch(self, key: int, state: bool) -> None: ...

    def on_sessions_changed(self) -> None: ...


_PARSED = frozenset(
    (m.HELLO_REQUEST, m.AUTH_REQUEST, m.BUTTON_COMMAND_REQUEST, m.SWITCH_COMMAND_REQUEST)
)


class Session:
    """One API client connection."""

    def __init__(
        self,
        server: APIServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self._server = server
        self._reader = reader
        self._writer = writer
        self._transport: MessageTransport | None = None
        self._loop = asyncio.get_running_loop()
        self._last_rx = self._loop.time()
        self.hello_done = False
        self.subscribed = False
        self.client_info = ""

    @property
    def backend(self) -> DeviceBackend:
        return self._server.backend

    def send(self, messages: Iterable[m.Message]) -> None:
        transport = self._transport
        if transport is None or self._writer.is_closing():
            return
        data = b"".join(
            transport.encode_message(m.message_type(msg), msg.SerializeToString())
            for msg in messages
        )
        self._writer.write(data)

    def abort(self) -> None:
        """Drop the TCP connection at once (reset), like a crashing or vanishing device."""
        self._writer.transport.abort()

    async def run(self) -> None:
        keepalive: asyncio.Task[None] | None = None
        try:
            backend = self.backend
            async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                self._transport = await negotiate(
                    self._reader,
                    self._writer,
                    noise_psk=backend.noise_psk,
                    name=backend.name,
                    mac=backend.mac,
                )
            if self._transport is None:
                self._server.handshake_failures += 1
                return
            keepalive = asyncio.create_task(self._keepalive())
            while True:
                msg_type, payload = await self._transport.read_message()
                self._last_rx = self._loop.time()
                if not self._dispatch(msg_type, payload):
                    await self._writer.drain()
                    return
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            ProtocolError,
            TimeoutError,
            m.MessageDecodeError,
        ):
            pass
        except Exception:
            _LOGGER.exception("%s: session failed", self.backend.name)
        finally:
            if keepalive is not None:
                keepalive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keepalive
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()

    async def _keepalive(self) -> None:
        interval = self.backend.ping_interval
        ping_at: float | None = None
        while True:
            now = self._loop.time()
            idle = now - self._last_rx
            if idle >= interval * KEEPALIVE_DROP_FACTOR:
                self.abort()
                return
            outstanding = ping_at is not None and ping_at >= self._last_rx
            if idle >= interval and not outstanding:
                self.send([m.make("PingRequest")])
                ping_at = now
                outstanding = True
            wait = interval * KEEPALIVE_DROP_FACTOR if outstanding else interval
            await asyncio.sleep(max(0.01, self._last_rx + wait - now))

    def _dispatch(self, msg_type: int, payload: bytes) -> bool:
        """Answer one request; False when the session should end."""
        backend = self.backend
        # Only requests that carry fields we read are parsed; others may be of any version.
        msg: m.Message = m.decode(msg_type, payload) if msg_type in _PARSED else None
        if msg_type == m.HELLO_REQUEST:
            self.client_info = msg.client_info
            self.send([backend.hello_response()])
            self.hello_done = True
            backend.on_sessions_changed()
        elif msg_type == m.AUTH_REQUEST:
            # 29.x clients wait for this answer; newer ones only look at invalid_password.
            valid = backend.password_ok(msg.password)
            self.send([m.make(m.AUTH_RESPONSE, invalid_password=not valid)])
            if not valid:
                return False
        elif msg_type == m.DISCONNECT_REQUEST:
            self.send([m.make("DisconnectResponse")])
            return False
        elif msg_type == m.DISCONNECT_RESPONSE:
            return False
        elif msg_type == m.PING_REQUEST:
            self.send([m.make("PingResponse")])
            self._server.pings_received += 1
            backend.on_sessions_changed()
        elif msg_type == m.PING_RESPONSE:
            self._server.pongs_received += 1
            backend.on_sessions_changed()
        elif msg_type == m.DEVICE_INFO_REQUEST:
            self.send([backend.device_info()])
        elif msg_type == m.LIST_ENTITIES_REQUEST:
            self.send([*backend.list_entities(), m.make("ListEntitiesDoneResponse")])
        elif msg_type == m.SUBSCRIBE_STATES_REQUEST:
            self.subscribed = True
            self.send(backend.state_messages())
            backend.on_sessions_changed()
        elif msg_type == m.BUTTON_COMMAND_REQUEST:
            backend.on_button(msg.key)
        elif msg_type == m.SWITCH_COMMAND_REQUEST:
            backend.on_switch(msg.key, msg.state)
        # Anything else (logs, HA services, time, ...) is ignored, as the firmware does.
        return True


class APIServer:
    """Listening socket plus the sessions of one device; at most `max_connections` clients."""

    def __init__(self, backend: DeviceBackend, host: str, max_connections: int) -> None:
        self.backend = backend
        self.host = host
        self.max_connections = max_connections
        self.port = 0
        self.connection_attempts = 0
        self.handshake_failures = 0
        self.pongs_received = 0
        self.pings_received = 0
        self._server: asyncio.Server | None = None
        self._sessions: dict[asyncio.Task[None], Session] = {}

    @property
    def listening(self) -> bool:
        return self._server is not None

    @property
    def sessions(self) -> list[Session]:
        return list(self._sessions.values())

    async def listen(self, port: int) -> int:
        """Start accepting on `port` (0 = ephemeral); returns the bound port."""
        if self._server is None:
            self._server = await asyncio.start_server(
                self._on_connect, self.host, port, reuse_address=True
            )
            self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def stop_listening(self) -> None:
        """Close the listening socket: new connections are refused from now on."""
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def broadcast(self, messages: list[m.Message]) -> None:
        """Send to every client that subscribed to states."""
        for session in self._sessions.values():
            if session.subscribed:
                session.send(messages)

    def abort_sessions(self) -> None:
        for session in self._sessions.values():
            session.abort()

    async def disconnect_sessions(self, *, graceful: bool) -> None:
        """End every session: DisconnectRequest first when graceful, else a TCP reset."""
        if graceful:
            for session in self._sessions.values():
                session.send([m.make("DisconnectRequest")])
            await self._wait_sessions(GRACEFUL_CLOSE_TIMEOUT)
        self.abort_sessions()
        await self._wait_sessions(None)

    async def close(self) -> None:
        """Stop listening and drop all clients; returns once no session task is left."""
        self.stop_listening()
        await self.disconnect_sessions(graceful=False)

    async def _wait_sessions(self, limit: float | None) -> None:
        current = asyncio.current_task()
        tasks = [task for task in self._sessions if task is not current]
        if tasks:
            await asyncio.wait(tasks, timeout=limit)

    def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback (not a coroutine) so the session task is tracked from its creation.
        self.connection_attempts += 1
        if len(self._sessions) >= self.max_connections:
            writer.transport.abort()  # accept-and-close, as api_server.cpp does
            return
        session = Session(self, reader, writer)
        task = asyncio.get_running_loop().create_task(session.run())
        self._sessions[task] = session
        task.add_done_callback(self._on_session_done)

    def _on_session_done(self, task: asyncio.Task[None]) -> None:
        session = self._sessions.pop(task, None)
        if session is not None and session.hello_done:
            self.backend.on_sessions_changed()
