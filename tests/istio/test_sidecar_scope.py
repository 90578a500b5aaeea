"""A proxy's configuration scope: without an Istio ``Sidecar`` resource every proxy holds
a cluster and the endpoints of every service of the mesh (the scenario's and
``mesh.otherServices``); with one, only those of its egress hosts. Its memory follows
(``ProxyModel``: per cluster and per endpoint)."""

from __future__ import annotations

import copy
from typing import Any

from fleetsim.scenario.loader import load_scenario
from fleetsim.simulation import Simulation

OTHER_SERVICES = 100
ENDPOINTS_EACH = 4


def mesh_fleet(egress: list[dict[str, Any]] | None) -> dict[str, Any]:
    sidecar: dict[str, Any] = {} if egress is None else {"egress": egress}
    spec: dict[str, Any] = {
        "duration": 5.0,
        "warmup": 1.0,
        "seed": 3,
        "mesh": {"otherServices": {"count": OTHER_SERVICES, "endpointsPerService": ENDPOINTS_EACH}},
        "services": [
            {
                "name": "frontend",
                "replicas": 2,
                "workers": 8,
                "serviceTime": {"distribution": "exponential", "mean": 0.001},
                "sidecar": sidecar,
                "calls": [{"service": "backend"}],
            },
            {
                "name": "backend",
                "replicas": 5,
                "workers": 8,
                "serviceTime": {"distribution": "exponential", "mean": 0.002},
            },
            {
                "name": "billing",
                "replicas": 7,
                "serviceTime": {"distribution": "exponential", "mean": 0.002},
            },
        ],
        "traffic": [
            {"name": "users", "target": "frontend", "rate": 100.0},
            {"name": "jobs", "target": "billing", "rate": 10.0},
        ],
    }
    document = {"apiVersion": "fleetsim/v1", "kind": "Scenario", "metadata": {"name": "scope"}}
    return copy.deepcopy({**document, "spec": spec})


def run(egress: list[dict[str, Any]] | None) -> Simulation:
    simulation = Simulation(load_scenario(mesh_fleet(egress)))
    simulation.run()
    return simulation


def test_without_a_sidecar_resource_a_proxy_holds_the_whole_mesh() -> None:
    simulation = run(None)
    summary = simulation.summary.build(
        scenario="scope", variant="baseline", seed=3, wall=0.0, events=0, now=6.0
    )
    config = summary["services"]["frontend"]["proxy_config"]
    # 3 services of the scenario + 100 others; 2 + 5 + 7 endpoints + 100 x 4.
    assert config == {"clusters": 3 + OTHER_SERVICES, "endpoints": 14 + OTHER_SERVICES * 4}
    assert simulation.mesh is not None
    proxy = simulation.mesh.proxies["frontend"][0]
    model = simulation.spec.mesh.proxy if simulation.spec.mesh is not None else None
    assert model is not None
    assert proxy.memory_bytes() == (
        model.memory_base
        + model.memory_per_connection * proxy.connections
        + model.memory_per_cluster * config["clusters"]
        + model.memory_per_endpoint * config["endpoints"]
    )


def test_egress_hosts_scope_the_configuration_and_the_memory() -> None:
    whole = run(None)
    scoped = run([{"hosts": ["backend"]}])
    assert whole.mesh is not None and scoped.mesh is not None
    summary = scoped.summary.build(
        scenario="scope", variant="scoped", seed=3, wall=0.0, events=0, now=6.0
    )
    assert summary["services"]["frontend"]["proxy_config"] == {"clusters": 1, "endpoints": 5}
    # The backend's proxies have no Sidecar resource: they still hold everything.
    assert summary["services"]["backend"]["proxy_config"]["clusters"] == 3 + OTHER_SERVICES
    model = scoped.spec.mesh.proxy if scoped.spec.mesh is not None else None
    assert model is not None
    saved = model.memory_per_cluster * (2 + OTHER_SERVICES) + model.memory_per_endpoint * (
        9 + OTHER_SERVICES * ENDPOINTS_EACH
    )
    whole_proxy = whole.mesh.proxies["frontend"][0]
    scoped_proxy = scoped.mesh.proxies["frontend"][0]
    connections = model.memory_per_connection * (whole_proxy.connections - scoped_proxy.connections)
    assert whole_proxy.memory_bytes() - scoped_proxy.memory_bytes() == saved + connections
