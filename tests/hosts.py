"""Real hosts for tests of load balancers, detectors and routers.

The per-request classes are compiled (``fleetsim.compiled``) and check types at run time,
so a host must be a real ``Host``: these are app containers of a one-service scenario,
named as the test wants, never run.
"""

from __future__ import annotations

import itertools

from fleetsim.dataplane.container import AppContainer
from fleetsim.dataplane.service import Service
from fleetsim.engine.environment import Environment
from fleetsim.scenario.loader import load_scenario
from tests.fleet_scenarios import scenario


def hosts(*names: str, zone: str = "zone-a") -> list[AppContainer]:
    """App containers named ``names``, in ``zone``."""
    env = Environment()
    service = Service(load_scenario(scenario()).scenario.spec.services[0])
    made = []
    for index, name in enumerate(names):
        container = AppContainer(env, service, index, zone, itertools.repeat(1.0), None)
        container.name = name
        made.append(container)
    return made


def names(found: object) -> set[str]:
    """The names of a collection of hosts."""
    assert isinstance(found, set | list | tuple | frozenset)
    return {host.name for host in found}
