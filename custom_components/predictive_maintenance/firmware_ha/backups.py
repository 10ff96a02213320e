"""Keep the image a device ran before each update, so a rollback can flash it back."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from homeassistant.util import dt as dt_util

from custom_components.predictive_maintenance.firmware import parse_image

# Enough for "rollback of the rollback" and one spare; images are 1-2 MB each.
KEEP_PER_DEVICE: Final = 3
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class BackupImage:
    """A kept image and what it is."""

    version: str
    project: str
    data: bytes


def _stem(version: str) -> str:
    stem = _UNSAFE.sub("_", version).strip(".")
    return stem or "_"


class ImageBackups:
    """`<config>/predictive_maintenance/backups/<mac>/<version>.bin` (+ `.json` metadata)."""

    def __init__(self, root: Path) -> None:
        """Use `root` as the backups folder (created on first save)."""
        self.root = root

    def _folder(self, mac: str) -> Path:
        return self.root / mac.replace(":", "").lower()

    async def async_save(self, mac: str, version: str, data: bytes) -> None:
        """Keep `data` as the image of `version` (idempotent), pruning old ones."""
        await asyncio.to_thread(self._save, mac, version, data)

    async def async_load(self, mac: str, version: str) -> BackupImage | None:
        """Return the kept image of `version`, checked against its metadata, or None."""
        return await asyncio.to_thread(self._load, mac, version)

    async def async_versions(self, mac: str) -> list[str]:
        """Return the versions kept for a device, newest save first."""
        return await asyncio.to_thread(self._versions, mac)

    async def async_remove(self, mac: str) -> None:
        """Delete every image kept for a device (its entry was removed)."""
        await asyncio.to_thread(shutil.rmtree, self._folder(mac), True)

    def _save(self, mac: str, version: str, data: bytes) -> None:
        folder = self._folder(mac)
        folder.mkdir(parents=True, exist_ok=True)
        stem = _stem(version)
        info = parse_image(data)
        meta = {
            "version": version,
            "project": info.project_name,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "saved_at": dt_util.utcnow().isoformat(),
        }
        image_path = folder / f"{stem}.bin"
        tmp = folder / f"{stem}.bin.tmp"
        tmp.write_bytes(data)
        tmp.replace(image_path)
        (folder / f"{stem}.json").write_text(json.dumps(meta), encoding="utf-8")
        self._prune(folder, keep=stem)

    def _prune(self, folder: Path, keep: str) -> None:
        metas = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for meta in metas[KEEP_PER_DEVICE:]:
            if meta.stem == keep:
                continue
            meta.with_suffix(".bin").unlink(missing_ok=True)
            meta.unlink(missing_ok=True)

    def _load(self, mac: str, version: str) -> BackupImage | None:
        folder = self._folder(mac)
        stem = _stem(version)
        try:
            meta = json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
            data = (folder / f"{stem}.bin").read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            return None
        return BackupImage(version=version, project=str(meta.get("project", "")), data=data)

    def _versions(self, mac: str) -> list[str]:
        folder = self._folder(mac)
        if not folder.is_dir():
            return []
        found: list[tuple[int, str]] = []
        for meta in folder.glob("*.json"):
            try:
                found.append(
                    (meta.stat().st_mtime_ns, str(json.loads(meta.read_text())["version"]))
                )
            except (OSError, ValueError, KeyError):
                continue
        return [version for _, version in sorted(found, reverse=True)]
