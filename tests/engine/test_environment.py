"""The clock: events in time order, the run horizon, periodic events."""

from __future__ import annotations

from fleetsim.engine.environment import Environment


def test_events_run_in_time_order_and_ties_in_scheduling_order() -> None:
    env = Environment()
    seen: list[tuple[float, str]] = []
    for time, label in [(2.0, "c"), (1.0, "a"), (2.0, "d"), (1.5, "b")]:
        env.schedule_at(time, lambda name, t=time: seen.append((t, name)), label)
    env.run(10.0)
    assert seen == [(1.0, "a"), (1.5, "b"), (2.0, "c"), (2.0, "d")]
    assert env.now == 10.0
    assert env.events_processed == 4


def test_run_stops_at_the_horizon_and_keeps_later_events() -> None:
    env = Environment()
    seen: list[float] = []
    env.schedule_at(1.0, lambda _: seen.append(env.now))
    env.schedule_at(3.0, lambda _: seen.append(env.now))
    env.run(2.0)
    assert seen == [1.0]
    assert env.peek() == 3.0
    env.run(5.0)
    assert seen == [1.0, 3.0]


def test_every_repeats_with_its_period() -> None:
    env = Environment()
    ticks: list[float] = []
    env.every(0.5, ticks.append)
    env.run(2.0)
    assert ticks == [0.5, 1.0, 1.5, 2.0]
