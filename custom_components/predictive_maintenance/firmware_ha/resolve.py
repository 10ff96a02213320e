"""Turn a request (version, patch id or image path) into a checked image for one device."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from homeassistant.exceptions import ServiceValidationError

from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.firmware import (
    CatalogueError,
    ChecksumMismatchError,
    FetchFn,
    FirmwareCatalogue,
    FirmwareRelease,
    ImageInfo,
    InvalidImageError,
    UnsafePathError,
    WrongChipError,
    WrongProjectError,
    async_read_firmware,
    check_image,
    ensure_image_matches,
)
from custom_components.predictive_maintenance.firmware.catalogue import MAX_IMAGE_BYTES
from custom_components.predictive_maintenance.firmware.paths import resolve_in_folder

from .target import FirmwareTarget

PATCH_ID_SEPARATOR = "@"


def patch_id(release: FirmwareRelease) -> str:
    """Return the id analyze gives a release: `<project>@<version>`."""
    return f"{release.project}{PATCH_ID_SEPARATOR}{release.version}"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A checked image, ready to send."""

    version: str
    data: bytes
    info: ImageInfo
    release: FirmwareRelease | None

    @property
    def summary(self) -> str | None:
        """Return the manifest's summary of the image's build, if any."""
        if self.release is None:
            return None
        build = self.release.build_for(self.info.chip_family)
        return None if build is None else build.summary


def allowed_projects(target: FirmwareTarget, previous_project: str | None) -> set[str]:
    """Names an image's app descriptor may carry for this device.

    What ESPHome writes there depends on the toolchain: the project name, or the node
    name; the image running now (when we kept it) shows which convention the device uses.
    """
    return {name for name in (target.project, target.node_name, previous_project) if name}


def _image_error(err: Exception) -> ServiceValidationError:
    if isinstance(err, WrongProjectError):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="firmware_wrong_project",
            translation_placeholders={"project": err.expected, "image_project": err.actual},
        )
    if isinstance(err, WrongChipError):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="firmware_wrong_chip",
            translation_placeholders={"chip": err.expected, "image_chip": err.actual},
        )
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="firmware_image_invalid",
        translation_placeholders={"reason": str(err)},
    )


def _check_project(info: ImageInfo, allowed: set[str], project: str) -> None:
    if allowed and info.project_name not in allowed:
        raise _image_error(WrongProjectError(project, info.project_name))


def pick_release(
    catalogue: FirmwareCatalogue,
    target: FirmwareTarget,
    *,
    version: str | None,
    patch: str | None,
) -> FirmwareRelease:
    """Find the requested release of the device's project, or raise a translated error."""
    project = target.project
    if patch is not None:
        wanted_project, sep, wanted_version = patch.rpartition(PATCH_ID_SEPARATOR)
        if not sep or not wanted_project or not wanted_version:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="firmware_unknown_patch",
                translation_placeholders={"patch_id": patch},
            )
        if wanted_project != project:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="firmware_wrong_project",
                translation_placeholders={"project": project, "image_project": wanted_project},
            )
        version = wanted_version
    assert version is not None
    release = catalogue.get(project, version)
    if release is None or release.build_for(target.chip_family) is None:
        available = [r.version for r in catalogue.releases_for(project, target.chip_family)]
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="firmware_unknown_version",
            translation_placeholders={
                "version": version,
                "project": project or "?",
                "available": ", ".join(available) or "none",
            },
        )
    return release


async def async_release_image(
    release: FirmwareRelease,
    target: FirmwareTarget,
    *,
    fetch: FetchFn,
    previous_project: str | None,
) -> Candidate:
    """Read and check a catalogue release's build for the device."""
    build = release.build_for(target.chip_family)
    assert build is not None
    try:
        data = await async_read_firmware(build, fetch=fetch)
        info = check_image(data, chip_family=target.chip_family)
    except (CatalogueError, ChecksumMismatchError, InvalidImageError, WrongChipError) as err:
        raise _image_error(err) from err
    _check_project(info, allowed_projects(target, previous_project), target.project)
    return Candidate(version=release.version, data=data, info=info, release=release)


def _read_in_folder(folder: Path, ref: str) -> bytes:
    path = resolve_in_folder(folder, folder, ref)
    if not path.is_file():
        raise FileNotFoundError(ref)
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise CatalogueError(f"{ref} is larger than {MAX_IMAGE_BYTES} bytes")
    return path.read_bytes()


async def async_path_image(
    folder: Path, ref: str, target: FirmwareTarget, *, previous_project: str | None
) -> Candidate:
    """Read and check an image file given by its path inside the catalogue folder."""
    try:
        data = await asyncio.to_thread(_read_in_folder, folder, ref)
    except UnsafePathError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="firmware_path_outside_catalogue",
            translation_placeholders={"path": ref},
        ) from err
    except (FileNotFoundError, IsADirectoryError) as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="firmware_image_not_found",
            translation_placeholders={"path": ref},
        ) from err
    except (OSError, CatalogueError) as err:
        raise _image_error(err) from err
    try:
        info = check_image(data)
        ensure_image_matches(info, chip_family=target.chip_family)
    except (InvalidImageError, WrongChipError) as err:
        raise _image_error(err) from err
    _check_project(info, allowed_projects(target, previous_project), target.project)
    return Candidate(version=info.version, data=data, info=info, release=None)
