"""One coordinator per monitored device: link -> metrics -> analytics -> snapshot."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from aioesphomeapi import DeviceInfo, EntityInfo, EntityState
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .analytics import DeviceAnalytics, HealthReport
from .const import (
    CONF_DEVICE_NAME,
    CONF_MONITORING_PAUSED,
    CONF_NOISE_PSK,
    DEFAULT_WARMUP_SAMPLES,
    DEFAULT_Z_THRESHOLD,
    DOMAIN,
)
from .device.link import ConnectFailure, DeviceLink, LinkTarget, ZeroconfInstance
from .device.metrics import KNOWN_METRICS, UPTIME
from .device.reboots import UptimeReading
from .issues import DeviceIssues, RepairIssue
from .monitor import DeviceMonitor
from .storage import DeviceStore, SavedDevice, StoredData, serialize

_LOGGER = logging.getLogger(__name__)

# Entities render at most this often per device, however fast the device pushes.
PUBLISH_INTERVAL: Final = 1.0
REPORTING_CHECK_INTERVAL: Final = timedelta(seconds=30)
# One failed handshake can be line noise; two in a row mean the key really changed (C05).
REAUTH_AFTER_KEY_FAILURES: Final = 2
UNREACHABLE_ISSUE_AFTER: Final = timedelta(minutes=30)
# Uptime alone shows reboots but says nothing about the device's health.
HEALTH_METRICS: Final = frozenset(KNOWN_METRICS) - {UPTIME}
DISCONNECTS_KEPT: Final = 64

type PredictiveMaintenanceConfigEntry = ConfigEntry[DeviceCoordinator]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceDetails:
    """What the device says about itself."""

    mac: str
    name: str
    friendly_name: str
    model: str
    manufacturer: str
    esphome_version: str
    project_name: str
    project_version: str
    compilation_time: str

    @classmethod
    def from_device_info(cls, info: DeviceInfo) -> DeviceDetails:
        """Build from aioesphomeapi's DeviceInfo."""
        return cls(
            mac=dr.format_mac(info.mac_address),
            name=info.name,
            friendly_name=info.friendly_name,
            model=info.model,
            manufacturer=info.manufacturer,
            esphome_version=info.esphome_version,
            project_name=info.project_name,
            project_version=info.project_version,
            compilation_time=info.compilation_time,
        )

    @property
    def display_name(self) -> str:
        """Return the name people know the device by."""
        return self.friendly_name or self.name

    @property
    def sw_version(self) -> str:
        """Return the firmware version, the project's own if it has one."""
        if self.project_version:
            return f"{self.project_version} (ESPHome {self.esphome_version})"
        return self.esphome_version

    @property
    def maker_and_model(self) -> tuple[str, str]:
        """Return (manufacturer, model), preferring the ESPHome project name."""
        if "." in self.project_name:
            maker, _, product = self.project_name.partition(".")
            return maker, product
        return self.manufacturer or "Espressif", self.model


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSnapshot:
    """Everything entities render, at one instant. Never mutated."""

    online: bool
    details: DeviceDetails | None
    metrics: Mapping[str, float]
    metric_units: Mapping[str, str | None]
    reset_reason: str | None
    report: HealthReport
    last_sample_at: datetime | None
    not_reporting: bool
    expected_interval: float
    connect_failure: ConnectFailure | None
    wrong_device: bool
    paused: bool = False


def _now() -> float:
    return dt_util.utcnow().timestamp()


class DeviceCoordinator(DataUpdateCoordinator[DeviceSnapshot]):
    """Owns the device link and the analytics of one device; pushes, never polls."""

    config_entry: PredictiveMaintenanceConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PredictiveMaintenanceConfigEntry,
        *,
        store: DeviceStore,
        saved: SavedDevice,
        zeroconf_instance: ZeroconfInstance | None = None,
    ) -> None:
        """Prepare the coordinator; nothing connects before async_start()."""
        super().__init__(hass, _LOGGER, config_entry=entry, name=entry.title)
        # The config flow sets the MAC as unique id; without one, no identity check is possible.
        self._verify_mac = entry.unique_id is not None
        self.mac = dr.format_mac(entry.unique_id) if entry.unique_id else entry.entry_id
        self._store = store
        self.monitor = DeviceMonitor(
            saved.analytics
            or DeviceAnalytics(
                self.mac, warmup_samples=DEFAULT_WARMUP_SAMPLES, z_threshold=DEFAULT_Z_THRESHOLD
            ),
            saved.uptime,
        )
        self.link = DeviceLink(
            LinkTarget(
                host=entry.data[CONF_HOST],
                port=entry.data[CONF_PORT],
                noise_psk=entry.data.get(CONF_NOISE_PSK) or None,
            ),
            self,
            zeroconf_instance=zeroconf_instance,
            device_name=entry.data.get(CONF_DEVICE_NAME) or None,
        )
        self.device_info: DeviceInfo | None = None
        self._details: DeviceDetails | None = None
        self._online = False
        self._wrong_device = False
        self._connect_failure: ConnectFailure | None = None
        self._key_failures = 0
        self._key_issue_raised = False
        self._lost_logged = False
        self.issues = DeviceIssues(hass, entry)
        self.paused = bool(entry.data.get(CONF_MONITORING_PAUSED))
        # MAC of the other board answering at the address (C06), for the follow repair.
        self.wrong_mac: str | None = None
        self._unreachable_unsub: CALLBACK_TYPE | None = None
        self._last_publish = 0.0
        self._publish_unsub: CALLBACK_TYPE | None = None
        self._check_unsub: CALLBACK_TYPE | None = None
        self._stop_unsub: CALLBACK_TYPE | None = None
        self._stopped = False
        # Set by the firmware feature while an OTA update runs: self-healing stays away.
        self.firmware_update_in_progress = False
        # (time, expected) of recent connection losses, for the reconnect-rate diagnosis.
        self.disconnects: deque[tuple[float, bool]] = deque(maxlen=DISCONNECTS_KEPT)
        self.data = self._build_snapshot(_now())

    @property
    def analytics(self) -> DeviceAnalytics:
        """Return the device's analytics."""
        return self.monitor.analytics

    @property
    def last_uptime(self) -> UptimeReading | None:
        """Return the latest uptime the device reported (unthrottled)."""
        return self.monitor.last_uptime

    # ---- lifecycle ---------------------------------------------------------------------

    async def async_start(self) -> None:
        """Start the link in the background and the periodic silence check."""
        self._stopped = False
        if self.paused:
            self.issues.raise_issue(RepairIssue.MONITORING_PAUSED)
            return
        self._start_unreachable_timer()
        self._check_unsub = async_track_time_interval(
            self.hass, self._async_check_reporting_job, REPORTING_CHECK_INTERVAL
        )
        self._stop_unsub = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_on_hass_stop
        )
        await self.link.start()

    async def async_stop(self) -> None:
        """Stop the link and timers and save what was learned. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._cancel_unreachable_timer()
        for unsub in (self._publish_unsub, self._check_unsub, self._stop_unsub):
            if unsub is not None:
                unsub()
        self._publish_unsub = self._check_unsub = self._stop_unsub = None
        await self.link.stop()
        self.monitor.resolve_pending_reboot()
        self._online = False
        await self._store.async_save(self._serialize())

    async def _async_on_hass_stop(self, _event: Event) -> None:
        self._stop_unsub = None
        await self.async_stop()

    # ---- LinkListener ------------------------------------------------------------------

    @callback
    def link_connected(self, device_info: DeviceInfo, entities: list[EntityInfo]) -> None:
        """Take over a fresh connection: bind entities, check identity, go online."""
        self._key_failures = 0
        self._key_issue_raised = False
        self._connect_failure = None
        self._cancel_unreachable_timer()
        self.issues.clear(RepairIssue.UNREACHABLE, RepairIssue.INVALID_KEY)
        details = DeviceDetails.from_device_info(device_info)
        if self._verify_mac and details.mac != self.mac:
            if not self._wrong_device:
                _LOGGER.warning(
                    "%s answers as %s (%s), not as the monitored device %s; ignoring its data",
                    self.link.target.host,
                    details.display_name,
                    details.mac,
                    self.mac,
                )
            self._wrong_device = True
            self.wrong_mac = details.mac
            self.issues.raise_issue(
                RepairIssue.WRONG_DEVICE,
                mac=details.mac,
                expected_mac=self.mac,
                new_mac=details.mac,
                new_name=details.display_name,
            )
            self.monitor.session_ignored()
            self._publish_now()
            return
        self._wrong_device = False
        self.wrong_mac = None
        self.issues.clear(RepairIssue.WRONG_DEVICE)
        self.device_info = device_info
        self._details = details
        self.monitor.session_started(device_info.model, entities)
        self._check_configuration()
        self._online = True
        self._update_device_registry(details)
        if self._lost_logged:
            _LOGGER.info("%s is back online", self.name)
            self._lost_logged = False
        else:
            _LOGGER.debug("Connected to %s", self.name)
        self._publish_now()

    @callback
    def link_disconnected(self, expected: bool) -> None:
        """Go offline; entities become unavailable until the next connect."""
        self._online = False
        self.disconnects.append((_now(), expected))
        self.monitor.connection_lost(_now(), expected=expected)
        self._start_unreachable_timer()
        if not self._lost_logged:
            _LOGGER.info("Lost connection to %s, reconnecting in the background", self.name)
            self._lost_logged = True
        self._publish_now()

    @callback
    def link_failed(self, failure: ConnectFailure, err: Exception) -> None:
        """Count key failures; raise a repair issue for the key when it is clearly wrong."""
        self._connect_failure = failure
        if not self._lost_logged:
            _LOGGER.info("%s is not reachable (%s), retrying in the background", self.name, failure)
            self._lost_logged = True
        self._schedule_publish()
        if failure is ConnectFailure.CANNOT_CONNECT:
            self._start_unreachable_timer()
        else:
            # The device answered: whatever is wrong, it is not out of reach.
            self._cancel_unreachable_timer()
            self.issues.clear(RepairIssue.UNREACHABLE)
        if not failure.is_key_problem:
            self._key_failures = 0
            return
        self._key_failures += 1
        if self._key_failures < REAUTH_AFTER_KEY_FAILURES:
            return
        if not self._key_issue_raised:
            self._key_issue_raised = True
            _LOGGER.warning(
                "%s rejected the encryption settings %d times in a row (%s); see Repairs",
                self.name,
                self._key_failures,
                failure,
            )
        # Raised again on every failure so that it follows the device (new key <->
        # encryption removed).
        self.raise_key_issue(failure)

    @callback
    def raise_key_issue(self, failure: ConnectFailure) -> None:
        """Raise the repair issue whose fix flow asks for the key.

        A repair with a fix flow, not a reauth flow: HA adds its own repair for every
        reauth, and two repairs for one fault is what C05 asks to avoid.
        """
        self.issues.raise_issue(
            RepairIssue.ENCRYPTION_REMOVED
            if failure is ConnectFailure.PLAINTEXT_ONLY
            else RepairIssue.INVALID_KEY
        )

    @callback
    def link_state(self, state: EntityState) -> None:
        """Feed a device state to the monitor; publish and save when something changed."""
        if self.monitor.ingest(state, _now()):
            self._store.schedule_save(self._serialize)
            self._schedule_publish()

    async def _async_update_data(self) -> DeviceSnapshot:
        # Push-based: a refresh request (homeassistant.update_entity) re-renders what is known.
        return self._build_snapshot(_now())

    # ---- publishing --------------------------------------------------------------------

    def _schedule_publish(self) -> None:
        if self._publish_unsub is not None or self._stopped:
            return
        delay = self._last_publish + PUBLISH_INTERVAL - self.hass.loop.time()
        if delay <= 0:
            self._publish_now()
            return
        self._publish_unsub = async_call_later(self.hass, delay, self._publish_later)

    @callback
    def _publish_later(self, _now_dt: datetime) -> None:
        self._publish_unsub = None
        self._publish_now()

    def _publish_now(self) -> None:
        if self._publish_unsub is not None:
            self._publish_unsub()
            self._publish_unsub = None
        self.monitor.resolve_pending_reboot()
        self._last_publish = self.hass.loop.time()
        self.async_set_updated_data(self._build_snapshot(_now()))

    def _build_snapshot(self, now: float) -> DeviceSnapshot:
        monitor = self.monitor
        last = monitor.last_sample_at
        return DeviceSnapshot(
            online=self._online and not self._wrong_device,
            details=self._details,
            metrics=MappingProxyType(monitor.values),
            metric_units=MappingProxyType(monitor.units),
            reset_reason=monitor.reset_reason,
            report=monitor.analytics.report(now=now),
            last_sample_at=None if last is None else dt_util.utc_from_timestamp(last),
            not_reporting=self._online and monitor.is_silent(now),
            expected_interval=monitor.expected_interval,
            connect_failure=self._connect_failure,
            wrong_device=self._wrong_device,
            paused=self.paused,
        )

    @callback
    def _async_check_reporting_job(self, _now_dt: datetime) -> None:
        self.async_check_reporting()

    @callback
    def async_check_reporting(self, now: float | None = None) -> None:
        """Re-evaluate the not-reporting flag and publish if it changed."""
        at = _now() if now is None else now
        silent = self._online and self.monitor.is_silent(at)
        if silent != self.data.not_reporting:
            if silent:
                _LOGGER.info(
                    "%s is connected but has sent no readings for %.0f s",
                    self.name,
                    at - (self.monitor.last_sample_at or at),
                )
            self._last_publish = self.hass.loop.time()
            self.async_set_updated_data(self._build_snapshot(at))

    # ---- repair issues -----------------------------------------------------------------

    def _check_configuration(self) -> None:
        """Raise or clear the issues a fresh session of the right device can show."""
        if any(b.metric in HEALTH_METRICS for b in self.monitor.bindings):
            self.issues.clear(RepairIssue.NO_METRICS)
        else:
            self.issues.raise_issue(RepairIssue.NO_METRICS)
        if self.link.target.noise_psk:
            self.issues.clear(RepairIssue.NOT_ENCRYPTED)
        else:
            self.issues.raise_issue(RepairIssue.NOT_ENCRYPTED)

    def _start_unreachable_timer(self) -> None:
        if self._unreachable_unsub is None and not self._stopped:
            self._unreachable_unsub = async_call_later(
                self.hass, UNREACHABLE_ISSUE_AFTER, self._unreachable_for_long
            )

    def _cancel_unreachable_timer(self) -> None:
        if self._unreachable_unsub is not None:
            self._unreachable_unsub()
            self._unreachable_unsub = None

    @callback
    def _unreachable_for_long(self, _now_dt: datetime) -> None:
        self._unreachable_unsub = None
        if not self._online and not self._wrong_device:
            self.issues.raise_issue(RepairIssue.UNREACHABLE)

    # ---- helpers -----------------------------------------------------------------------

    def _serialize(self) -> StoredData:
        return serialize(self.monitor.analytics, self.monitor.last_uptime)

    def _update_device_registry(self, details: DeviceDetails) -> None:
        manufacturer, model = details.maker_and_model
        dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.config_entry.entry_id,
            identifiers={(DOMAIN, self.mac)},
            connections={(dr.CONNECTION_NETWORK_MAC, self.mac)},
            manufacturer=manufacturer,
            model=model,
            sw_version=details.sw_version,
            name=details.display_name or self.config_entry.title,
        )

    def diagnostics(self) -> dict[str, Any]:
        """Return the runtime state for diagnostics (no secrets)."""
        monitor = self.monitor
        last_uptime = monitor.last_uptime
        return {
            "online": self._online,
            "wrong_device": self._wrong_device,
            "connect_failure": self._connect_failure,
            "consecutive_key_failures": self._key_failures,
            "key_issue_raised": self._key_issue_raised,
            "paused": self.paused,
            "wrong_mac": self.wrong_mac,
            "repair_issues": [str(kind) for kind in self.issues.active()],
            "bindings": {
                b.object_id: {"metric": b.metric, "unit": b.unit} for b in monitor.bindings
            },
            "original_esp32": monitor.original_esp32,
            "expected_interval_s": monitor.expected_interval,
            "last_uptime": None
            if last_uptime is None
            else {"uptime": last_uptime.uptime, "at": last_uptime.at},
            "recent_anomalies": [event.as_dict() for event in monitor.recent_anomalies],
        }
