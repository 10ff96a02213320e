"""ESP Web Tools / ESPHome update manifests, plus our patch metadata.

A manifest is ``{"name", "version", "builds": [{"chipFamily", "ota": {"path", "md5",
"summary", "release_url"}}]}`` as ESPHome's http_request update reads it. Optional
top-level fields say what a release is for: `patch_type`, `priority`, `fixes`,
`min_version`; optional `ota.sha256` adds a stronger checksum. A JSON list of such
objects holds several versions in one document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .chips import normalize_chip_family
from .errors import ManifestError
from .versions import compare_versions, is_valid_version


class PatchType(StrEnum):
    """What kind of change a release is."""

    SECURITY = "security"
    BUGFIX = "bugfix"
    PERFORMANCE = "performance"
    FEATURE = "feature"


@dataclass(frozen=True, kw_only=True)
class FirmwareLocation:
    """Where a build's `.bin` lives: a file in the catalogue folder or a URL."""

    path: Path | None = None
    url: str | None = None

    def __str__(self) -> str:
        return self.url if self.url is not None else str(self.path)


@dataclass(frozen=True, kw_only=True)
class FirmwareBuild:
    """One chip family's OTA image of a release."""

    chip_family: str
    location: FirmwareLocation
    md5: str
    sha256: str | None = None
    summary: str | None = None
    release_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class FirmwareRelease:
    """One version of one project, with its builds and patch metadata."""

    project: str
    version: str
    builds: tuple[FirmwareBuild, ...]
    source: str
    patch_type: PatchType | None = None
    priority: int = 0
    fixes: tuple[str, ...] = ()
    min_version: str | None = None

    def build_for(self, chip_family: str) -> FirmwareBuild | None:
        """The build for `chip_family`, or None when this release has none."""
        wanted = normalize_chip_family(chip_family)
        return next((b for b in self.builds if b.chip_family == wanted), None)

    def installable_from(self, current_version: str | None) -> bool:
        """False when the release needs a newer starting version than the device has.

        An unknown current version cannot satisfy a `min_version`.
        """
        if self.min_version is None:
            return True
        if current_version is None:
            return False
        try:
            return compare_versions(current_version, self.min_version) >= 0
        except ValueError:
            return False


type Resolver = Callable[[str], FirmwareLocation]


def _optional_text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _required_text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _optional_text(obj, key, where)
    if value is None:
        raise ManifestError(f"{where}: missing {key!r}")
    return value


def _check_hex(value: str, key: str, length: int, where: str) -> str:
    value = value.lower()
    if len(value) != length or any(c not in "0123456789abcdef" for c in value):
        raise ManifestError(f"{where}: {key!r} must be {length} hex characters")
    return value


def _parse_build(raw: object, resolve: Resolver, where: str) -> FirmwareBuild | None:
    if not isinstance(raw, Mapping):
        raise ManifestError(f"{where}: each build must be an object")
    chip = _required_text(raw, "chipFamily", where)
    ota = raw.get("ota")
    if ota is None:
        return None  # a web-install-only build (just "parts"): nothing to send over the air
    if not isinstance(ota, Mapping):
        raise ManifestError(f"{where}: 'ota' must be an object")
    path = _required_text(ota, "path", f"{where} ota")
    md5 = _check_hex(_required_text(ota, "md5", f"{where} ota"), "md5", 32, where)
    sha256 = _optional_text(ota, "sha256", f"{where} ota")
    return FirmwareBuild(
        chip_family=normalize_chip_family(chip),
        location=resolve(path),
        md5=md5,
        sha256=None if sha256 is None else _check_hex(sha256, "sha256", 64, where),
        summary=_optional_text(ota, "summary", where),
        release_url=_optional_text(ota, "release_url", where),
    )


def _parse_one(raw: object, *, source: str, resolve: Resolver) -> FirmwareRelease:
    if not isinstance(raw, Mapping):
        raise ManifestError(f"{source}: a manifest must be a JSON object")
    name = _required_text(raw, "name", source)
    version = _required_text(raw, "version", source)
    where = f"{source} ({name} {version})"
    if not is_valid_version(version):
        raise ManifestError(f"{where}: {version!r} is not a version")
    min_version = _optional_text(raw, "min_version", where)
    if min_version is not None and not is_valid_version(min_version):
        raise ManifestError(f"{where}: min_version {min_version!r} is not a version")

    patch_type: PatchType | None = None
    if (raw_type := raw.get("patch_type")) is not None:
        try:
            patch_type = PatchType(str(raw_type).lower())
        except ValueError as err:
            allowed = ", ".join(p.value for p in PatchType)
            raise ManifestError(f"{where}: patch_type must be one of {allowed}") from err
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
        raise ManifestError(f"{where}: priority must be a non-negative integer")
    fixes = raw.get("fixes", [])
    if not isinstance(fixes, list) or not all(isinstance(f, str) and f.strip() for f in fixes):
        raise ManifestError(f"{where}: fixes must be a list of issue types")

    builds_raw = raw.get("builds")
    if not isinstance(builds_raw, list) or not builds_raw:
        raise ManifestError(f"{where}: 'builds' must be a non-empty list")
    builds = tuple(
        build
        for index, item in enumerate(builds_raw)
        if (build := _parse_build(item, resolve, f"{where} build {index}")) is not None
    )
    if not builds:
        raise ManifestError(f"{where}: no build has an 'ota' section")
    return FirmwareRelease(
        project=name,
        version=version,
        builds=builds,
        source=source,
        patch_type=patch_type,
        priority=priority,
        fixes=tuple(f.strip().lower() for f in fixes),
        min_version=min_version,
    )


def parse_manifest(document: object, *, source: str, resolve: Resolver) -> list[FirmwareRelease]:
    """Parse a decoded manifest (one object, or a list of them) into releases.

    `resolve` turns each build's `ota.path` into a location and raises
    `UnsafePathError` for paths outside the allowed area. Raises `ManifestError`.
    """
    items = document if isinstance(document, list) else [document]
    if not items:
        raise ManifestError(f"{source}: empty manifest list")
    return [_parse_one(item, source=source, resolve=resolve) for item in items]
