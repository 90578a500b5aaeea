"""istiod as pods and the proxies' xDS streams (``spec.mesh.istiod``).

A small mesh: six frontends call four backends; istiod runs on a system pool. Every time
below follows from the model's rules: the endpoint propagation delay (1 s), the debounce
(100 ms quiet, 10 s at most), the push time and throttle, the reconnect delay (500 ms)
and, for a dead istiod, TCP keepalive: ``time + probes x interval`` after the last data
the proxy received. The closed forms are checked for the defaults (300 s + 9 x 75 s) and
a low setting (30 s + 3 x 10 s).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fleetsim.errors import ScenarioError
from fleetsim.istio.xds import IstiodServer, XdsClient
from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation

PROPAGATION = 1.0
DEBOUNCE = 0.1
PUSH = 0.005
RECONNECT = 0.5
PRIME_AT = 100.0  # a backend scale-up: every proxy gets a push, its last data before F
FAIL_AT = 110.0  # the node of istiod-0 dies
CHANGE_AT = 130.0  # a backend scale-down: two endpoints go
PRIMED = PRIME_AT + PROPAGATION + DEBOUNCE + PUSH  # when the priming push lands
DEFAULT = {"time": 300.0, "interval": 75.0, "probes": 9}
LOW = {"time": 30.0, "interval": 10.0, "probes": 3}


def mesh_doc(
    *,
    duration: float,
    events: list[dict[str, Any]],
    istiod: dict[str, Any] | None = None,
    rate: float = 40.0,
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "replicas": 2,
        "nodeSelector": {"cloud.google.com/gke-nodepool": "system"},
        "maxServerConnectionAge": 0,
    }
    settings.update(istiod or {})
    apps = {"cloud.google.com/gke-nodepool": "apps"}
    return copy.deepcopy(
        {
            "apiVersion": "fleetsim/v1",
            "kind": "Scenario",
            "metadata": {"name": "xds"},
            "spec": {
                "duration": duration,
                "seed": 3,
                "zones": ["zone-a", "zone-b"],
                "metrics": {"interval": 10},
                "nodePools": [
                    {"name": "system", "count": 3, "cpu": "2", "memory": "8Gi"},
                    {"name": "apps", "count": 2, "cpu": "64", "memory": "64Gi"},
                ],
                "mesh": {"istiod": settings},
                "services": [
                    {
                        "name": "frontend",
                        "replicas": 6,
                        "workers": 20,
                        "serviceTime": {"distribution": "constant", "mean": 0.001},
                        "calls": [{"service": "backend"}],
                        "nodeSelector": apps,
                    },
                    {
                        "name": "backend",
                        "replicas": 4,
                        "workers": 20,
                        "serviceTime": {"distribution": "constant", "mean": 0.005},
                        "nodeSelector": apps,
                    },
                ],
                "traffic": [{"name": "users", "target": "frontend", "rate": rate}],
                "events": events,
            },
        }
    )


def dead_istiod_events(*, fail: bool = True) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"at": PRIME_AT, "action": "scale", "service": "backend", "replicas": 5},
        {"at": CHANGE_AT, "action": "scale", "service": "backend", "replicas": 3},
    ]
    if fail:
        events.insert(1, {"at": FAIL_AT, "action": "fail-node", "service": "istiod"})
    return events


class Watch:
    """Notes when each proxy's view turns fresh again, and who was on the dead istiod."""

    def __init__(self, simulation: Simulation) -> None:
        xds = simulation.mesh.xds if simulation.mesh is not None else None
        assert xds is not None
        self.xds = xds
        self.env = simulation.env
        self.fresh: dict[str, list[float]] = {}
        self.on_dead: dict[str, float] = {}  # proxy -> its last data at the death
        fresh = xds._fresh
        die = xds._die

        def noting_fresh(client: XdsClient) -> None:
            self.fresh.setdefault(client.proxy.name, []).append(self.env.now)
            fresh(client)

        def noting_death(server: IstiodServer) -> None:
            self.on_dead = {c.proxy.name: c.last_rx for c in server.clients}
            die(server)

        xds._fresh = noting_fresh  # type: ignore[method-assign]
        xds._die = noting_death  # type: ignore[method-assign]


def run(doc: dict[str, Any]) -> tuple[Simulation, Watch, dict[str, Any]]:
    simulation = Simulation(load_scenario(doc))
    watch = Watch(simulation)
    summary = simulation.run().summary
    return simulation, watch, summary


@pytest.mark.parametrize("keepalive", [DEFAULT, LOW], ids=["default-975s", "low-60s"])
def test_a_dead_istiods_proxies_stay_stale_for_the_keepalive_window(
    keepalive: dict[str, float],
) -> None:
    window = keepalive["time"] + keepalive["probes"] * keepalive["interval"]
    doc = mesh_doc(
        duration=FAIL_AT + window + 60.0,
        events=dead_istiod_events(),
        istiod={"keepalive": keepalive},
    )
    _, watch, summary = run(doc)
    assert watch.on_dead, "some proxies were connected to the istiod that died"
    # Their last data was the priming push (the stream was idle for less than ``time``).
    assert all(last == pytest.approx(PRIMED) for last in watch.on_dead.values())
    # Each one's view of the backend turns fresh when the full push after its reconnect
    # lands: last data + time + probes x interval, + the reconnect delay + one push.
    expected = PRIMED + window + RECONNECT + PUSH
    changed = CHANGE_AT + PROPAGATION
    frontends = [name for name in watch.on_dead if name.startswith("frontend")]
    assert frontends
    for name in frontends:
        assert watch.fresh[name][-1] == pytest.approx(expected)
    # Proxies on the live istiod were fresh one debounce and one push after the change.
    others = [n for n in watch.fresh if n.startswith("frontend") and n not in watch.on_dead]
    assert others
    for name in others:
        assert watch.fresh[name][-1] == pytest.approx(changed + DEBOUNCE + PUSH)
    # The group's stale seconds are those windows (plus each change's brief lag).
    stale = summary["services"]["frontend"]["xds"]["stale_endpoint_seconds"]
    lag = DEBOUNCE + PUSH
    closed = len(frontends) * (expected - changed) + len(others) * lag
    assert stale == pytest.approx(closed + 6 * lag, abs=6 * lag)  # + the priming push
    assert summary["services"]["frontend"]["xds"]["stale_proxies_max"] == len(frontends)
    # The stale proxies kept trying the two backends that were removed.
    assert summary["services"]["backend"]["xds"]["tries_to_gone_endpoints"] > 0
    pods = summary["mesh"]["istiod"]["pods"]
    assert [pod["state"] for pod in pods[:2]] == ["lost", "running"]


def test_with_istiod_alive_every_proxy_is_fresh_one_debounce_after_each_change() -> None:
    doc = mesh_doc(duration=400.0, events=dead_istiod_events(fail=False))
    _, watch, summary = run(doc)
    assert watch.on_dead == {}
    for name, times in watch.fresh.items():
        if name.startswith("frontend"):
            assert times[-1] == pytest.approx(CHANGE_AT + PROPAGATION + DEBOUNCE + PUSH)
    figures = summary["services"]["frontend"]["xds"]
    # Six proxies, two changes, one debounce and one push each.
    assert figures["stale_endpoint_seconds"] == pytest.approx(6 * 2 * (DEBOUNCE + PUSH))
    assert figures["stale_proxies_max"] == 0  # never stale at an interval boundary
    # Only the tries of the lag between SIGTERM and the push (no preStop): at most every
    # try (3 per request at 40/s) during propagation + debounce + push.
    gone = summary["services"]["backend"]["xds"]["tries_to_gone_endpoints"]
    assert 0 < gone <= 3 * 40 * (PROPAGATION + DEBOUNCE + PUSH)


def test_low_keepalive_shortens_the_errors_of_a_dead_istiod() -> None:
    """Both directions on traffic: tries to gone endpoints grow with the window."""
    tries = {}
    for name, keepalive in (("default", DEFAULT), ("low", LOW)):
        doc = mesh_doc(
            duration=FAIL_AT + 1100.0,
            events=[*dead_istiod_events(), {"at": 140, "action": "release", "service": "backend"}],
            istiod={"keepalive": keepalive},
        )
        _, _, summary = run(doc)
        tries[name] = summary["services"]["backend"]["xds"]["tries_to_gone_endpoints"]
    assert tries["default"] > 10 * tries["low"]


def test_a_graceful_istiod_deletion_closes_its_streams_and_proxies_reconnect_at_once() -> None:
    events = [
        {"at": FAIL_AT, "action": "terminate-node", "node": "system-0"},
        {"at": CHANGE_AT, "action": "scale", "service": "backend", "replicas": 3},
    ]
    simulation = Simulation(load_scenario(mesh_doc(duration=300.0, events=events)))
    xds = simulation.mesh.xds if simulation.mesh is not None else None
    assert xds is not None
    simulation.cluster.start({s.name: s for s in simulation.sources})
    simulation.env.run(FAIL_AT - 1)
    first = next(iter(xds.servers.values()))
    assert simulation.cluster.deployments["istiod"].pods[0].node.name == "system-0"  # type: ignore[union-attr]
    leaving = list(first.clients)
    assert leaving
    simulation.env.run(FAIL_AT + 0.001)
    assert first.state == "deleted" and not first.clients  # GOAWAY at once
    # A reconnect 500 ms later may still pick the deleted pod (the Service's endpoints
    # drop it after the 1 s propagation): refused, tried again 500 ms later.
    by = FAIL_AT + PROPAGATION + 2 * RECONNECT + PUSH
    simulation.env.run(by + 0.001)
    assert all(c.server is not None and c.server.alive for c in leaving)
    assert all(FAIL_AT + RECONNECT + PUSH - 1e-9 <= c.last_rx <= by for c in leaving)


def test_debounce_batches_changes_and_caps_the_wait_at_debounce_max() -> None:
    simulation = Simulation(load_scenario(mesh_doc(duration=60.0, events=[])))
    xds = simulation.mesh.xds if simulation.mesh is not None else None
    assert xds is not None
    simulation.cluster.start({s.name: s for s in simulation.sources})
    fanout = xds.fanouts["backend"]
    pushes: list[float] = []
    queue = xds._debounce

    def noting(server: IstiodServer) -> None:
        before = server.pushes
        queue(server)
        if server.pushes > before and server.name.endswith("-0"):
            pushes.append(simulation.env.now)

    xds._debounce = noting  # type: ignore[method-assign]
    endpoints = list(fanout.endpoints)
    # Two changes 50 ms apart: one push, 100 ms after the second.
    for at in (5.0, 5.05):
        simulation.env.schedule_at(at, lambda _: fanout.set_endpoints(endpoints))
    # A change every 50 ms for 15 s: never quiet, so pushed 10 s after the first.
    for step in range(300):
        simulation.env.schedule_at(20.0 + step * 0.05, lambda _: fanout.set_endpoints(endpoints))
    simulation.env.run(40.0)
    assert pushes[0] == pytest.approx(5.15)
    assert pushes[1] == pytest.approx(30.0)  # debounceMax after the first change at 20 s
    # The changes after that push started a new batch at 30.05 s: pushed once quiet.
    assert pushes[2] == pytest.approx(20.0 + 299 * 0.05 + DEBOUNCE)
    assert len(pushes) == 3


def test_two_istiod_pods_give_their_proxies_different_views_during_a_push() -> None:
    """One push at a time per istiod, a second each: proxies land one after another."""
    doc = mesh_doc(
        duration=60.0,
        events=[{"at": 20, "action": "scale", "service": "backend", "replicas": 3}],
        istiod={"pushTime": "1s", "pushThrottle": 1},
    )
    simulation = Simulation(load_scenario(doc))
    xds = simulation.mesh.xds if simulation.mesh is not None else None
    assert xds is not None
    simulation.cluster.start({s.name: s for s in simulation.sources})
    start = 20.0 + PROPAGATION + DEBOUNCE
    simulation.env.run(start + 30.0)
    landed: dict[str, tuple[str, float]] = {}
    for server in xds.servers.values():
        clients = list(server.clients)
        assert len(clients) >= 2
        # One push at a time, 1 s each, in connection order.
        times = [c.last_rx for c in clients]
        assert times == pytest.approx([start + k + 1.0 for k in range(len(clients))])
        for client in clients:
            if client.proxy.service == "frontend":
                landed[client.proxy.name] = (server.name, client.last_rx)
    assert {
        len(xds.clients[p].proxy.clusters["backend"].endpoints)
        for p in xds.clients
        if p.service == "frontend"
    } == {3}
    # Two frontends on different istiod pods whose pushes landed at different times:
    # in between, one sends to four backends and the other to three.
    pairs = [
        (a, b)
        for a, (server_a, at_a) in landed.items()
        for b, (server_b, at_b) in landed.items()
        if server_a != server_b and at_a < at_b
    ]
    assert pairs
    a, b = pairs[0]
    middle = (landed[a][1] + landed[b][1]) / 2
    replay = Simulation(load_scenario(doc))
    replay.cluster.start({s.name: s for s in replay.sources})
    replay.env.run(middle)
    assert replay.mesh is not None
    views = {
        proxy.name: len(proxy.clusters["backend"].endpoints)
        for proxy in replay.mesh.proxies["frontend"]
    }
    assert (views[a], views[b]) == (3, 4)


def test_max_server_connection_age_rebalances_streams_and_zero_turns_it_off() -> None:
    aged = {}
    for age in (60.0, 0.0):
        doc = mesh_doc(duration=300.0, events=[], istiod={"maxServerConnectionAge": age})
        _, _, summary = run(doc)
        aged[age] = summary["events_by_kind"].get("xds_stream_aged", 0)
    proxies = 6 + 4 + 3  # frontends, backends, ingress gateways
    # Each stream closes about every 60 s (+/- 10 %): ~5 times each in 300 s.
    assert aged[60.0] == pytest.approx(5 * proxies, rel=0.2)
    assert aged[0.0] == 0


# --- the scenario block -----------------------------------------------------------------


def test_defaults_are_istios() -> None:
    doc = mesh_doc(duration=10.0, events=[])
    doc["spec"]["mesh"]["istiod"] = {}
    istiod = load_scenario(doc).scenario.spec.mesh.istiod  # type: ignore[union-attr]
    assert istiod is not None
    assert (istiod.replicas, istiod.debounce_after, istiod.debounce_max) == (1, 0.1, 10.0)
    assert (istiod.push_throttle, istiod.max_server_connection_age) == (100, 1800.0)
    keepalive = istiod.keepalive
    assert (keepalive.time, keepalive.interval, keepalive.probes) == (300.0, 75.0, 9)
    assert istiod.reconnect_delay == 0.5
    assert (istiod.resources.requests.cpu, istiod.resources.requests.memory) == (0.5, 2**31)


@pytest.mark.parametrize(
    ("change", "path", "phrase"),
    [
        (
            lambda spec: spec["mesh"]["istiod"].update(debounceAfter="20s"),
            "spec.mesh.istiod.debounceMax",
            "expected a debounceMax no shorter than debounceAfter (20s)",
        ),
        (
            lambda spec: spec["mesh"]["istiod"]["keepalive"].update(probes=0),
            "spec.mesh.istiod.keepalive.probes",
            "expected a value of at least 1",
        ),
        (
            lambda spec: spec["mesh"]["istiod"].update(
                nodeSelector={"cloud.google.com/gke-nodepool": "sytem"}
            ),
            "spec.mesh.istiod.nodeSelector['cloud.google.com/gke-nodepool']",
            "did you mean 'system'?",
        ),
        (
            lambda spec: spec["services"].append(
                {
                    "name": "istiod",
                    "replicas": 1,
                    "serviceTime": {"distribution": "constant", "mean": 0.01},
                }
            ),
            "spec.services[2].name",
            "'istiod' is istiod's own Deployment",
        ),
        (
            lambda spec: spec["mesh"].pop("istiod"),
            "spec.events[0].service",
            "expected the name of a service in spec.services (frontend, backend)",
        ),
    ],
    ids=["debounce-max-short", "no-probes", "selector-pool", "name-clash", "no-istiod"],
)
def test_bad_istiod_settings_are_clear_errors(change: Any, path: str, phrase: str) -> None:
    doc = mesh_doc(duration=10.0, events=[{"at": 5, "action": "fail-node", "service": "istiod"}])
    doc["spec"]["mesh"]["istiod"]["keepalive"] = {}
    change(doc["spec"])
    with pytest.raises(ScenarioError) as caught:
        load_scenario(doc)
    message = str(caught.value)
    assert path in message and phrase in message


def test_proxies_of_a_lost_node_leave_and_reconnect_when_the_node_is_back() -> None:
    doc = mesh_doc(
        duration=200.0,
        events=[
            {"at": 20, "action": "fail-zone", "zone": "zone-b"},
            {"at": 60, "action": "restore-zone", "zone": "zone-b"},
            {"at": 150, "action": "scale", "service": "backend", "replicas": 3},
        ],
    )
    simulation = Simulation(load_scenario(doc))
    xds = simulation.mesh.xds if simulation.mesh is not None else None
    assert xds is not None and simulation.mesh is not None
    simulation.cluster.start({s.name: s for s in simulation.sources})
    simulation.env.run(30.0)
    in_b = [p for p in simulation.mesh.proxies["frontend"] if p.zone == "zone-b"]
    assert in_b and all(p not in xds.clients for p in in_b)  # gone with their node
    simulation.env.run(170.0)
    frontends = simulation.mesh.proxies["frontend"]
    assert all(p in xds.clients and xds.clients[p].server is not None for p in frontends)
    # The change at 150 s reached every frontend on a live istiod, those of zone-b
    # included (they reconnected); those still on zone-b's dead istiod wait for keepalive.
    for proxy in frontends:
        server = xds.clients[proxy].server
        assert server is not None
        assert len(proxy.clusters["backend"].endpoints) == (3 if server.alive else 4)
    assert all(xds.clients[p].server.alive for p in in_b)  # type: ignore[union-attr]
