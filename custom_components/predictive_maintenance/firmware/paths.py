"""Where a manifest may point: only inside the catalogue folder or the manifest's origin."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from .errors import UnsafePathError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _check_reference(ref: str) -> None:
    if not ref or not ref.strip():
        raise UnsafePathError("empty firmware path")
    if "\\" in ref or any(ord(c) < 0x20 for c in ref):
        raise UnsafePathError(f"firmware path {ref!r} contains a backslash or control character")
    decoded = unquote(ref)
    path_part = urlsplit(decoded).path if "://" in decoded else decoded.split("?", 1)[0]
    if ".." in PurePosixPath(path_part).parts:
        raise UnsafePathError(f"firmware path {ref!r} climbs out of its folder with '..'")


def resolve_in_folder(root: Path, manifest_dir: Path, ref: str) -> Path:
    """Resolve `ref` (from a manifest in `manifest_dir`) to a file inside `root`.

    Rejects absolute paths, URLs, `..` and symlinks that lead outside `root`.
    Touches the file system (symlink resolution): run it off the event loop.
    """
    _check_reference(ref)
    if ref.startswith("/") or "://" in ref or (len(ref) > 1 and ref[1] == ":"):
        raise UnsafePathError(
            f"firmware path {ref!r} must be relative to the manifest inside the catalogue folder"
        )
    root_resolved = root.resolve()
    target = (manifest_dir / ref).resolve()
    if not target.is_relative_to(root_resolved):
        raise UnsafePathError(f"firmware path {ref!r} leads outside the catalogue folder")
    return target


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise UnsafePathError(f"{url!r} is not an http(s) URL")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as err:
        raise UnsafePathError(f"{url!r} has an invalid port") from err
    return scheme, parts.hostname.lower(), port


def resolve_url(manifest_url: str, ref: str) -> str:
    """Resolve `ref` the way ESPHome's http_request update does, same origin only.

    A relative path is taken from the manifest's directory, a path starting with `/`
    from its host; an absolute URL must have the manifest's scheme, host and port.
    """
    _check_reference(ref)
    base_origin = _origin(manifest_url)
    resolved = urljoin(manifest_url, ref)
    if _origin(resolved) != base_origin:
        raise UnsafePathError(f"firmware URL {ref!r} is not on the manifest's own origin")
    return resolved
