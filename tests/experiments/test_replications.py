"""The mean and the Student t half-width against values computed by hand."""

from __future__ import annotations

import math

import pytest

from fleetsim.experiments.replications import estimate, half_width, mean


def test_mean_and_half_width_of_known_values() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    # s = sqrt(2.5); t(0.975, 4) = 2.7764451051977987
    assert mean(values) == 3.0
    expected = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert half_width(values) == pytest.approx(expected, rel=1e-12)


def test_two_values_use_one_degree_of_freedom() -> None:
    # t(0.975, 1) = 12.706204736174698; s = sqrt(2); n = 2 -> 12.7062 * 1
    assert half_width([10.0, 12.0]) == pytest.approx(12.706204736174698, rel=1e-12)


def test_one_value_has_no_interval() -> None:
    found = estimate([7.5])
    assert (found.mean, found.half_width, found.n) == (7.5, None, 1)
