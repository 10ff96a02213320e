"""Human-readable actions, each naming the metric it is about."""

from __future__ import annotations

from .health import MetricAssessment
from .limits import limit_for
from .reboots import Reboot

_CRASH_HINTS = (
    ("brownout", "check the power supply and cabling (brownout resets)"),
    ("watchdog", "a component blocks the main loop long enough to trip the watchdog"),
    ("wdt", "a component blocks the main loop long enough to trip the watchdog"),
    ("panic", "firmware crash (panic): check heap headroom and recent firmware changes"),
    ("exception", "firmware crash (exception): check heap headroom and recent firmware changes"),
)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def metric_recommendation(m: MetricAssessment) -> str | None:
    """One line for a metric that is past a threshold or heading to its failure limit."""
    limit = limit_for(m.metric)
    if limit is None:
        if m.anomalies:
            return f"{m.metric}: {m.anomalies} anomalies in the window; check what changed"
        return None
    if (m.ttf_hours is not None and m.ttf_hours <= 0.0) or m.state == 2:
        return (
            f"{m.metric}: {_fmt(m.value)} {limit.unit} is past its limit of "
            f"{_fmt(limit.failure)} {limit.unit}; {limit.action}"
        )
    if m.ttf_hours is not None:
        return (
            f"{m.metric}: trending to {_fmt(limit.failure)} {limit.unit} in about "
            f"{m.ttf_hours:.1f} h; {limit.action}"
        )
    if m.state == 1:
        return f"{m.metric}: {_fmt(m.value)} {limit.unit} is in its warning range; {limit.action}"
    if m.anomalies:
        return f"{m.metric}: {m.anomalies} anomalies in the window; check what changed"
    return None


def crash_recommendation(crashes: list[Reboot]) -> str | None:
    """One line about crash frequency, with the likely cause from the last reset reason."""
    if not crashes:
        return None
    reason = (crashes[-1].reason or "").lower()
    hint = next((text for key, text in _CRASH_HINTS if key in reason), None)
    hint = hint or "review the logs around the resets and recent firmware changes"
    return (
        f"reboots: {len(crashes)} unexpected reboot(s) in 24 h (last: {crashes[-1].reason}); {hint}"
    )


def fragmentation_recommendation(ratio: float) -> str:
    """The fragmentation line (C07)."""
    return (
        f"heap_max_block: largest free block is {ratio * 100:.1f} % of free heap (fragmented); "
        "restart the device and reduce dynamic allocations"
    )
