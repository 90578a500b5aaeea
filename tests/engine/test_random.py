"""Named random streams: reproducible for a seed and independent of one another."""

from __future__ import annotations

from fleetsim.engine.random import RandomStreams


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
