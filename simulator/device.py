"""A simulated ESP32 running ESPHome: identity, clock, boot cycle, entities, OTA and control API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple

from . import messages as m
from .entities import (
    BUTTONS,
    METRICS,
    RESET_REASON,
    SAFE_MODE_BUTTON,
    SENSORS,
    TEXT_SENSORS,
    SensorSpec,
    SwitchSpec,
    extra_sensor,
    fnv1_hash,
)
from .firmware_images import BootOutcome, FirmwareSlots, SlotImage, build_image, verify_image
from .ota import (
    DEFAULT_DATA_TIMEOUT,
    ERROR_UPDATE_END,
    OTAAuth,
    OTAFaults,
    OTAServer,
    OTASessionRecord,
    ReceivedImage,
)
from .protocol import decode_psk
from .replay import ReplayTrace, as_trace
from .scenarios import (
    REASON_EXCEPTION,
    REASON_POWER_ON,
    REASON_SOFTWARE_RESTART,
    make_scenario,
)
from .server import APIServer

_LOGGER = logging.getLogger(__name__)

API_VERSION = (1, 10)
DEFAULT_TIMEOUT = 10.0
DEFAULT_FIRMWARE_SIZE = 65_536  # the running image; small so that devices start fast


class FirmwareEvent(NamedTuple):
    """A change of the running image: flashed over the air, or rolled back by the bootloader."""

    sim_time: float
    version: str
    how: Literal["flash", "rollback"]


@dataclass(kw_only=True)
class DeviceConfig:
    """Everything that defines one simulated device. All times in seconds."""

    name: str = "esp-sim"
    friendly_name: str = ""  # empty: same as name
    mac: str = "02:00:00:00:00:01"
    host: str = "127.0.0.1"
    port: int = 0  # 0 = ephemeral; the bound port is dev.port after start()
    noise_psk: str | None = None  # base64 32-byte key, None = plaintext
    password: str | None = None  # legacy API password (AuthenticationResponse), None = none
    scenario: str = "healthy"
    seed: int = 0
    push_interval: float | None = 1.0  # real s between pushes; None = only push_states()
    time_scale: float = 1.0  # simulated s per real s; 0 = time moves only with advance()
    project_name: str = "acme.env_sensor"
    project_version: str = "1.0.0"
    esphome_version: str = "2025.4.0"
    compilation_time: str = "Apr 16 2025, 10:00:00"
    model: str = "esp32dev"
    manufacturer: str = "Espressif"
    reboot_delay: float = 3.0  # real s the device refuses connections while rebooting
    replay: Mapping[str, Path | str | ReplayTrace] = field(default_factory=dict)
    switches: tuple[str, ...] = ()  # object_ids of extra switch entities
    max_connections: int = 5
    ping_interval: float = 60.0  # device pings a client silent this long, drops it at 2.5x
    # api reboot_timeout: simulated s without any API client before the device reboots itself
    # (ESPHome's default is 900; None = never, the simulator default so tests stay quiet)
    reboot_timeout: float | None = None
    initial_uptime: float = 0.0  # simulated uptime at first start
    initial_reset_reason: str = REASON_POWER_ON
    # OTA (`ota: platform: esphome`) and app rollback (`safe_mode`), see simulator/README.md.
    ota_port: int | None = 0  # 0 = ephemeral (real port in dev.ota_port), None = no OTA server
    ota_password: str | None = None
    ota_auth: OTAAuth | str = OTAAuth.SHA256
    ota_data_timeout: float = DEFAULT_DATA_TIMEOUT  # real s without data before a session drops
    ota_faults: OTAFaults | None = None
    boot_is_good_after: float = 60.0  # simulated s after boot until a new image is marked valid
    boot_is_good_on_shutdown: bool = False  # an orderly restart marks a pending image valid
    bad_image_crash_after: float = 5.0  # simulated s after boot a crash-loop image resets
    chip_family: str = "ESP32"  # images for another chip are refused (0x84)
    firmware_size: int = DEFAULT_FIRMWARE_SIZE  # bytes of the image the device starts with


def _initial_image(config: DeviceConfig) -> SlotImage:
    """The image the device was flashed with by cable: a real one, built from its config."""
    date, _, clock = config.compilation_time.partition(", ")
    try:
        data = build_image(
            project_name=config.project_name,
            version=config.project_version,
            chip_family=config.chip_family,
            size=config.firmware_size,
            compile_date=date,
            compile_time=clock,
            esphome_version=config.esphome_version,
        )
    except ValueError:  # strings that do not fit the image's fixed-size fields
        data = build_image(
            project_name=config.project_name,
            version=config.project_version,
            chip_family=config.chip_family,
            size=config.firmware_size,
        )
    return replace(
        SlotImage.from_bytes(data),
        compilation_time=config.compilation_time,
        esphome_version=config.esphome_version,
    )


class SimulatedDevice:
    """One simulated ESP32 speaking the ESPHome native API on 127.0.0.1.

    The device keeps a simulated clock that runs at `time_scale` while started and jumps with
    `advance()`. Sensor values are a pure function of the scenario, seed, boot index, uptime
    and time since the scenario was set. Power state (running / rebooting / stopped) and network
    state (online / offline) are separate: a device that is offline keeps running and can crash.
    """

    def __init__(self, config: DeviceConfig) -> None:
        if config.noise_psk is not None:
            decode_psk(config.noise_psk)
        self.config = config
        self._mac = config.mac.upper()
        self._noise_psk = config.noise_psk
        self._server = APIServer(self, config.host, config.max_connections)
        self._traces = {metric: as_trace(src) for metric, src in config.replay.items()}
        self._scenario = make_scenario(config.scenario, config.seed, self._traces or None)
        self._sensors: tuple[SensorSpec, ...] = SENSORS + tuple(
            extra_sensor(metric) for metric in self._traces if metric not in METRICS
        )
        self._all_sensors = self._sensors
        self._switches = {
            fnv1_hash(oid): SwitchSpec(object_id=oid, name=oid.replace("_", " ").title())
            for oid in config.switches
        }
        self.switch_states: dict[str, bool] = dict.fromkeys(config.switches, False)
        self.button_presses: list[str] = []
        self.switch_commands: list[tuple[str, bool]] = []
        self.reboots: list[str] = []  # reset reason of every reboot since construction
        self.in_safe_mode = False
        self._overrides: dict[str, float] = {}
        self._boot_overrides: dict[str, float] = {}  # pins a reboot clears (a curable fault)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock_base = 0.0  # simulated seconds at _clock_origin
        self._clock_origin = 0.0  # loop time when the clock last started running
        self._boot_index = 0
        self._boot_time = -config.initial_uptime
        self._scenario_start = 0.0
        self._reset_reason = config.initial_reset_reason
        self._power = "stopped"  # running | rebooting | stopped
        self._network_up = True
        self._pending_safe_mode = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._push_task: asyncio.Task[None] | None = None
        self._crash_timer: asyncio.TimerHandle | None = None
        self._idle_since: float | None = 0.0  # sim time the last client left
        self._changed = asyncio.Event()
        self.slots = FirmwareSlots(
            _initial_image(config),
            boot_is_good_after=config.boot_is_good_after,
            crash_after=config.bad_image_crash_after,
            boot_is_good_on_shutdown=config.boot_is_good_on_shutdown,
            boot_time=self._boot_time,
        )
        self.firmware_history: list[FirmwareEvent] = []
        # Decided when the device resets, applied when it has booted (None: no boot pending).
        self._boot_outcome: BootOutcome | None = None
        self._listen_lock = asyncio.Lock()  # a boot and come_back() may both open the ports
        self._ota: OTAServer | None = None
        if config.ota_port is not None:
            self._ota = OTAServer(
                host=config.host,
                port=config.ota_port,
                password=config.ota_password,
                auth=OTAAuth(config.ota_auth),
                data_timeout=config.ota_data_timeout,
                faults=config.ota_faults,
                on_image=self._on_ota_image,
                check_image=self._check_ota_image,
                on_change=self._notify,
            )

    # Identity and state, read by tests and by the server.

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def mac(self) -> str:
        return self._mac

    @property
    def noise_psk(self) -> str | None:
        return self._noise_psk

    @property
    def ping_interval(self) -> float:
        return self.config.ping_interval

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def port(self) -> int:
        return self._server.port or self.config.port

    @property
    def ota_port(self) -> int | None:
        """The OTA port (the real one once started with ota_port 0); None without OTA."""
        return None if self._ota is None else self._ota.port

    @property
    def ota_server(self) -> OTAServer | None:
        """The device's OTA endpoint (sessions, images, overlap counter), None without OTA."""
        return self._ota

    @property
    def ota_busy(self) -> bool:
        """True while an OTA session runs (the device then pushes no state updates)."""
        return self._ota is not None and self._ota.busy

    @property
    def ota_sessions(self) -> list[OTASessionRecord]:
        """Every OTA session the device has seen, oldest first."""
        return [] if self._ota is None else list(self._ota.sessions)

    @property
    def firmware_version(self) -> str:
        """project_version of the running image (what DeviceInfo reports)."""
        return self.config.project_version

    @property
    def firmware_image(self) -> SlotImage:
        """The running image."""
        return self.slots.running

    @property
    def firmware_pending_verify(self) -> bool:
        """True while a freshly flashed image runs and has not been marked valid yet."""
        if self._power == "running":
            self.slots.update(self.sim_time)
        return self.slots.pending_verify

    @property
    def scenario(self) -> str:
        return self._scenario.name

    @property
    def is_online(self) -> bool:
        """True while the API port accepts connections."""
        return self._server.listening

    @property
    def is_rebooting(self) -> bool:
        return self._power == "rebooting"

    @property
    def client_count(self) -> int:
        """Connected API clients (Hello done)."""
        return sum(1 for session in self._server.sessions if session.hello_done)

    @property
    def subscriber_count(self) -> int:
        return sum(1 for session in self._server.sessions if session.subscribed)

    @property
    def connection_attempts(self) -> int:
        """TCP connections accepted so far (including rejected handshakes and over-limit)."""
        return self._server.connection_attempts

    @property
    def handshake_failures(self) -> int:
        """Connections ended by a key or encryption mismatch."""
        return self._server.handshake_failures

    @property
    def pings_received(self) -> int:
        """PingRequests from clients (their keepalive), each answered with a PingResponse."""
        return self._server.pings_received

    @property
    def pongs_received(self) -> int:
        """PingResponses from clients to the device's keepalive pings."""
        return self._server.pongs_received

    @property
    def boot_count(self) -> int:
        """Reboots since construction (restart, crash, scenario crash)."""
        return self._boot_index

    @property
    def sim_time(self) -> float:
        """Simulated seconds since the device was created."""
        if self._power == "stopped" or self._loop is None:
            return self._clock_base
        return self._clock_base + (self._loop.time() - self._clock_origin) * self.config.time_scale

    @property
    def uptime(self) -> float:
        if self._power == "rebooting":
            return 0.0
        return max(0.0, self.sim_time - self._boot_time)

    @property
    def reset_reason(self) -> str:
        return self._reset_reason

    @property
    def values(self) -> dict[str, float]:
        """Current value of every numeric sensor, by metric name."""
        now = self.sim_time
        uptime = self.uptime
        values = self._scenario.values(now - self._scenario_start, uptime, self._boot_index)
        values.update(self._overrides)
        values.update(self._boot_overrides)
        return values

    # Control API.

    async def start(self) -> None:
        """Power on and start listening; uptime continues from `initial_uptime`."""
        if self._power != "stopped":
            return
        self._loop = asyncio.get_running_loop()
        self._clock_origin = self._loop.time()
        self._power = "running"
        if self._boot_outcome is not None:  # stopped while rebooting: the boot ends now
            self._boot_time = self.sim_time
            self._apply_boot(self._boot_time)
        if self._network_up:
            await self._listen()
        self._schedule_crash()
        if self.config.push_interval is not None:
            self._push_task = self._spawn(self._push_loop(self.config.push_interval))
        self._notify()

    async def stop(self) -> None:
        """Power off: close the server and clients; no task or timer is left behind."""
        if self._power == "stopped":
            return
        self._clock_base = self.sim_time
        self._power = "stopped"
        self._cancel_crash_timer()
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        await self._server.close()
        if self._ota is not None:
            await self._ota.stop()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._push_task = None
        self._notify()

    async def push_states(self) -> None:
        """Send the current value of every entity to every subscribed client."""
        self._server.broadcast(self.state_messages())
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward, playing every crash or reboot that falls due.

        A reboot while no client is connected happens unseen, in the past (the device stays
        reachable, uptime counts from that moment). With clients connected the first one
        plays out for real: connections reset, `reboot_delay` real seconds of refusal, and
        the rest of the advanced time passes while the device boots.
        """
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self.sim_time + seconds
        while self._power == "running":
            event = self._next_event()
            if event is None or event[0] > target:
                break
            due, reason = event
            self._clock_base += max(0.0, due - self.sim_time)
            if self.client_count:
                self._crash_now(reason)
                break
            self._reboot_unseen(reason, max(due, self._boot_time))
        self._clock_base += max(0.0, target - self.sim_time)
        self._schedule_crash()

    async def restart(
        self,
        reason: str = REASON_SOFTWARE_RESTART,
        *,
        safe_mode: bool = False,
        wait: bool = False,
    ) -> None:
        """Reboot like `App.safe_reboot()`: DisconnectRequest to every client, then down.

        Returns once the device is down (refusing connections); it comes back after
        `reboot_delay` with uptime 0 and `reason`. `wait=True` returns once it is back.
        """
        if self._power != "running":
            return
        self._pending_safe_mode = safe_mode
        self._power = "rebooting"
        self._cancel_crash_timer()
        self._stop_listening()
        self._mark_reboot(reason, orderly=True)
        await self._server.disconnect_sessions(graceful=True)
        self._spawn(self._finish_boot())
        if wait:
            await self.wait_online()

    async def crash(self, reason: str = REASON_EXCEPTION, *, wait: bool = False) -> None:
        """Crash: connections reset without DisconnectRequest, back after `reboot_delay`."""
        if self._power != "running":
            return
        self._crash_now(reason)
        await asyncio.sleep(0)
        if wait:
            await self.wait_online()

    async def power_cycle(self, *, wait: bool = False) -> None:
        """Pull the plug and plug it back in: like `crash()`, with reset reason "Power on".

        A new image that has not been marked valid yet is rolled back by the bootloader.
        """
        if self._power != "running":
            return
        self._crash_now(REASON_POWER_ON)
        await asyncio.sleep(0)
        if wait:
            await self.wait_online()

    async def go_offline(self) -> None:
        """Drop off the network: clients and OTA cut off (no DisconnectRequest), ports closed."""
        self._network_up = False
        self._stop_listening()
        await self._server.disconnect_sessions(graceful=False)
        self._notify()

    async def come_back(self) -> None:
        """Back on the network; listens again unless the device is rebooting or stopped."""
        self._network_up = True
        if self._power == "running":
            await self._listen()
        self._notify()

    def set_noise_psk(self, noise_psk: str | None) -> None:
        """New API key (None = plaintext) for connections from now on; sessions keep theirs."""
        if noise_psk is not None:
            decode_psk(noise_psk)
        self._noise_psk = noise_psk

    def set_mac(self, mac: str) -> None:
        """A different board answering at the same address (for new connections)."""
        self._mac = mac.upper()

    def set_firmware(
        self,
        *,
        project_version: str | None = None,
        esphome_version: str | None = None,
        compilation_time: str | None = None,
        project_name: str | None = None,
    ) -> None:
        """What DeviceInfo reports from now on, e.g. after an OTA flash or a rollback."""
        cfg = self.config
        cfg.project_version = project_version or cfg.project_version
        cfg.esphome_version = esphome_version or cfg.esphome_version
        cfg.compilation_time = compilation_time or cfg.compilation_time
        cfg.project_name = project_name or cfg.project_name
        self.slots.running = replace(
            self.slots.running,
            project_name=cfg.project_name,
            version=cfg.project_version,
            compilation_time=cfg.compilation_time,
            esphome_version=cfg.esphome_version,
        )

    def set_ota_faults(self, faults: OTAFaults | None) -> None:
        """Scripted OTA failures for the next sessions (None: none)."""
        self._require_ota().faults = faults or OTAFaults()

    def set_ota_password(self, password: str | None) -> None:
        """New OTA password (None: no auth) for sessions from now on."""
        self._require_ota().set_password(password)

    def set_scenario(self, name: str) -> None:
        """Switch scenario; its drift starts from now, the current boot continues."""
        self._scenario = make_scenario(name, self.config.seed, self._traces or None)
        self._scenario_start = self.sim_time
        self._schedule_crash()

    def set_value(self, metric: str, value: float | None, *, until_reboot: bool = False) -> None:
        """Pin a sensor to a value (e.g. NaN, a -127 dBm sentinel); None hands it back.

        A pin survives reboots (a fault a restart does not cure, e.g. a leak that resumes
        at once) unless `until_reboot`: then the next reboot of any kind clears it.
        """
        if value is None:
            self._overrides.pop(metric, None)
            self._boot_overrides.pop(metric, None)
        elif until_reboot:
            self._boot_overrides[metric] = value
        else:
            self._overrides[metric] = value

    def set_sensors(self, object_ids: Iterable[str] | None) -> None:
        """Offer only these sensors from the next connection on (a YAML without `debug:`,
        `wifi_signal`, ...); None = all of them again."""
        wanted = None if object_ids is None else set(object_ids)
        self._sensors = tuple(
            sensor for sensor in self._all_sensors if wanted is None or sensor.object_id in wanted
        )

    async def wait_for_clients(self, n: int, timeout: float = DEFAULT_TIMEOUT) -> None:  # noqa: ASYNC109
        """Wait until at least `n` clients are connected (for n == 0: until none is)."""
        if n == 0:
            await self.wait_for(lambda: self.client_count == 0, timeout)
        else:
            await self.wait_for(lambda: self.client_count >= n, timeout)

    async def wait_for_subscribers(self, n: int, timeout: float = DEFAULT_TIMEOUT) -> None:  # noqa: ASYNC109
        """Wait until at least `n` clients subscribed to states."""
        await self.wait_for(lambda: self.subscriber_count >= n, timeout)

    async def wait_online(self, timeout: float = DEFAULT_TIMEOUT) -> None:  # noqa: ASYNC109
        await self.wait_for(lambda: self.is_online, timeout)

    async def wait_for_version(self, version: str, timeout: float = DEFAULT_TIMEOUT) -> None:  # noqa: ASYNC109
        """Wait until the device has booted `version` (and listens again, if on the network)."""
        await self.wait_for(
            lambda: (
                self.firmware_version == version
                and self._power == "running"
                and (self.is_online or not self._network_up)
            ),
            timeout,
        )

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> None:
        """Wait until `predicate()` holds, re-checked whenever the device's state changes.

        Raises TimeoutError after `timeout` seconds.
        """
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    # Backend for the API server.

    def hello_response(self) -> m.Message:
        return m.make(
            "HelloResponse",
            api_version_major=API_VERSION[0],
            api_version_minor=API_VERSION[1],
            server_info=f"{self.name} (esphome v{self.config.esphome_version})",
            name=self.name,
        )

    def device_info(self) -> m.Message:
        cfg = self.config
        return m.make(
            "DeviceInfoResponse",
            uses_password=cfg.password is not None,
            name=cfg.name,
            friendly_name=cfg.friendly_name or cfg.name,
            mac_address=self._mac,
            esphome_version=cfg.esphome_version,
            compilation_time=cfg.compilation_time,
            model=cfg.model,
            manufacturer=cfg.manufacturer,
            has_deep_sleep=False,
            project_name=cfg.project_name,
            project_version=cfg.project_version,
            api_encryption_supported=self._noise_psk is not None,
        )

    def list_entities(self) -> list[m.Message]:
        out: list[m.Message] = []
        for sensor in self._sensors:
            out.append(
                m.make(
                    "ListEntitiesSensorResponse",
                    object_id=sensor.object_id,
                    key=sensor.key,
                    name=sensor.name,
                    unique_id=f"{self.name}sensor{sensor.object_id}",
                    icon=sensor.icon,
                    unit_of_measurement=sensor.unit,
                    accuracy_decimals=sensor.accuracy_decimals,
                    device_class=sensor.device_class,
                    state_class=int(sensor.state_class),
                    entity_category=int(sensor.entity_category),
                )
            )
        for text in TEXT_SENSORS:
            out.append(
                m.make(
                    "ListEntitiesTextSensorResponse",
                    object_id=text.object_id,
                    key=text.key,
                    name=text.name,
                    unique_id=f"{self.name}text_sensor{text.object_id}",
                    icon=text.icon,
                    entity_category=int(text.entity_category),
                )
            )
        for button in BUTTONS:
            out.append(
                m.make(
                    "ListEntitiesButtonResponse",
                    object_id=button.object_id,
                    key=button.key,
                    name=button.name,
                    unique_id=f"{self.name}button{button.object_id}",
                    icon=button.icon,
                    device_class=button.device_class,
                    entity_category=int(button.entity_category),
                )
            )
        for switch in self._switches.values():
            out.append(
                m.make(
                    "ListEntitiesSwitchResponse",
                    object_id=switch.object_id,
                    key=switch.key,
                    name=switch.name,
                    unique_id=f"{self.name}switch{switch.object_id}",
                    icon=switch.icon,
                    entity_category=int(switch.entity_category),
                )
            )
        return out

    def state_messages(self) -> list[m.Message]:
        values = self.values
        out: list[m.Message] = [
            m.make("SensorStateResponse", key=sensor.key, state=values[sensor.object_id])
            for sensor in self._sensors
            if sensor.object_id in values
        ]
        out.extend(
            m.make("TextSensorStateResponse", key=text.key, state=self._reset_reason)
            for text in TEXT_SENSORS
            if text.object_id == RESET_REASON
        )
        out.extend(
            m.make(
                "SwitchStateResponse", key=switch.key, state=self.switch_states[switch.object_id]
            )
            for switch in self._switches.values()
        )
        return out

    def password_ok(self, password: str) -> bool:
        return self.config.password is None or password == self.config.password

    def on_button(self, key: int) -> None:
        button = next((b for b in BUTTONS if b.key == key), None)
        if button is None:
            return
        self.button_presses.append(button.object_id)
        self._notify()
        # The press arrives inside a client session that the restart will close.
        self._spawn(
            self.restart(REASON_SOFTWARE_RESTART, safe_mode=button.object_id == SAFE_MODE_BUTTON)
        )

    def on_switch(self, key: int, state: bool) -> None:
        switch = self._switches.get(key)
        if switch is None:
            return
        self.switch_commands.append((switch.object_id, state))
        self.switch_states[switch.object_id] = state
        self._server.broadcast([m.make("SwitchStateResponse", key=key, state=state)])
        self._notify()

    def on_sessions_changed(self) -> None:
        if self.client_count:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = self.sim_time
        self._schedule_crash()
        self._notify()

    # Internals.

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("%s: background task failed", self.name, exc_info=task.exception())

    async def _push_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            # An OTA upload blocks the firmware's main loop: no state updates meanwhile.
            if self._power == "running" and not self.ota_busy:
                self._server.broadcast(self.state_messages())

    def _crash_now(self, reason: str) -> None:
        """Synchronous part of a crash: connections reset, port closed, reboot begins."""
        self._power = "rebooting"
        self._pending_safe_mode = False
        self._cancel_crash_timer()
        self._stop_listening()
        self._server.abort_sessions()
        self._mark_reboot(reason, orderly=False)
        self._spawn(self._finish_boot())

    def _mark_reboot(self, reason: str, *, orderly: bool) -> None:
        up = self.sim_time - self._boot_time
        _LOGGER.info(
            "%s: reboot %d (%s) after %.0f s up", self.name, self._boot_index + 1, reason, up
        )
        self._boot_index += 1
        self._reset_reason = reason
        self.reboots.append(reason)
        self._boot_overrides.clear()
        # The bootloader decides at the reset: only the uptime until now counts toward
        # marking a new image valid.
        self._boot_outcome = self.slots.boot(self.sim_time, orderly=orderly)
        self._notify()

    def _apply_boot(self, at: float) -> None:
        """The device has booted at simulated time `at`: report the image it now runs."""
        outcome, self._boot_outcome = self._boot_outcome, None
        self.slots.boot_time = at
        if outcome is None:
            return
        image = outcome.image
        if outcome.rolled_back:
            failed = outcome.rolled_back_from
            _LOGGER.warning(
                "%s: OTA rollback detected! %s did not validate, back on %s",
                self.name,
                failed.version if failed is not None else "the new image",
                image.version,
            )
            self.firmware_history.append(FirmwareEvent(at, image.version, "rollback"))
        elif outcome.new_image:
            _LOGGER.info("%s: booted new image %s (pending verify)", self.name, image.version)
            self.firmware_history.append(FirmwareEvent(at, image.version, "flash"))
        cfg = self.config
        cfg.project_name = image.project_name or cfg.project_name
        cfg.project_version = image.version or cfg.project_version
        cfg.compilation_time = image.compilation_time or cfg.compilation_time
        cfg.esphome_version = image.esphome_version or cfg.esphome_version

    async def _listen(self) -> None:
        # OTA first: once the API port answers, the OTA port does too.
        async with self._listen_lock:
            if self._ota is not None:
                await self._ota.start()
            await self._server.listen(self.port)

    def _stop_listening(self) -> None:
        self._server.stop_listening()
        if self._ota is not None:
            self._ota.abort()

    def _require_ota(self) -> OTAServer:
        if self._ota is None:
            raise RuntimeError(f"{self.name} has no OTA server (ota_port=None)")
        return self._ota

    def _check_ota_image(self, data: bytes) -> int | None:
        try:
            verify_image(data, chip_family=self.config.chip_family)
        except ValueError as err:
            _LOGGER.warning("%s: OTA image refused: %s", self.name, err)
            return ERROR_UPDATE_END
        return None

    def _on_ota_image(self, received: ReceivedImage) -> None:
        if self._power != "running":
            return
        image = SlotImage.from_bytes(received.data)
        _LOGGER.info("%s: OTA image %s received, rebooting", self.name, image.version)
        self.slots.install(image)
        self._spawn(self.restart(REASON_SOFTWARE_RESTART))

    async def _finish_boot(self) -> None:
        await asyncio.sleep(self.config.reboot_delay)
        if self._power != "rebooting":
            return
        self._power = "running"
        self._boot_time = self.sim_time
        self._apply_boot(self._boot_time)
        self._idle_since = self._boot_time if not self.client_count else None
        self.in_safe_mode = self._pending_safe_mode
        self._pending_safe_mode = False
        if self._network_up:
            await self._listen()
        self._schedule_crash()
        self._notify()

    def _next_event(self) -> tuple[float, str] | None:
        """(simulated due time, reset reason) of the next reboot the device will do itself."""
        events: list[tuple[float, str]] = []
        crash = self._scenario.crash(self._boot_index)
        if crash is not None:
            events.append((self._boot_time + max(1.0, crash.uptime), crash.reason))
        bad_image = self.slots.crash_due_at()
        if bad_image is not None:
            events.append((bad_image, REASON_EXCEPTION))
        timeout = self.config.reboot_timeout
        if timeout is not None and self._idle_since is not None:
            idle_from = max(self._idle_since, self._boot_time)
            events.append((idle_from + max(1.0, timeout), REASON_SOFTWARE_RESTART))
        return min(events, default=None)

    def _check_crash(self) -> None:
        if self._power != "running":
            return
        event = self._next_event()
        if event is not None and self.sim_time >= event[0]:
            self._crash_now(event[1])

    def _reboot_unseen(self, reason: str, at: float) -> None:
        """A reboot in the past that no client saw: only the bookkeeping changes."""
        self._mark_reboot(reason, orderly=reason == REASON_SOFTWARE_RESTART)
        self._boot_time = at
        self._apply_boot(at)
        self._idle_since = at
        self.in_safe_mode = False

    def _schedule_crash(self) -> None:
        self._cancel_crash_timer()
        if self._power != "running" or self._loop is None or self.config.time_scale <= 0:
            return
        event = self._next_event()
        if event is None:
            return
        delay = (event[0] - self.sim_time) / self.config.time_scale
        if not math.isfinite(delay):
            return
        self._crash_timer = self._loop.call_later(max(0.0, delay), self._on_crash_timer)

    def _on_crash_timer(self) -> None:
        self._crash_timer = None
        self._check_crash()
        self._schedule_crash()

    def _cancel_crash_timer(self) -> None:
        if self._crash_timer is not None:
            self._crash_timer.cancel()
            self._crash_timer = None
