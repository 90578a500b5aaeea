"""Named, independent random streams.

Every component draws from its own stream, derived from the run's seed and the
stream's name with NumPy's ``SeedSequence`` (PCG64). Adding a component or changing
how often one component draws does not shift any other component's numbers.

Draws are generated in blocks by NumPy and handed out one at a time through
``itertools.chain``, so the hot path pays for a C-level ``next(stream)`` only.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator

import numpy as np

BLOCK = 4096


def _name_key(name: str) -> tuple[int, ...]:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def _lists(draw: Callable[[int], np.ndarray]) -> Iterator[list[float]]:
    while True:
        yield draw(BLOCK).tolist()


def _blocks(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    return itertools.chain.from_iterable(_lists(draw))


class RandomStreams:
    """Factory of independent streams for one run."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def generator(self, name: str) -> np.random.Generator:
        """A NumPy generator private to ``name``."""
        sequence = np.random.SeedSequence(entropy=self.seed, spawn_key=_name_key(name))
        return np.random.Generator(np.random.PCG64(sequence))

    def uniform(self, name: str) -> Iterator[float]:
        """Floats uniform in [0, 1)."""
        generator = self.generator(name)
        return _blocks(generator.random)

    def exponential(self, name: str, mean: float) -> Iterator[float]:
        generator = self.generator(name)
        return _blocks(lambda n: generator.exponential(mean, n))

    def lognormal(self, name: str, mu: float, sigma: float) -> Iterator[float]:
        generator = self.generator(name)
        return _blocks(lambda n: generator.lognormal(mu, sigma, n))

    def normal(self, name: str) -> Iterator[float]:
        """Standard normal draws."""
        generator = self.generator(name)
        return _blocks(generator.standard_normal)

    def geometric(self, name: str, probability: float) -> Iterator[int]:
        """Trials up to and including the first success, each succeeding with ``probability``.

        Blocks are small: a rare event's stream is drawn from rarely.
        """
        generator = self.generator(name)

        def draw() -> Iterator[list[int]]:
            while True:
                yield generator.geometric(probability, 64).tolist()

        return itertools.chain.from_iterable(draw())

    def uniform_between(self, name: str, low: float, high: float) -> Iterator[float]:
        generator = self.generator(name)
        return _blocks(lambda n: generator.uniform(low, high, n))

    def integers(self, name: str, high: int) -> Iterator[int]:
        """Integers uniform in [0, high)."""
        return integers_from(self.generator(name), high)


def integers_from(generator: np.random.Generator, high: int) -> Iterator[int]:
    """Integers uniform in [0, high) drawn in blocks from ``generator``.

    For a bound that changes during a run (a host list that grows and shrinks): keep one
    generator and make a new iterator from it at each change.
    """

    def draw(n: int) -> np.ndarray:
        return generator.integers(0, high, n)

    return itertools.chain.from_iterable(_lists(draw))  # type: ignore[arg-type]
