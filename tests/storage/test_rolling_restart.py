"""Rolling restarts of region servers: naive against graceful_stop.sh's, both directions."""

from __future__ import annotations

from functools import cache
from typing import Any

import fleetsim
from tests.storage.scenarios import storage_scenario

SERVERS, REGIONS = 3, 12


def rolling(reads: float, restart: dict[str, Any]) -> dict[str, Any]:
    """Three region servers restarted in turn from 10 s (10 s to start, 2 s probes)."""
    return storage_scenario(
        servers=SERVERS,
        regions=REGIONS,
        reads=reads,
        duration="200s",
        services={"startup": {"appStart": "10s"}, "readinessProbe": {"periodSeconds": 2}},
        events=[{"at": "10s", "action": "rolling-restart", "service": "rs", **restart}],
    )


@cache
def restarted(method: str) -> dict[str, Any]:
    document = rolling(600, {"method": method, "cooldown": "5s"})
    document["spec"]["traffic"][0]["timeout"] = "2s"
    summary: dict[str, Any] = fleetsim.run(document).summary
    return summary


def cluster(method: str) -> dict[str, Any]:
    figures: dict[str, Any] = restarted(method)["storage"]["clusters"]["rs"]
    return figures


def test_a_naive_restart_leaves_each_servers_regions_offline_until_they_reopen() -> None:
    figures = cluster("naive")
    (restart,) = figures["rolling_restarts"]
    assert restart["servers"] == SERVERS and restart["finished_s"] is not None
    assert figures["moves"] == 0 and figures["reassigned"] == REGIONS
    # Each server's 4 regions: the restart (10 s to start, a probe, the endpoints' 1 s),
    # then the old instance's WAL split (10 s) and the reopen (1 s): over 20 s each.
    assert figures["region_unavailable_seconds"] > REGIONS * 20
    assert restarted("naive")["traffic"]["reads"]["requests"]["failed"] > 0


def test_a_graceful_restart_moves_regions_off_and_back_and_loses_nothing() -> None:
    figures = cluster("graceful")
    (restart,) = figures["rolling_restarts"]
    assert restart["servers"] == SERVERS
    assert figures["moves"] == 2 * REGIONS  # off, then back
    assert figures["reassigned"] == 0
    # Each move takes its region offline for regionOpenTime (1 s) only.
    assert abs(figures["region_unavailable_seconds"] - 2 * REGIONS * 1.0) < 1.0
    assert restarted("graceful")["traffic"]["reads"]["requests"]["failed"] == 0


def test_every_region_is_back_where_it_was_after_a_graceful_restart() -> None:
    table = restarted("graceful")["storage"]["tables"]["t"]
    held = sorted(server["regions"] for server in table["servers"].values() if server["alive"])
    assert held == [REGIONS // SERVERS] * SERVERS


def test_more_mover_threads_unload_and_reload_faster() -> None:
    durations = []
    for threads in (1, 4):
        document = rolling(200, {"method": "graceful", "maxThreads": threads})
        summary = fleetsim.run(document).summary
        (restart,) = summary["storage"]["clusters"]["rs"]["rolling_restarts"]
        durations.append(restart["seconds"])
    # 4 regions per server, off and back: 8 moves of ~1 s one at a time, 2 rounds at 4.
    assert durations[0] - durations[1] > SERVERS * 4
