"""A firmware catalogue folder for the demo devices: their current build, a security patch
and a bad build that crash-loops after boot (so validation fails and the device rolls back).

The folder is what `FirmwareCatalogue.async_load(folder=...)` reads: ESP Web Tools manifests
next to real ESP32 images (see `firmware_images.write_catalogue_release`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TypedDict

from .device import SimulatedDevice
from .firmware_images import DEFAULT_IMAGE_SIZE, write_catalogue_release

type ReleaseKind = Literal["current", "security", "bad"]

SECURITY_PRIORITY: Final = 90
BAD_BUILD_PRIORITY: Final = 10


class _Metadata(TypedDict, total=False):
    """Manifest fields beyond name, version and builds."""

    patch_type: str
    priority: int
    fixes: list[str]
    min_version: str


@dataclass(frozen=True, kw_only=True)
class DemoRelease:
    """One release written to the demo catalogue."""

    project_name: str
    version: str
    kind: ReleaseKind
    manifest: Path
    crash_loop: bool = False


@dataclass(frozen=True, kw_only=True)
class _Project:
    name: str
    chip_family: str
    versions: frozenset[str]


def _numeric(version: str) -> tuple[int, ...] | None:
    parts = version.split(".")
    if not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def _newest(versions: Iterable[str]) -> str:
    def key(version: str) -> tuple[int, tuple[int, ...], str]:
        numeric = _numeric(version)
        return (0, (), version) if numeric is None else (1, numeric, version)

    return max(versions, key=key)


def _bump(version: str, position: int) -> str:
    """`1.0.0` -> `1.0.1` (position 2) or `1.1.0` (position 1)."""
    numeric = _numeric(version)
    if numeric is None:
        raise ValueError(f"cannot derive a newer version from {version!r}; pass it explicitly")
    parts = list(numeric) + [0] * (3 - len(numeric))
    parts[position] += 1
    parts[position + 1 :] = [0] * (len(parts) - position - 1)
    return ".".join(str(part) for part in parts)


def _projects(devices: Iterable[SimulatedDevice]) -> list[_Project]:
    found: dict[tuple[str, str], set[str]] = {}
    for dev in devices:
        key = (dev.config.project_name, dev.config.chip_family)
        found.setdefault(key, set()).add(dev.firmware_version)
    return [
        _Project(name=name, chip_family=chip, versions=frozenset(versions))
        for (name, chip), versions in sorted(found.items())
    ]


def write_demo_catalogue(
    folder: Path | str,
    devices: Iterable[SimulatedDevice] | None = None,
    *,
    security_version: str | None = None,
    bad_version: str | None = None,
    size: int = DEFAULT_IMAGE_SIZE,
) -> list[DemoRelease]:
    """Write the demo catalogue under `folder`; returns what it wrote, per project.

    For every project the `devices` run (default: the demo fleet's `acme.env_sensor` 1.0.0):
    a release per version they run (`current`), a `security` patch (next patch version,
    priority 90, fixes ["firmware"]) and a `bad` build (next minor version, the newest
    release) whose image crash-loops a few seconds after boot.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    if devices is None:
        projects = [
            _Project(name="acme.env_sensor", chip_family="ESP32", versions=frozenset({"1.0.0"}))
        ]
    else:
        projects = _projects(devices)
    written: list[DemoRelease] = []
    for project in projects:
        newest = _newest(project.versions)
        security = security_version or _bump(newest, 2)
        bad = bad_version or _bump(newest, 1)
        releases: list[tuple[str, ReleaseKind, str, _Metadata]] = [
            (version, "current", f"{project.name} {version}", {})
            for version in sorted(project.versions)
        ]
        releases.append(
            (
                security,
                "security",
                f"{project.name} {security}: security fix for the OTA and API stack",
                {
                    "patch_type": "security",
                    "priority": SECURITY_PRIORITY,
                    "fixes": ["firmware"],
                    "min_version": newest,
                },
            )
        )
        releases.append(
            (
                bad,
                "bad",
                f"{project.name} {bad}: new features (demo: a bad build that crash-loops "
                "after boot, so the device rolls back)",
                {"patch_type": "feature", "priority": BAD_BUILD_PRIORITY, "min_version": newest},
            )
        )
        for version, kind, summary, metadata in releases:
            manifest = write_catalogue_release(
                root,
                project_name=project.name,
                version=version,
                chip_family=project.chip_family,
                size=size,
                crash_loop=kind == "bad",
                summary=summary,
                **metadata,
            )
            written.append(
                DemoRelease(
                    project_name=project.name,
                    version=version,
                    kind=kind,
                    manifest=manifest,
                    crash_loop=kind == "bad",
                )
            )
    return written
