"""Version comparison for firmware releases.

Uses `awesomeversion` (a Home Assistant core dependency, so always present where the
integration runs): it understands SemVer, CalVer (ESPHome's 2025.4.0) and PEP 440
pre-releases alike.
"""

from __future__ import annotations

from functools import cmp_to_key

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from awesomeversion.exceptions import AwesomeVersionCompareException

# "latest", "dev", "beta" and friends are labels, not something a release can be.
_NOT_VERSIONS = frozenset({AwesomeVersionStrategy.UNKNOWN, AwesomeVersionStrategy.SPECIALCONTAINER})


def is_valid_version(value: str) -> bool:
    """True when `value` is a version string the comparator can order."""
    return bool(value.strip()) and AwesomeVersion(value).strategy not in _NOT_VERSIONS


def compare_versions(left: str, right: str) -> int:
    """-1, 0 or 1 as `left` is older than, equal to or newer than `right`.

    Raises `ValueError` for strings that cannot be ordered against each other.
    """
    a, b = AwesomeVersion(left), AwesomeVersion(right)
    try:
        if a == b:
            return 0
        return 1 if a > b else -1
    except AwesomeVersionCompareException as err:
        raise ValueError(f"cannot compare versions {left!r} and {right!r}") from err


def is_newer(candidate: str, current: str) -> bool:
    """True when `candidate` is strictly newer than `current`."""
    return compare_versions(candidate, current) > 0


version_key = cmp_to_key(compare_versions)
