"""The firmware catalogue: releases from a local folder and from manifest URLs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from .errors import CatalogueError, FetchError, ManifestError
from .image import verify_checksums
from .manifest import FirmwareBuild, FirmwareLocation, FirmwareRelease, parse_manifest
from .paths import resolve_in_folder, resolve_url
from .versions import is_newer, version_key

_LOGGER = logging.getLogger(__name__)

MAX_MANIFEST_BYTES = 1 << 20
MAX_IMAGE_BYTES = 16 << 20

type FetchFn = Callable[[str], Awaitable[bytes]]
"""Download a URL and return its body; raise on any HTTP or network failure."""


@dataclass(frozen=True, kw_only=True)
class CatalogueProblem:
    """A manifest that was skipped, and why."""

    source: str
    message: str


def _decode_json(raw: bytes, source: str) -> object:
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{source}: manifest larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(f"{source}: not valid JSON ({err})") from err


def _local_location(root: Path, manifest_dir: Path, ref: str) -> FirmwareLocation:
    path = resolve_in_folder(root, manifest_dir, ref)
    if not path.is_file():
        raise ManifestError(f"firmware file {ref!r} does not exist")
    return FirmwareLocation(path=path)


def _url_location(manifest_url: str, ref: str) -> FirmwareLocation:
    return FirmwareLocation(url=resolve_url(manifest_url, ref))


def scan_folder(folder: Path) -> tuple[list[FirmwareRelease], list[CatalogueProblem]]:
    """Read every `*.json` manifest under `folder` (blocking I/O).

    A missing folder is an empty catalogue. Manifest files that are symlinks out of the
    folder are skipped like bad manifests.
    """
    releases: list[FirmwareRelease] = []
    problems: list[CatalogueProblem] = []
    if not folder.is_dir():
        return releases, problems
    root = folder.resolve()
    for manifest_path in sorted(folder.rglob("*.json")):
        source = str(manifest_path.relative_to(folder))
        try:
            real = manifest_path.resolve()
            if not real.is_relative_to(root) or not real.is_file():
                raise CatalogueError(f"{source}: manifest is not a file inside the folder")
            document = _decode_json(real.read_bytes(), source)
            releases.extend(
                parse_manifest(
                    document,
                    source=source,
                    resolve=partial(_local_location, root, real.parent),
                )
            )
        except (CatalogueError, OSError) as err:
            problems.append(CatalogueProblem(source=source, message=str(err)))
    return releases, problems


async def fetch_manifest(url: str, fetch: FetchFn) -> list[FirmwareRelease]:
    """Download and parse one manifest URL; paths resolve against the URL, same origin."""
    resolve_url(url, url)  # the manifest URL itself must be http(s)
    try:
        raw = await fetch(url)
    except Exception as err:  # the injected fetcher may raise anything
        raise FetchError(f"{url}: download failed ({err})") from err
    return parse_manifest(_decode_json(raw, url), source=url, resolve=partial(_url_location, url))


class FirmwareCatalogue:
    """All known releases, de-duplicated by (project, version); first source wins."""

    def __init__(
        self, releases: Iterable[FirmwareRelease], problems: Iterable[CatalogueProblem] = ()
    ) -> None:
        seen: dict[tuple[str, str], FirmwareRelease] = {}
        found: list[CatalogueProblem] = list(problems)
        for release in releases:
            key = (release.project, release.version)
            if key in seen:
                found.append(
                    CatalogueProblem(
                        source=release.source,
                        message=(
                            f"{release.project} {release.version} is also in "
                            f"{seen[key].source}; keeping that one"
                        ),
                    )
                )
                continue
            seen[key] = release
        self.releases: tuple[FirmwareRelease, ...] = tuple(seen.values())
        self.problems: tuple[CatalogueProblem, ...] = tuple(found)

    @classmethod
    async def async_load(
        cls,
        *,
        folder: Path | None = None,
        manifest_urls: Sequence[str] = (),
        fetch: FetchFn | None = None,
    ) -> FirmwareCatalogue:
        """Load the folder (in a worker thread) and every manifest URL (concurrently).

        Bad sources end up in `problems`; they never make the whole load fail.
        """
        releases: list[FirmwareRelease] = []
        problems: list[CatalogueProblem] = []
        if folder is not None:
            found, bad = await asyncio.to_thread(scan_folder, folder)
            releases.extend(found)
            problems.extend(bad)
        if manifest_urls:
            if fetch is None:
                raise ValueError("manifest URLs need a fetch function")
            results = await asyncio.gather(
                *(fetch_manifest(url, fetch) for url in manifest_urls), return_exceptions=True
            )
            for url, result in zip(manifest_urls, results, strict=True):
                if isinstance(result, CatalogueError):
                    problems.append(CatalogueProblem(source=url, message=str(result)))
                elif isinstance(result, BaseException):
                    raise result
                else:
                    releases.extend(result)
        for problem in problems:
            _LOGGER.warning("Skipping firmware manifest %s: %s", problem.source, problem.message)
        return cls(releases, problems)

    def projects(self) -> list[str]:
        """Project names with at least one release."""
        return sorted({r.project for r in self.releases})

    def releases_for(self, project: str, chip_family: str | None = None) -> list[FirmwareRelease]:
        """Releases of `project` (with a build for `chip_family` if given), newest first."""
        matching = [
            r
            for r in self.releases
            if r.project == project and (chip_family is None or r.build_for(chip_family))
        ]
        return sorted(matching, key=lambda r: version_key(r.version), reverse=True)

    def get(self, project: str, version: str) -> FirmwareRelease | None:
        """The release of `project` at exactly `version`."""
        return next(
            (r for r in self.releases if r.project == project and r.version == version), None
        )

    def latest(
        self, project: str, chip_family: str, *, current_version: str | None = None
    ) -> FirmwareRelease | None:
        """Newest release for the project and chip that can be installed from
        `current_version` (its `min_version` allows it)."""
        return next(
            (
                r
                for r in self.releases_for(project, chip_family)
                if r.installable_from(current_version)
            ),
            None,
        )

    def update_for(
        self, project: str, chip_family: str, current_version: str
    ) -> FirmwareRelease | None:
        """`latest` if it is newer than `current_version`, else None."""
        release = self.latest(project, chip_family, current_version=current_version)
        if release is None:
            return None
        try:
            return release if is_newer(release.version, current_version) else None
        except ValueError:
            _LOGGER.warning("Cannot compare version %s with %s", release.version, current_version)
            return None


async def async_read_firmware(
    build: FirmwareBuild, *, fetch: FetchFn | None = None, max_size: int = MAX_IMAGE_BYTES
) -> bytes:
    """Load a build's image and check it against the manifest's md5 (and sha256)."""
    location = build.location
    if location.path is not None:
        path = location.path
        try:
            size = await asyncio.to_thread(lambda: path.stat().st_size)
            if size > max_size:
                raise CatalogueError(f"{path.name} is {size} bytes, more than {max_size}")
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as err:
            raise CatalogueError(f"cannot read {path.name}: {err.strerror or err}") from err
    else:
        if fetch is None or location.url is None:
            raise ValueError("a URL build needs a fetch function")
        try:
            data = await fetch(location.url)
        except Exception as err:  # the injected fetcher may raise anything
            raise FetchError(f"{location.url}: download failed ({err})") from err
        if len(data) > max_size:
            raise CatalogueError(f"{location.url} is larger than {max_size} bytes")
    verify_checksums(data, md5=build.md5, sha256=build.sha256)
    return data
