"""Row keys: where they sit in a table's key space, and how clients draw them.

HBase row keys are byte strings in lexicographic order. Here a key is an ``int`` whose
order is that order:

- a table with k salt buckets has k **bucket ranges** of width ``BUCKET_WIDTH`` (the
  salt prefix is the high part: bucket b's keys sort before bucket b+1's);
- inside a bucket, the existing rows (hashed ids: uniform or Zipf keys) sit in
  ``[0, HASHED_SPAN)``, and time-ordered keys (``sequential``) above them, at
  ``HASHED_SPAN`` plus the microseconds since the start of the run: each is beyond
  every key written before it, as a timestamp key is.

A table is pre-split evenly over the hashed part of each bucket, so its last region in
a bucket also holds every time-ordered key of that bucket: the "all writes hit the last
region" of a monotonic key (the HBase book, "Rowkey Design: Hotspotting").

Draws come in NumPy blocks; the per-request cost is one ``next``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from math import gcd
from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    from fleetsim.engine.environment import Environment
    from fleetsim.scenario.storage import KeyDistribution

HASHED_SPAN: Final = 1 << 52
"""Keys of existing rows (hashed ids) lie in ``[0, HASHED_SPAN)`` within a bucket."""
BUCKET_WIDTH: Final = 1 << 53
"""Width of one salt bucket's key range; time-ordered keys use its upper half."""
MICROSECONDS: Final = 1_000_000
BLOCK: Final = 4096


def bucket_start(bucket: int) -> int:
    return bucket * BUCKET_WIDTH


def zipf_cdf(keys: int, exponent: float) -> np.ndarray:
    """The cumulative distribution over ranks 1..``keys`` with weights r^-exponent."""
    weights = np.arange(1, keys + 1, dtype=np.float64) ** -exponent
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return cdf


def scatter_multiplier(keys: int) -> int:
    """A multiplier coprime with ``keys`` near the golden ratio of it: rank r becomes key
    id ``r * m mod keys``, so hot keys are scattered over the key space as hashed ids
    are, and the map is a bijection (a closed form can invert it)."""
    multiplier = max(1, int(keys * 0.6180339887498949))
    while gcd(multiplier, keys) != 1:
        multiplier += 1
    return multiplier


def zipf_key_positions(keys: int) -> np.ndarray:
    """Position in ``[0, HASHED_SPAN)`` of the key of each rank (index 0 = rank 1)."""
    ranks = np.arange(keys, dtype=np.int64)
    ids = (ranks * scatter_multiplier(keys)) % keys
    return ids * (HASHED_SPAN // keys)


class KeyGenerator:
    """Draws the row keys (within bucket 0) of one client population."""

    __slots__ = ("_block", "_env", "_sequential")

    def __init__(
        self, env: Environment, spec: KeyDistribution, generator: np.random.Generator
    ) -> None:
        self._env = env
        self._sequential = spec.distribution == "sequential"
        self._block: Iterator[int] = iter(())
        if spec.distribution == "uniform":
            self._block = _blocks(lambda: generator.integers(0, HASHED_SPAN, BLOCK))
        elif spec.distribution == "zipf":
            assert spec.keys is not None and spec.exponent is not None
            cdf = zipf_cdf(spec.keys, spec.exponent)
            positions = zipf_key_positions(spec.keys)
            last = spec.keys - 1

            def draw() -> np.ndarray:
                ranks = np.searchsorted(cdf, generator.random(BLOCK), side="right")
                return positions[np.minimum(ranks, last)]

            self._block = _blocks(draw)

    def next_key(self) -> int:
        """The next key, in bucket 0 (a salted table adds the bucket's start)."""
        if self._sequential:
            return HASHED_SPAN + int(self._env.now * MICROSECONDS)
        return next(self._block)


def _blocks(draw: Callable[[], np.ndarray]) -> Iterator[int]:
    while True:
        yield from draw().tolist()


def salt_buckets(generator: np.random.Generator, buckets: int) -> Iterator[int]:
    """A write's salt bucket: uniform over ``buckets`` (a random prefix)."""
    return _blocks(lambda: generator.integers(0, buckets, BLOCK))
