"""Reboot inference, silence detection and connect-error classification; pure."""

from __future__ import annotations

import pytest
from aioesphomeapi.core import (
    EncryptionErrorAPIError,
    EncryptionPlaintextAPIError,
    InvalidAuthAPIError,
    InvalidEncryptionKeyAPIError,
    PingFailedAPIError,
    RequiresEncryptionAPIError,
    SocketClosedAPIError,
    TimeoutAPIError,
)

from custom_components.predictive_maintenance.device.link import (
    ConnectFailure,
    classify_connect_error,
)
from custom_components.predictive_maintenance.device.reboots import (
    RebootDetector,
    UptimeReading,
)
from custom_components.predictive_maintenance.device.reporting import (
    DEFAULT_INTERVAL,
    ReportingMonitor,
)

T0 = 1_700_000_000.0


def test_continuing_uptime_is_no_reboot() -> None:
    """Uptime that keeps pace with the clock, even late by one update interval, is fine."""
    detector = RebootDetector()
    assert detector.add(UptimeReading(86_400.0, T0)) is None
    assert detector.add(UptimeReading(86_460.0, T0 + 60)) is None
    # A stale reading after a reconnect: the device's uptime lags by 50 s.
    detector.connection_lost(T0 + 100)
    assert detector.add(UptimeReading(86_550.0, T0 + 200)) is None
    # After an HA restart (state restored from storage), with a stale first reading.
    restored = RebootDetector(UptimeReading(86_550.0, T0 + 200))
    assert restored.add(UptimeReading(86_700.0, T0 + 400)) is None


def test_uptime_drop_while_watched_is_an_observed_reboot() -> None:
    """A reboot that dropped the connection counts as observed."""
    detector = RebootDetector()
    detector.add(UptimeReading(5_000.0, T0))
    detector.connection_lost(T0 + 10)
    sighting = detector.add(UptimeReading(4.0, T0 + 15))
    assert sighting is not None
    assert sighting.observed
    assert sighting.booted_at == T0 + 11


def test_crash_loop_reboots_are_each_seen_once() -> None:
    """Short boots are reboots too, each counted once, even if the drop is noticed late."""
    detector = RebootDetector()
    detector.add(UptimeReading(50.0, T0))
    sightings = []
    for n in range(1, 4):
        boot = T0 + 60 * n
        detector.connection_lost(boot + 30)  # the client noticed 30 s late
        sightings.append(detector.add(UptimeReading(35.0, boot + 35)))
        assert detector.add(UptimeReading(50.0, boot + 50)) is None
    assert all(s is not None and s.observed for s in sightings)


def test_reboot_during_monitoring_gap_is_not_observed() -> None:
    """C04: HA was away for 2 h, the device rebooted unseen; one reboot, observed=False."""
    detector = RebootDetector(UptimeReading(86_400.0, T0))  # restored from storage
    sighting = detector.add(UptimeReading(420.0, T0 + 7_200))
    assert sighting is not None
    assert not sighting.observed
    assert detector.add(UptimeReading(480.0, T0 + 7_260)) is None


def test_reboot_long_after_the_connection_dropped_is_not_observed() -> None:
    """A device that was gone for an hour and then rebooted (reboot_timeout) was unwatched."""
    detector = RebootDetector()
    detector.add(UptimeReading(86_400.0, T0))
    detector.connection_lost(T0 + 10)
    sighting = detector.add(UptimeReading(600.0, T0 + 3_600))
    assert sighting is not None
    assert not sighting.observed


def test_reboot_with_uptime_beyond_previous_is_found_by_boot_time() -> None:
    """A long gap can end with an uptime above the last one; the boot time still moved."""
    detector = RebootDetector(UptimeReading(100.0, T0))
    sighting = detector.add(UptimeReading(3_600.0, T0 + 7_200))
    assert sighting is not None
    assert not sighting.observed


def test_silence_after_five_missed_intervals() -> None:
    """C10: flagged after 5 missed intervals of the learned push rhythm, not before."""
    monitor = ReportingMonitor()
    assert not monitor.is_silent(T0)
    for n in range(10):
        for offset in (0.0, 0.01, 0.02):  # one push = several states
            monitor.sample(T0 + 60 * n + offset)
    last = T0 + 540.02
    assert monitor.expected_interval == pytest.approx(60.0)
    assert not monitor.is_silent(last + 299)
    assert monitor.is_silent(last + 301)


def test_reconnect_gap_is_not_an_interval() -> None:
    """The time offline does not stretch the expected interval."""
    monitor = ReportingMonitor()
    for n in range(5):
        monitor.sample(T0 + 10 * n)
    monitor.session_started()
    monitor.sample(T0 + 5_000)
    assert monitor.expected_interval == pytest.approx(10.0)


def test_default_interval_until_learned() -> None:
    """Without a rhythm yet, ESPHome's default 60 s update interval applies."""
    monitor = ReportingMonitor()
    monitor.sample(T0)
    assert monitor.expected_interval == DEFAULT_INTERVAL
    assert monitor.is_silent(T0 + 5 * DEFAULT_INTERVAL + 1)


@pytest.mark.parametrize(
    ("err", "failure"),
    [
        (InvalidEncryptionKeyAPIError("bad key", "esp"), ConnectFailure.INVALID_KEY),
        (RequiresEncryptionAPIError("needs key"), ConnectFailure.REQUIRES_KEY),
        (EncryptionPlaintextAPIError("plaintext"), ConnectFailure.PLAINTEXT_ONLY),
        (InvalidAuthAPIError("password"), ConnectFailure.PASSWORD_REQUIRED),
        # A frame that fails to decrypt after the handshake is noise, not a new key (C05 A).
        (EncryptionErrorAPIError("decrypt", "esp"), ConnectFailure.CANNOT_CONNECT),
        (SocketClosedAPIError("closed after hello"), ConnectFailure.CANNOT_CONNECT),
        (PingFailedAPIError("ping"), ConnectFailure.CANNOT_CONNECT),
        (TimeoutAPIError("timeout"), ConnectFailure.CANNOT_CONNECT),
        (OSError("refused"), ConnectFailure.CANNOT_CONNECT),
    ],
)
def test_connect_errors_are_classified(err: Exception, failure: ConnectFailure) -> None:
    """Only errors a new key can fix are key problems."""
    assert classify_connect_error(err) is failure
    assert failure.is_key_problem is (
        failure
        in {ConnectFailure.INVALID_KEY, ConnectFailure.REQUIRES_KEY, ConnectFailure.PLAINTEXT_ONLY}
    )
