"""S12, stale-membership-keepalive: a dead istiod's proxies keep a stale backend list.

The baseline runs its whole 21 minutes (about 20 s of wall time), since the keepalive
window of the default settings (up to 300 s + 9 x 75 s = 975 s after the death) has to
close inside it; the two variants run 6 minutes, which covers their whole story (the
low keepalive's 60 s window and the release). The runs go to a pool of two processes.

Closed form of the baseline: istiod-0's node dies at F = 120 s. A proxy connected to it
received its last data at most ``time`` (300 s) before (a push, or an answered keepalive
probe), so it drops the stream ``time + probes x interval`` after that, between 675 s
and 975 s after the death, then reconnects 500 ms later and its full push lands 5 ms
after that. The backend's rollout publishes its first change at about 181 s, so each
stale frontend is stale from then until its full push lands.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from fleetsim.istio.xds import IstiodServer
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation

S12 = (
    Path(__file__).resolve().parent.parent.parent / "scenarios" / "stale-membership-keepalive.yaml"
)
FAIL_AT = 120.0
RECONNECT = 0.5
PUSH = 0.005
TIME, INTERVAL, PROBES = 300.0, 75.0, 9


def _run(variant: str | None, duration: str | None) -> dict[str, Any]:
    """One run: its summary, its series and when each dead-stream proxy reconnected."""
    simulation = Simulation(load_scenario(S12, variant=variant, duration=duration))
    xds = simulation.mesh.xds if simulation.mesh is not None else None
    assert xds is not None
    dead: dict[str, float] = {}
    reconnected: dict[str, float] = {}
    die = xds._die
    timeout = xds._keepalive_timeout

    def noting_death(server: IstiodServer) -> None:
        dead.update({c.proxy.name: c.last_rx for c in server.clients})
        die(server)

    def noting_timeout(argument: Any) -> None:
        client, stream = argument
        if client.stream == stream:
            reconnected[client.proxy.name] = simulation.env.now
        timeout(argument)

    xds._die = noting_death  # type: ignore[method-assign]
    xds._keepalive_timeout = noting_timeout  # type: ignore[method-assign]
    result = simulation.run()
    return {
        "summary": result.summary,
        "rows": result.series["services"],
        "dead": dead,
        "detected": reconnected,
    }


@pytest.fixture(scope="module")
def s12() -> dict[str, dict[str, Any]]:
    jobs = {
        "baseline": (None, None),
        "low-keepalive": ("low-keepalive", "6m"),
        "istiod-alive": ("istiod-alive", "6m"),
    }
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, *job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def xds(run: dict[str, Any], service: str) -> dict[str, Any]:
    figures: dict[str, Any] = run["summary"]["services"][service]["xds"]
    return figures


def test_proxies_on_the_dead_istiod_drop_it_after_the_keepalive_window(
    s12: dict[str, dict[str, Any]],
) -> None:
    run = s12["baseline"]
    assert run["dead"], "proxies were connected to the istiod whose node failed"
    for name, last in run["dead"].items():
        if name not in run["detected"]:
            continue  # a backend proxy removed by the rollout before it noticed
        since = last + (FAIL_AT - last) // TIME * TIME  # the last answered probe
        assert run["detected"][name] == pytest.approx(since + TIME + PROBES * INTERVAL)
        assert PROBES * INTERVAL < run["detected"][name] - FAIL_AT <= TIME + PROBES * INTERVAL


def test_baseline_stale_seconds_match_the_closed_form(s12: dict[str, dict[str, Any]]) -> None:
    run = s12["baseline"]
    frontends = {n: t for n, t in run["detected"].items() if n.startswith("frontend")}
    figures = xds(run, "frontend")
    assert figures["stale_proxies_max"] == len(frontends) >= 2
    # The first change of the rollout is published at 181 s (release at 180 s, 1 s
    # propagation); each stale frontend is stale until its full push lands.
    closed = sum(detected + RECONNECT + PUSH - 181.0 for detected in frontends.values())
    # Tolerance: the other frontends' brief lags (one debounce + push per change, 8
    # proxies x ~20 changes x 0.105 s < 20 s) and the publish instant within a second.
    assert figures["stale_endpoint_seconds"] == pytest.approx(closed, abs=20.0 + len(frontends))
    # The series: stale frontends from the rollout until the last one reconnects.
    last = max(frontends.values())
    stale_rows = [r for r in run["rows"] if r["service"] == "frontend" and r["stale_proxies"]]
    assert stale_rows
    assert min(r["t"] for r in stale_rows) <= 200.0
    assert max(r["t"] for r in stale_rows) == pytest.approx(last, abs=10.0)


def test_the_stale_window_raises_errors_that_low_keepalive_removes(
    s12: dict[str, dict[str, Any]],
) -> None:
    base, low, alive = (s12[n]["summary"] for n in ("baseline", "low-keepalive", "istiod-alive"))
    gone = {name: xds(s12[name], "backend")["tries_to_gone_endpoints"] for name in s12}
    # Every try of a stale frontend goes to a terminated backend pod: its own 2 retries
    # cannot help (all its backends are gone); the gateway's retries to other frontends
    # hide most, not all.
    assert gone["baseline"] > 100 * gone["low-keepalive"]
    assert base["requests"]["errored"] > 100
    assert base["requests"]["errored"] > 20 * max(low["requests"]["errored"], 1)
    # Low keepalive: the dead streams are dropped 30-60 s after the death, before the
    # rollout; what is left is the rollout's own propagation lag, as with istiod alive.
    assert xds(s12["low-keepalive"], "frontend")["stale_proxies_max"] == 0
    assert xds(s12["low-keepalive"], "frontend")["stale_endpoint_seconds"] < 10.0
    assert gone["low-keepalive"] == gone["istiod-alive"]
    assert low["requests"]["errored"] == alive["requests"]["errored"]
    states = [pod["state"] for pod in base["mesh"]["istiod"]["pods"]]
    assert states.count("lost") == 1 and "lost" not in [
        pod["state"] for pod in alive["mesh"]["istiod"]["pods"]
    ]
