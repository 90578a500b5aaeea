"""Warnings a run's figures need beside them: a backlog that grew, a saturated service.

Counts in the window are by outcome, so a fleet that cannot keep up reports only the
requests that did end: with a ten-second service time, three requests answered and
nothing failed. The backlog tells it apart: requests in flight at the end of the
window against its start. A backlog that grew by more than ``BACKLOG_GROWTH`` of the
requests sent (and by more than ``BACKLOG_MIN`` requests, above Poisson noise) means
the offered load exceeds what the fleet serves.
"""

from __future__ import annotations

from fleetsim.summary.model import Summary

BACKLOG_GROWTH = 0.05
BACKLOG_MIN = 20
SATURATED = 0.98


def overload_warnings(summary: Summary, sent: dict[str, int]) -> list[str]:
    """Warnings in the order the figures appear: traffic first, then services."""
    found: list[str] = []
    for name, figures in summary["traffic"].items():
        start, end = figures["in_flight"]["start"], figures["in_flight"]["end"]
        growth = end - start
        sent_here = sent.get(name, 0)
        if growth > BACKLOG_MIN and growth > BACKLOG_GROWTH * sent_here:
            found.append(
                f"traffic {name!r}: the backlog grew from {start:,} to {end:,} requests in "
                f"flight over the window ({growth / max(sent_here, 1):.0%} of the "
                f"{sent_here:,} sent): the offered load exceeds what the fleet serves, "
                "and the figures count only the requests that ended"
            )
    for name, service in summary["services"].items():
        if service["utilization"] >= SATURATED:
            utilization = service["utilization"]
            shown = (
                "100% (the work started exceeds it)" if utilization > 1 else f"{utilization:.1%}"
            )
            found.append(f"service {name!r} was saturated: utilization {shown} over the window")
    return found
