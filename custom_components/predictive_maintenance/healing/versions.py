"""Follow the firmware a device runs, to tell an upgrade from a rollback by itself (C02)."""

from __future__ import annotations

from dataclasses import dataclass

from custom_components.predictive_maintenance.firmware.versions import compare_versions


@dataclass(frozen=True, slots=True)
class VersionState:
    """The version we expect the device to run, and the one it fell back from, if any."""

    expected: str | None = None
    rolled_back_from: str | None = None


def track_version(state: VersionState, running: str, *, update_in_progress: bool) -> VersionState:
    """Accept upgrades and versions flashed during an update; remember a step back."""
    if state.expected is None or running == state.expected or update_in_progress:
        return VersionState(expected=running)
    try:
        older = compare_versions(running, state.expected) < 0
    except ValueError:
        older = False
    if older:
        return VersionState(expected=state.expected, rolled_back_from=state.expected)
    return VersionState(expected=running)
