"""Replications: the mean of a metric over seeds and its 95 % confidence interval.

Runs with different seeds are independent samples of the same system, so the spread
of a metric over them says how far its mean can be trusted: the Student t interval
with n - 1 degrees of freedom. One run gives a mean and no interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """``mean`` of ``n`` values and the half-width of its interval (None when n < 2)."""

    mean: float
    half_width: float | None
    n: int

    def as_dict(self) -> dict[str, float | int | None]:
        return {"mean": self.mean, "ci95": self.half_width, "n": self.n}


def mean(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


def half_width(values: Sequence[float], confidence: float = CONFIDENCE) -> float | None:
    """Half-width of the Student t interval for the mean: t(1 - a/2, n-1) * s / sqrt(n)."""
    n = len(values)
    if n < 2:
        return None
    from scipy.stats import t

    centre = mean(values)
    variance = math.fsum((value - centre) ** 2 for value in values) / (n - 1)
    quantile = float(t.ppf(0.5 + confidence / 2, n - 1))
    return quantile * math.sqrt(variance / n)


def estimate(values: Sequence[float]) -> Estimate:
    return Estimate(mean(values), half_width(values), len(values))
