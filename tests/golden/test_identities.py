"""The conservation identities, on the summary of every catalogue scenario and variant.

The golden summaries are what each run gives, number for number (``test_golden_summaries``
checks it), so the identities are checked here on them without running anything again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SUMMARIES = sorted((Path(__file__).parent / "summaries").glob("*/*.json"))


def _summary(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["summary"]
    return document


@pytest.mark.parametrize("path", SUMMARIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_counts_add_up(path: Path) -> None:
    summary = _summary(path)
    requests = summary["requests"]
    assert requests["total"] == requests["succeeded"] + requests["failed"]
    causes = ("timed_out", "rejected", "errored", "unavailable")
    assert requests["failed"] == sum(requests[cause] for cause in causes)
    # Every ended request was tried at least once; retries are the tries beyond the first.
    assert summary["attempts"] >= requests["total"]
    assert summary["retries"] == summary["attempts"] - requests["total"]
    traffic = summary["traffic"].values()
    assert sum(t["requests"]["total"] for t in traffic) == requests["total"]
    assert sum(t["attempts"] for t in traffic) == summary["attempts"]
    assert sum(t["in_flight"]["end"] for t in traffic) == summary["in_flight"]["end"]
    for name, service in summary["services"].items():
        assert service["attempts"] == service["succeeded"] + service["failed"] + service["lost"], (
            name
        )
        assert service["failed"] >= service["rejected"] + service["unavailable"] + service["reset"]
        assert min(service["in_flight"].values()) >= 0, name
    assert summary["goodput_rps"] <= summary["throughput_rps"]


def test_every_catalogue_variant_is_checked() -> None:
    assert len(SUMMARIES) >= 50
