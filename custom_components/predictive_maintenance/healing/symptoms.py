"""Read free-text symptoms ("slow performance", "high memory usage") as issue types."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .models import IssueType, SymptomMatch

# A word matches when it starts with one of these stems ("overheating" -> "overheat").
_STEMS: dict[IssueType, tuple[str, ...]] = {
    IssueType.MEMORY: ("memory", "heap", "ram", "leak", "alloc", "oom", "fragment"),
    IssueType.PERFORMANCE: (
        "slow",
        "lag",
        "sluggish",
        "perform",
        "unresponsive",
        "delay",
        "latenc",
        "loop",
        "hang",
    ),
    IssueType.THERMAL: ("hot", "heat", "overheat", "temperat", "warm", "thermal", "burn"),
    IssueType.CONNECTIVITY: (
        "wifi",
        "signal",
        "disconnect",
        "connect",
        "network",
        "offline",
        "unavailable",
        "rssi",
        "unreachable",
        "drop",
    ),
    IssueType.CRASH_LOOP: ("reboot", "restart", "crash", "reset", "boot", "panic", "watchdog"),
    IssueType.FIRMWARE: ("firmware", "ota", "version", "rollback", "flash", "upgrade"),
    IssueType.NOT_REPORTING: ("stale", "silent", "stuck", "frozen"),
    IssueType.CONFIGURATION: ("encrypt", "config", "sensor", "missing", "key"),
}
# Phrases whose words would be read wrongly one by one.
_PHRASES: dict[str, IssueType] = {
    "no data": IssueType.NOT_REPORTING,
    "not reporting": IssueType.NOT_REPORTING,
    "no updates": IssueType.NOT_REPORTING,
    "not updating": IssueType.NOT_REPORTING,
    "stopped reporting": IssueType.NOT_REPORTING,
    "wi-fi": IssueType.CONNECTIVITY,
}
_WORD = re.compile(r"[a-z0-9]+")


def read_symptom(text: str) -> SymptomMatch:
    """Map one symptom to the issue types it points at (none: not understood)."""
    lowered = text.lower()
    found: list[IssueType] = []
    for phrase, issue_type in _PHRASES.items():
        if phrase in lowered and issue_type not in found:
            found.append(issue_type)
    for word in _WORD.findall(lowered):
        for issue_type, stems in _STEMS.items():
            if issue_type not in found and word.startswith(stems):
                found.append(issue_type)
    return SymptomMatch(text=text, issue_types=tuple(found))


def read_symptoms(texts: Iterable[str]) -> tuple[SymptomMatch, ...]:
    """Read every non-empty symptom, in order."""
    return tuple(read_symptom(text.strip()) for text in texts if text.strip())


def steered_types(matches: Iterable[SymptomMatch]) -> frozenset[IssueType]:
    """Return the issue types any symptom points at."""
    return frozenset(t for match in matches for t in match.issue_types)
