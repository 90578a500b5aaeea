"""The streaming histogram: quantiles within its relative accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fleetsim.metrics.histogram import RELATIVE_ACCURACY, Histogram, bucket_of, bucket_value


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
