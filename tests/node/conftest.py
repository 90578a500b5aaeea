"""A bare app container on a clock, with a client that records every answer."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from fleetsim.dataplane.container import AppContainer
from fleetsim.dataplane.request import Request
from fleetsim.dataplane.service import Service
from fleetsim.engine.environment import Environment
from fleetsim.scenario.loader import load_scenario
from tests.fleet_scenarios import scenario


class Recorder:
    """Stands for the client's router: notes (request, status, time) of each answer."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.answers: dict[Request, tuple[int, float]] = {}

    def send(self, request: Request) -> None:  # pragma: no cover - not used
        raise AssertionError("not used")

    def on_response(self, request: Request, try_number: int, status: int, host: Any) -> None:
        self.answers[request] = (status, self.env.now)


class Bench:
    """One container (``workers`` workers, constant service time), driven by hand."""

    def __init__(self, workers: int, service_time: float) -> None:
        self.env = Environment()
        spec = load_scenario(scenario(workers=workers)).scenario.spec.services[0]
        self.service = Service(spec)
        self.container = AppContainer(
            self.env, self.service, 0, "zone-a", itertools.repeat(service_time), None
        )
        self.client = Recorder(self.env)

    def arrive_at(self, time: float) -> Request:
        request = Request(None, self.client, time)  # type: ignore[arg-type]
        self.env.schedule_at(time, lambda _: self.container.accept(request, 0))
        return request

    def answered_at(self, request: Request) -> float:
        return self.client.answers[request][1]


@pytest.fixture
def bench() -> Bench:
    return Bench(workers=2, service_time=0.1)
