"""The clock, fixed-delay timers, random streams and the streaming histogram."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fleetsim.engine.environment import Environment
from fleetsim.engine.random import RandomStreams
from fleetsim.engine.timers import FixedDelayDeadlines
from fleetsim.metrics.histogram import RELATIVE_ACCURACY, Histogram, bucket_of, bucket_value


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


class _Subject:
    def __init__(self) -> None:
        self.done = False
        self.try_number = 0
        self.expired: list[tuple[float, int]] = []


def test_deadlines_expire_live_subjects_only() -> None:
    env = Environment()
    subjects = [_Subject() for _ in range(5)]

    def expire(subject: _Subject, token: int) -> None:
        subject.expired.append((env.now, token))

    deadlines = FixedDelayDeadlines(env, 1.0, expire)
    for index, subject in enumerate(subjects):
        env.schedule_at(index * 0.1, lambda s: deadlines.arm(s), subject)
    env.schedule_at(0.5, lambda _: setattr(subjects[1], "done", True))
    env.run(3.0)
    assert subjects[1].expired == []
    for index in (0, 2, 3, 4):
        assert len(subjects[index].expired) == 1
        assert subjects[index].expired[0][0] == pytest.approx(index * 0.1 + 1.0)
    assert len(deadlines) == 0


def test_deadline_with_a_token_follows_only_that_try() -> None:
    env = Environment()
    moved_on, current = _Subject(), _Subject()
    expired: list[_Subject] = []
    deadlines = FixedDelayDeadlines(env, 1.0, lambda s, _: expired.append(s))
    deadlines.arm(moved_on, 0)
    deadlines.arm(current, 0)
    moved_on.try_number = 1  # a retry started: the first try's deadline no longer matters
    env.run(2.0)
    assert expired == [current]


def test_deadlines_hold_few_events_on_the_clock() -> None:
    """Deadlines of finished subjects are dropped without their own clock event."""
    env = Environment()
    subjects = [_Subject() for _ in range(10_000)]
    deadlines = FixedDelayDeadlines(env, 1.0, lambda s, _: None)
    for index, subject in enumerate(subjects):
        env.schedule_at(index * 1e-3, lambda s: deadlines.arm(s), subject)
        env.schedule_at(index * 1e-3 + 0.01, lambda s: setattr(s, "done", True), subject)
    env.run(20.0)
    timer_events = env.events_processed - 2 * len(subjects)
    assert timer_events <= 12  # about one per second of arming, 10 s of it


def test_named_streams_are_reproducible_and_independent() -> None:
    first = RandomStreams(5)
    second = RandomStreams(5)
    a = [next(first.uniform("a")) for _ in range(3)]
    assert a == [next(second.uniform("a")) for _ in range(3)]
    stream_a = first.uniform("x")
    stream_b = first.uniform("y")
    assert [next(stream_a) for _ in range(5)] != [next(stream_b) for _ in range(5)]
    # Drawing more from one stream does not move another.
    third = RandomStreams(5)
    noisy = third.uniform("noise")
    for _ in range(10_000):
        next(noisy)
    assert [next(third.uniform("a")) for _ in range(3)] == a
    assert next(RandomStreams(6).uniform("a")) != a[0]


@pytest.mark.parametrize("sigma", [0.5, 1.5, 3.0])
def test_histogram_quantiles_within_relative_accuracy(sigma: float) -> None:
    values = np.random.default_rng(3).lognormal(-4.0, sigma, 100_000)
    histogram = Histogram()
    for value in values.tolist():
        histogram.record(value)
    ordered = np.sort(values)
    qs = [0.5, 0.9, 0.99, 0.999, 0.9999]
    for q, estimate in zip(qs, histogram.quantiles(qs), strict=True):
        exact = ordered[max(1, math.ceil(q * len(ordered))) - 1]
        assert abs(estimate / exact - 1) <= RELATIVE_ACCURACY + 1e-12
    assert histogram.maximum == ordered[-1]
    assert histogram.mean() == pytest.approx(values.mean(), rel=1e-9)
    assert histogram.count == len(values)


def test_histogram_buckets_bound_their_values() -> None:
    for value in [1e-9, 3.3e-7, 1e-3, 0.0123, 1.0, 59.9, 3600.0]:
        index = bucket_of(value)
        assert abs(bucket_value(index) / value - 1) <= RELATIVE_ACCURACY + 1e-12
    assert bucket_of(0.0) == 0
    assert bucket_value(0) == 0.0
