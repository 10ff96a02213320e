"""Firmware catalogue: manifests from a folder and from URLs, path safety, version choice."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from custom_components.predictive_maintenance.firmware import (
    ChecksumMismatchError,
    FetchError,
    FirmwareCatalogue,
    FirmwareLocation,
    ManifestError,
    PatchType,
    UnsafePathError,
    async_read_firmware,
    check_image,
    compare_versions,
    is_newer,
    is_valid_version,
    parse_manifest,
)
from custom_components.predictive_maintenance.firmware.paths import resolve_in_folder, resolve_url
from simulator.firmware_images import build_image

from .conftest import PROJECT


def manifest(
    version: str, path: str, md5: str, *, chip: str = "ESP32", **extra: Any
) -> dict[str, Any]:
    return {
        "name": PROJECT,
        "version": version,
        "builds": [
            {
                "chipFamily": chip,
                "ota": {
                    "path": path,
                    "md5": md5,
                    "summary": f"Release {version}",
                    "release_url": f"https://example.invalid/releases/{version}",
                },
            }
        ],
        **extra,
    }


def write_release(
    folder: Path, version: str, *, chip: str = "ESP32", **extra: Any
) -> tuple[Path, bytes]:
    image = build_image(project_name=PROJECT, version=version, chip_family=chip, size=32768)
    release_dir = folder / PROJECT / version
    release_dir.mkdir(parents=True, exist_ok=True)
    (release_dir / "firmware.ota.bin").write_bytes(image)
    doc = manifest(version, "firmware.ota.bin", hashlib.md5(image).hexdigest(), chip=chip, **extra)
    (release_dir / "manifest.json").write_text(json.dumps(doc))
    return release_dir, image


def never_resolve(ref: str) -> FirmwareLocation:
    return FirmwareLocation(url=f"https://example.invalid/{ref}")


async def test_folder_with_several_versions(tmp_path: Path) -> None:
    write_release(tmp_path, "1.0.0")
    write_release(tmp_path, "1.0.10", patch_type="security", priority=90, fixes=["Memory_Leak"])
    write_release(tmp_path, "1.0.9")
    write_release(tmp_path, "1.1.0b1", chip="ESP32-S3")

    catalogue = await FirmwareCatalogue.async_load(folder=tmp_path)

    assert catalogue.problems == ()
    assert catalogue.projects() == [PROJECT]
    assert [r.version for r in catalogue.releases_for(PROJECT)] == [
        "1.1.0b1",
        "1.0.10",
        "1.0.9",
        "1.0.0",
    ]
    latest = catalogue.latest(PROJECT, "ESP32")
    assert latest is not None
    assert latest.version == "1.0.10"
    assert latest.patch_type is PatchType.SECURITY
    assert latest.priority == 90
    assert latest.fixes == ("memory_leak",)
    build = latest.build_for("esp32")
    assert build is not None
    assert build.location.path == (tmp_path / PROJECT / "1.0.10" / "firmware.ota.bin").resolve()
    assert build.summary == "Release 1.0.10"
    s3 = catalogue.latest(PROJECT, "ESP32-S3")
    assert s3 is not None
    assert s3.version == "1.1.0b1"
    assert catalogue.latest(PROJECT, "ESP32-C3") is None
    assert catalogue.latest("acme.other", "ESP32") is None

    assert catalogue.update_for(PROJECT, "ESP32", "1.0.9") is latest
    assert catalogue.update_for(PROJECT, "ESP32", "1.0.10") is None
    assert catalogue.update_for(PROJECT, "ESP32", "2.0.0") is None
    assert catalogue.update_for(PROJECT, "ESP32", "not-a-version") is None

    data = await async_read_firmware(build)
    info = check_image(data, project_name=PROJECT, chip_family="ESP32", md5=build.md5)
    assert info.version == "1.0.10"


async def test_min_version_gates_a_release(tmp_path: Path) -> None:
    write_release(tmp_path, "1.0.0")
    write_release(tmp_path, "1.1.0")
    write_release(tmp_path, "2.0.0", min_version="1.1.0")
    catalogue = await FirmwareCatalogue.async_load(folder=tmp_path)

    def latest(current: str | None) -> str | None:
        release = catalogue.latest(PROJECT, "ESP32", current_version=current)
        return None if release is None else release.version

    assert latest("1.0.0") == "1.1.0"  # must step through 1.1.0 first
    assert latest("1.1.0") == "2.0.0"
    assert latest(None) == "1.1.0"


async def test_missing_folder_is_an_empty_catalogue(tmp_path: Path) -> None:
    catalogue = await FirmwareCatalogue.async_load(folder=tmp_path / "nope")
    assert catalogue.releases == ()
    assert catalogue.problems == ()


async def test_bad_manifests_are_reported_not_fatal(tmp_path: Path) -> None:
    write_release(tmp_path, "1.0.0")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.json").write_text("{not json")
    (bad / "noversion.json").write_text(json.dumps({"name": PROJECT, "builds": []}))
    (bad / "escape.json").write_text(json.dumps(manifest("3.0.0", "../../etc/passwd", "0" * 32)))
    (bad / "missing.json").write_text(json.dumps(manifest("4.0.0", "x.bin", "0" * 32)))
    dupe = tmp_path / PROJECT / "1.0.0" / "zz-dupe.json"
    dupe.write_text(json.dumps(manifest("1.0.0", "firmware.ota.bin", "0" * 32)))
    catalogue = await FirmwareCatalogue.async_load(folder=tmp_path)

    assert [r.version for r in catalogue.releases] == ["1.0.0"]
    messages = {p.source: p.message for p in catalogue.problems}
    assert "not valid JSON" in messages[os.path.join("bad", "broken.json")]
    assert "missing 'version'" in messages[os.path.join("bad", "noversion.json")]
    assert "'..'" in messages[os.path.join("bad", "escape.json")]
    assert "'x.bin' does not exist" in messages[os.path.join("bad", "missing.json")]
    assert "keeping that one" in messages[os.path.join(PROJECT, "1.0.0", "zz-dupe.json")]


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("../outside.bin", "'..'"),
        ("sub/../../outside.bin", "'..'"),
        ("%2e%2e/outside.bin", "'..'"),
        ("/etc/passwd", "relative to the manifest"),
        ("C:/firmware.bin", "relative to the manifest"),
        ("https://example.invalid/fw.bin", "relative to the manifest"),
        ("sub\\fw.bin", "backslash"),
        ("", "empty"),
    ],
)
def test_local_paths_stay_in_the_folder(tmp_path: Path, ref: str, message: str) -> None:
    with pytest.raises(UnsafePathError, match=message):
        resolve_in_folder(tmp_path, tmp_path / "project", ref)


def test_symlink_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    root.mkdir()
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"x")
    (root / "link.bin").symlink_to(outside)
    (root / "inside.bin").write_bytes(b"y")
    (root / "ok-link.bin").symlink_to(root / "inside.bin")
    with pytest.raises(UnsafePathError, match="outside the catalogue folder"):
        resolve_in_folder(root, root, "link.bin")
    assert resolve_in_folder(root, root, "ok-link.bin") == (root / "inside.bin").resolve()
    assert resolve_in_folder(root, root, "./inside.bin") == (root / "inside.bin").resolve()


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("fw.bin", "http://127.0.0.1:8123/fw/acme/fw.bin"),
        ("v2/fw.bin", "http://127.0.0.1:8123/fw/acme/v2/fw.bin"),
        ("/other/fw.bin", "http://127.0.0.1:8123/other/fw.bin"),
        ("http://127.0.0.1:8123/x/fw.bin?sig=1", "http://127.0.0.1:8123/x/fw.bin?sig=1"),
    ],
)
def test_url_resolution(ref: str, expected: str) -> None:
    assert resolve_url("http://127.0.0.1:8123/fw/acme/manifest.json", ref) == expected


@pytest.mark.parametrize(
    "ref",
    [
        "https://evil.example/fw.bin",
        "//evil.example/fw.bin",
        "http://127.0.0.1:9999/fw.bin",
        "https://127.0.0.1:8123/fw.bin",
        "file:///etc/passwd",
        "../fw.bin",
        "a/%2E%2E/%2e%2e/fw.bin",
    ],
)
def test_url_escape_refused(ref: str) -> None:
    with pytest.raises(UnsafePathError):
        resolve_url("http://127.0.0.1:8123/fw/acme/manifest.json", ref)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"version": "1.0.0", "builds": []}, "missing 'name'"),
        ({"name": PROJECT, "version": "banana", "builds": []}, "not a version"),
        ({"name": PROJECT, "version": "1.0.0", "builds": []}, "non-empty list"),
        ({"name": PROJECT, "version": "1.0.0", "builds": [{"chipFamily": "ESP32"}]}, "no build"),
        (manifest("1.0.0", "a.bin", "abc"), "32 hex"),
        (manifest("1.0.0", "a.bin", "0" * 32, patch_type="cosmetic"), "patch_type"),
        (manifest("1.0.0", "a.bin", "0" * 32, priority=-1), "priority"),
        (manifest("1.0.0", "a.bin", "0" * 32, priority=True), "priority"),
        (manifest("1.0.0", "a.bin", "0" * 32, fixes="leak"), "fixes"),
        (manifest("1.0.0", "a.bin", "0" * 32, min_version="x"), "min_version"),
        ([], "empty"),
        ("text", "JSON object"),
    ],
)
def test_manifest_validation(doc: object, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_manifest(doc, source="test", resolve=never_resolve)


def test_manifest_list_and_web_install_only_builds() -> None:
    first = manifest("1.0.0", "a.bin", "0" * 32)
    first["builds"].append({"chipFamily": "ESP8266", "parts": [{"path": "x.bin", "offset": 0}]})
    second = manifest("1.0.1", "b.bin", "1" * 32, chip="esp32-c3")
    second["builds"][0]["ota"]["sha256"] = "A" * 64
    releases = parse_manifest([first, second], source="test", resolve=never_resolve)
    assert [len(r.builds) for r in releases] == [1, 1]
    build = releases[1].build_for("ESP32-C3")
    assert build is not None
    assert build.sha256 == "a" * 64
    assert build.location.url == "https://example.invalid/b.bin"


def test_versions() -> None:
    assert is_newer("1.0.10", "1.0.9")
    assert is_newer("2025.12.0", "2025.4.1")
    assert is_newer("1.0.0", "1.0.0b3")
    assert not is_newer("1.0.0", "1.0.0")
    assert compare_versions("2.6.3", "2.6.4") == -1
    assert is_valid_version("2.6.4")
    assert not is_valid_version("")
    assert not is_valid_version("latest")


@pytest.fixture
async def http_server(tmp_path: Path) -> AsyncIterator[str]:
    """Static files from tmp_path on 127.0.0.1; yields the base URL."""
    app = web.Application()
    app.router.add_static("/", tmp_path)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_manifest_urls_over_http(tmp_path: Path, http_server: str) -> None:
    release_dir, image = write_release(tmp_path, "1.2.0")
    doc = json.loads((release_dir / "manifest.json").read_text())
    doc["version"] = "1.3.0"
    doc["builds"][0]["ota"]["path"] = f"/{PROJECT}/1.2.0/firmware.ota.bin"
    (release_dir / "absolute.json").write_text(json.dumps(doc))
    evil = manifest("9.0.0", "https://evil.example/fw.bin", "0" * 32)
    (tmp_path / "evil.json").write_text(json.dumps(evil))

    async with aiohttp.ClientSession() as session:

        async def fetch(url: str) -> bytes:
            async with session.get(url, raise_for_status=True) as response:
                return await response.read()

        catalogue = await FirmwareCatalogue.async_load(
            manifest_urls=[
                f"{http_server}/{PROJECT}/1.2.0/manifest.json",
                f"{http_server}/{PROJECT}/1.2.0/absolute.json",
                f"{http_server}/evil.json",
                f"{http_server}/missing.json",
                "ftp://127.0.0.1/manifest.json",
            ],
            fetch=fetch,
        )
        assert sorted(r.version for r in catalogue.releases) == ["1.2.0", "1.3.0"]
        problems = {p.source.rsplit("/", 1)[-1]: p.message for p in catalogue.problems}
        assert "own origin" in problems["evil.json"]
        assert "download failed" in problems["missing.json"]
        assert "http(s)" in problems["manifest.json"]

        for version in ("1.2.0", "1.3.0"):
            release = catalogue.get(PROJECT, version)
            assert release is not None
            build = release.build_for("ESP32")
            assert build is not None
            assert build.location.url == (f"{http_server}/{PROJECT}/1.2.0/firmware.ota.bin")
            assert await async_read_firmware(build, fetch=fetch) == image


async def test_downloaded_image_checked_against_manifest_md5() -> None:
    files = {
        "http://127.0.0.1:1/m.json": json.dumps(manifest("1.0.0", "fw.bin", "0" * 32)).encode(),
        "http://127.0.0.1:1/fw.bin": b"not the promised image",
    }

    async def fake_fetch(url: str) -> bytes:
        if url not in files:
            raise FileNotFoundError(url)
        return files[url]

    catalogue = await FirmwareCatalogue.async_load(
        manifest_urls=["http://127.0.0.1:1/m.json"], fetch=fake_fetch
    )
    build = catalogue.releases[0].builds[0]
    with pytest.raises(ChecksumMismatchError, match="md5"):
        await async_read_firmware(build, fetch=fake_fetch)
    del files["http://127.0.0.1:1/fw.bin"]
    with pytest.raises(FetchError, match="download failed"):
        await async_read_firmware(build, fetch=fake_fetch)
    with pytest.raises(ValueError, match="fetch function"):
        await FirmwareCatalogue.async_load(manifest_urls=["http://127.0.0.1:1/m.json"])
