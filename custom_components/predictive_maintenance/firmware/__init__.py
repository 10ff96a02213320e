"""Firmware patching, protocol layer: catalogue, image checks and the ESPHome OTA client.

Pure Python (asyncio + stdlib + awesomeversion); no Home Assistant import, so the
simulator, benchmarks and plain unit tests can use it directly.
"""

from __future__ import annotations

from .catalogue import (
    CatalogueProblem,
    FetchFn,
    FirmwareCatalogue,
    async_read_firmware,
    fetch_manifest,
    scan_folder,
)
from .chips import CHIP_FAMILY_BY_ID, CHIP_ID_BY_FAMILY, normalize_chip_family
from .errors import (
    CatalogueError,
    ChecksumMismatchError,
    FetchError,
    FirmwareError,
    ImageMismatchError,
    InvalidImageError,
    ManifestError,
    UnsafePathError,
    WrongChipError,
    WrongProjectError,
)
from .image import (
    AppDescriptor,
    ImageInfo,
    check_image,
    ensure_image_matches,
    parse_image,
    verify_checksums,
)
from .manifest import (
    FirmwareBuild,
    FirmwareLocation,
    FirmwareRelease,
    PatchType,
    parse_manifest,
)
from .ota_client import OTAClient, OTAResult, OTATimeouts, ProgressCallback, RetryPolicy
from .ota_errors import (
    OTAAuthError,
    OTADeviceError,
    OTAError,
    OTANetworkError,
    OTAPhase,
    OTAProtocolError,
    OTATimeoutError,
)
from .ota_locks import OTASessionLocks
from .ota_protocol import DEFAULT_PORT as OTA_DEFAULT_PORT
from .versions import compare_versions, is_newer, is_valid_version

__all__ = [
    "CHIP_FAMILY_BY_ID",
    "CHIP_ID_BY_FAMILY",
    "OTA_DEFAULT_PORT",
    "AppDescriptor",
    "CatalogueError",
    "CatalogueProblem",
    "ChecksumMismatchError",
    "FetchError",
    "FetchFn",
    "FirmwareBuild",
    "FirmwareCatalogue",
    "FirmwareError",
    "FirmwareLocation",
    "FirmwareRelease",
    "ImageInfo",
    "ImageMismatchError",
    "InvalidImageError",
    "ManifestError",
    "OTAAuthError",
    "OTAClient",
    "OTADeviceError",
    "OTAError",
    "OTANetworkError",
    "OTAPhase",
    "OTAProtocolError",
    "OTAResult",
    "OTASessionLocks",
    "OTATimeoutError",
    "OTATimeouts",
    "PatchType",
    "ProgressCallback",
    "RetryPolicy",
    "UnsafePathError",
    "WrongChipError",
    "WrongProjectError",
    "async_read_firmware",
    "check_image",
    "compare_versions",
    "ensure_image_matches",
    "fetch_manifest",
    "is_newer",
    "is_valid_version",
    "normalize_chip_family",
    "parse_image",
    "parse_manifest",
    "scan_folder",
    "verify_checksums",
]
