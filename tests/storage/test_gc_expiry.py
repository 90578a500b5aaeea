"""A stop-the-world pause against the ZooKeeper session: forgiven when it ends in time,
fatal when it outlasts the timeout (the server is expired, its regions reopen
elsewhere, and it aborts when it thaws)."""

from __future__ import annotations

from functools import cache
from typing import Any

import fleetsim
from tests.storage.scenarios import storage_scenario


@cache
def paused(seconds: int) -> dict[str, Any]:
    document = storage_scenario(
        servers=3,
        regions=6,
        reads=300,
        duration="200s",
        services={
            "process": {
                "pauses": {
                    "interval": {"distribution": "constant", "mean": "20s"},
                    "duration": {"distribution": "constant", "mean": f"{seconds}s"},
                }
            },
            "startup": {"appStart": "5s"},
        },
    )
    summary: dict[str, Any] = fleetsim.run(document).summary
    return summary


def test_a_pause_shorter_than_the_session_timeout_is_forgiven() -> None:
    cluster = paused(60)["storage"]["clusters"]["rs"]
    assert cluster["servers_expired"] == 0 and cluster["servers_aborted"] == 0
    assert cluster["reassigned"] == 0
    # Requests to the frozen servers wait out the pause (and time out at 1 s).
    assert paused(60)["traffic"]["reads"]["requests"]["timed_out"] > 0


def test_a_pause_longer_than_the_session_timeout_expires_the_server_and_it_aborts() -> None:
    summary = paused(120)
    cluster = summary["storage"]["clusters"]["rs"]
    assert cluster["servers_expired"] >= 3  # every server froze for 120 s
    assert cluster["servers_aborted"] >= 3
    assert cluster["reassigned"] > 0
    assert summary["events_by_kind"]["container_restart"] >= 3
