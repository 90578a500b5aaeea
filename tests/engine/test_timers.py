"""Fixed-delay deadlines: one clock event per batch, not per subject."""

from __future__ import annotations

import pytest

from fleetsim.engine.environment import Environment
from fleetsim.engine.timers import FixedDelayDeadlines


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
