"""Errors raised by the firmware catalogue and the image checks."""

from __future__ import annotations


class FirmwareError(Exception):
    """Base class of every error the firmware package raises."""


class InvalidImageError(FirmwareError):
    """The bytes are not a well-formed ESP32 application image."""


class ImageMismatchError(FirmwareError):
    """The image is valid but made for another device."""


class WrongProjectError(ImageMismatchError):
    """The image's app descriptor names another project."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"image is for project {actual!r}, the device runs {expected!r}")
        self.expected = expected
        self.actual = actual


class WrongChipError(ImageMismatchError):
    """The image's extended header names another chip."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"image is built for {actual}, the device is an {expected}")
        self.expected = expected
        self.actual = actual


class ChecksumMismatchError(FirmwareError):
    """The image's md5 or sha256 differs from the one the catalogue promised."""

    def __init__(self, algorithm: str, expected: str, actual: str) -> None:
        super().__init__(f"{algorithm} mismatch: expected {expected}, got {actual}")
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual


class CatalogueError(FirmwareError):
    """A catalogue source could not be used."""


class ManifestError(CatalogueError):
    """A manifest is not valid JSON or misses required fields."""


class UnsafePathError(CatalogueError):
    """A manifest points outside the catalogue folder or its own origin."""


class FetchError(CatalogueError):
    """The injected fetch function failed for a URL."""
