"""The event log's timeline: what the events table and the report's annotations read."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import fleetsim
from fleetsim.metrics import events as events_module
from fleetsim.metrics.events import EventLog

TOUR = "tests/golden/tours/kubernetes-tour.yaml"


def test_the_timeline_keeps_the_window_and_counts_what_it_drops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [0.0]
    log = EventLog(clock=lambda: now[0])
    log.add_service("api", 2, 0.0)
    log.record("pod_created", "api", "api-0")
    now[0] = 5.0
    log.start_window(5.0)
    log.record("node_failed", None, "node-3")
    log.replicas_changed("api", 4, 5.0)
    assert [(e.time, e.kind, e.subject) for e in log.timeline] == [
        (5.0, "node_failed", "node-3"),
        (5.0, "scale_up", "deployment/api"),
    ]
    assert log.timeline[1].detail == "replicas 2 -> 4"
    monkeypatch.setattr(events_module, "TIMELINE_LIMIT", 2)
    log.record("pod_ready", "api", "api-1")
    assert len(log.timeline) == 2 and log.timeline_dropped == 1
    assert log.counts["pod_ready"] == 1  # counted even when not kept


def test_a_run_writes_its_events_table_in_time_order(tmp_path: Path) -> None:
    result = fleetsim.run(TOUR)
    result.write(tmp_path)
    with (tmp_path / "events.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == [
        *("scenario", "variant", "seed"),
        *("time_s", "kind", "service", "object", "detail"),
    ]
    times = [float(row["time_s"]) for row in rows]
    assert times == sorted(times)
    warmup = result.summary["warmup_seconds"]
    assert min(times) >= warmup
    kinds = {row["kind"] for row in rows}
    assert {"scenario:release", "pod_created", "scale_up"} <= kinds
    # Every counted event of the window is on the timeline.
    counted = sum(result.summary["events_by_kind"].values())
    assert sum(not row["kind"].startswith("scenario:") for row in rows) == counted
