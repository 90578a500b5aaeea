"""Checks of the closed forms in ``tests/queueing.py`` themselves, against known values.

These do not run the simulator. They pin the formulas that the validation tests rely on:
textbook Erlang C values, reductions (M/M/c with c = 1 is M/M/1, the supermarket model
with d = 1 is M/M/1), Little's law between the formulas, and the ordering M/D/1 < M/M/1.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tests.queueing import (
    erlang_b,
    erlang_c,
    md1_mean_sojourn,
    mm1_mean_sojourn,
    mm1_number_in_system_variance,
    mm1_sojourn_quantile,
    mm1_time_average_variance_constant,
    mmc_mean_sojourn,
    mmc_sojourn_quantile,
    mmc_sojourn_survival,
    supermarket_finite_n_mean_sojourn,
    supermarket_mean_sojourn,
    supermarket_tail,
)


def _erlang_c_direct(c: int, a: float) -> float:
    """Erlang C from the defining sum (no recursion), for cross-checking."""
    rho = a / c
    top = a**c / math.factorial(c) / (1.0 - rho)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


# --------------------------------------------------------------------------- Erlang B / C


def test_erlang_c_textbook_values() -> None:
    # M/M/2 with a = 1 Erlang: P(wait) = 1/3 (Kleinrock ch. 3).
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0, rel=1e-12)
    # c = 4, a = 3: (81/24)/(1/4) / (1 + 3 + 9/2 + 27/6 + 13.5) = 13.5/26.5 = 27/53.
    assert erlang_c(4, 3.0) == pytest.approx(27.0 / 53.0, rel=1e-12)
    # The classic call-centre example: 10 Erlangs offered to 11 agents -> 68.2 % wait.
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)


def test_erlang_b_textbook_values() -> None:
    # B(1, a) = a / (1 + a); B(2, 1) = (1/2) / (1 + 1 + 1/2) = 1/5.
    assert erlang_b(1, 3.0) == pytest.approx(0.75, rel=1e-12)
    assert erlang_b(2, 1.0) == pytest.approx(0.2, rel=1e-12)
    assert erlang_b(0, 5.0) == 1.0


@pytest.mark.parametrize("c", [1, 2, 3, 4, 8, 16, 40])
@pytest.mark.parametrize("rho", [0.1, 0.5, 0.85, 0.99])
def test_erlang_c_recursion_matches_defining_sum(c: int, rho: float) -> None:
    a = rho * c
    assert erlang_c(c, a) == pytest.approx(_erlang_c_direct(c, a), rel=1e-10)


def test_erlang_c_single_server_is_rho() -> None:
    for rho in (0.0, 0.3, 0.8, 0.97):
        assert erlang_c(1, rho) == pytest.approx(rho, abs=1e-15)


def test_erlang_c_pooling_reduces_waiting_probability() -> None:
    # At the same per-server load, more servers -> less likely to wait.
    values = [erlang_c(c, 0.85 * c) for c in (1, 2, 4, 8, 16, 64)]
    assert all(later < earlier for earlier, later in itertools.pairwise(values))


# --------------------------------------------------------------------------- M/M/1 and M/M/c


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.8, 0.95])
def test_mmc_with_one_server_is_mm1(rho: float) -> None:
    mu = 1000.0
    lam = rho * mu
    assert mmc_mean_sojourn(lam, mu, 1) == pytest.approx(mm1_mean_sojourn(lam, mu), rel=1e-12)
    for q in (0.5, 0.9, 0.99, 0.999):
        assert mmc_sojourn_quantile(lam, mu, 1, q) == pytest.approx(
            mm1_sojourn_quantile(lam, mu, q), rel=1e-9
        )


def test_mm1_known_values() -> None:
    # lam = 800/s, mu = 1000/s: E[T] = 1/200 s = 5 ms, p99 = ln(100)/200 s = 23.03 ms.
    assert mm1_mean_sojourn(800.0, 1000.0) == pytest.approx(0.005, rel=1e-12)
    assert mm1_sojourn_quantile(800.0, 1000.0, 0.99) == pytest.approx(
        math.log(100.0) / 200.0, rel=1e-12
    )
    assert mm1_sojourn_quantile(800.0, 1000.0, 0.5) == pytest.approx(
        math.log(2.0) / 200.0, rel=1e-12
    )


def test_mmc_mean_satisfies_littles_law_with_textbook_queue_length() -> None:
    # Independent textbook form: L = a + C rho / (1 - rho) (Kleinrock ch. 3, plus Little).
    lam, mu, c = 3400.0, 1000.0, 4
    a, rho = lam / mu, lam / (c * mu)
    expected_l = a + erlang_c(c, a) * rho / (1.0 - rho)
    assert lam * mmc_mean_sojourn(lam, mu, c) == pytest.approx(expected_l, rel=1e-12)


@pytest.mark.parametrize(("lam", "mu", "c"), [(3400.0, 1000.0, 4), (2.0, 1.0, 3), (17.0, 1.0, 20)])
def test_mmc_quantile_inverts_survival(lam: float, mu: float, c: int) -> None:
    for q in (0.5, 0.9, 0.99, 0.9999):
        t = mmc_sojourn_quantile(lam, mu, c, q)
        assert mmc_sojourn_survival(lam, mu, c, t) == pytest.approx(1.0 - q, rel=1e-9)
    assert mmc_sojourn_survival(lam, mu, c, 0.0) == 1.0


def test_mmc_survival_mean_integrates_to_mean_sojourn() -> None:
    # E[T] = int_0^inf P(T > t) dt; trapezoid rule on a fine grid.
    lam, mu, c = 3400.0, 1000.0, 4
    h = 1e-6
    total = (
        0.5
        * h
        * sum(
            mmc_sojourn_survival(lam, mu, c, k * h) + mmc_sojourn_survival(lam, mu, c, (k + 1) * h)
            for k in range(40_000)
        )
    )
    assert total == pytest.approx(mmc_mean_sojourn(lam, mu, c), rel=1e-6)


def test_mmc_survival_is_continuous_where_theta_equals_mu() -> None:
    # c = 2, lam = mu gives theta = c mu - lam = mu: the Erlang-2 branch.
    mu = 1.0
    exact = mmc_sojourn_survival(1.0, mu, 2, 3.0)
    near = mmc_sojourn_survival(1.0 - 1e-7, mu, 2, 3.0)
    assert exact == pytest.approx(near, rel=1e-5)
    # Erlang-2 branch by hand: C(2, 1) = 1/3, P = (2/3) e^-3 + (1/3)(1 + 3) e^-3.
    assert exact == pytest.approx((2.0 / 3.0 + 4.0 / 3.0) * math.exp(-3.0), rel=1e-12)


def test_mmc_known_values() -> None:
    # c = 4, mu = 1000/s, lam = 3400/s (rho = 0.85): C = 0.689316..., E[T] = 1 ms + C/600 s.
    c_wait = erlang_c(4, 3.4)
    assert c_wait == pytest.approx(0.6893162, abs=1e-7)
    assert mmc_mean_sojourn(3400.0, 1000.0, 4) == pytest.approx(0.001 + c_wait / 600.0)


def test_mm1_variance_helpers() -> None:
    assert mm1_number_in_system_variance(0.5) == pytest.approx(2.0)
    # Integrated autocorrelation time (1 + rho)/(1 - rho)^2 service times.
    for rho in (0.5, 0.8, 0.9):
        iact = mm1_time_average_variance_constant(rho) / (2 * mm1_number_in_system_variance(rho))
        assert iact == pytest.approx((1 + rho) / (1 - rho) ** 2)


# --------------------------------------------------------------------------- M/D/1


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.8, 0.95])
def test_md1_below_mm1_and_waits_half_as_long(rho: float) -> None:
    d = 0.001
    lam = rho / d
    t_md1 = md1_mean_sojourn(lam, d)
    t_mm1 = mm1_mean_sojourn(lam, 1.0 / d)
    assert d < t_md1 < t_mm1
    # P-K: the waiting time of M/D/1 is half that of M/M/1 (E[S^2] = d^2 vs 2 d^2).
    assert t_md1 - d == pytest.approx(0.5 * (t_mm1 - d), rel=1e-12)


def test_md1_known_value() -> None:
    # rho = 0.8, d = 1 ms: E[T] = 1 + 0.8/(2 * 0.2) = 3 ms.
    assert md1_mean_sojourn(800.0, 0.001) == pytest.approx(0.003, rel=1e-12)


# --------------------------------------------------------------------------- supermarket model


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9, 0.99])
def test_supermarket_one_choice_is_mm1(rho: float) -> None:
    assert supermarket_mean_sojourn(rho, 1) == pytest.approx(1.0 / (1.0 - rho), rel=1e-12)
    # The tails are the M/M/1 geometric tails rho^i.
    for i in range(6):
        assert supermarket_tail(rho, 1, i) == pytest.approx(rho**i, rel=1e-12)


def test_supermarket_known_value_two_choices() -> None:
    # rho = 0.9, d = 2: sum_i 0.9^(2^i - 2) = 1 + 0.9^2 + 0.9^6 + 0.9^14 + 0.9^30 + ...
    by_hand = sum(0.9 ** (2**i - 2) for i in range(1, 12))
    assert by_hand == pytest.approx(2.6140574, abs=1e-7)
    assert supermarket_mean_sojourn(0.9, 2) == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("rho", [0.5, 0.9, 0.99])
def test_supermarket_littles_law_with_tails(rho: float) -> None:
    # Mean number per queue is sum_{i>=1} s_i; Little (arrival rate rho per queue): T = L/rho.
    for d in (2, 3, 5):
        mean_queue = sum(supermarket_tail(rho, d, i) for i in range(1, 40))
        assert supermarket_mean_sojourn(rho, d) == pytest.approx(mean_queue / rho, rel=1e-12)


def test_supermarket_more_choices_help() -> None:
    values = [supermarket_mean_sojourn(0.95, d) for d in (1, 2, 3, 4)]
    assert all(later < earlier for earlier, later in itertools.pairwise(values))
    # Two choices: exponential improvement (20 service times -> ~3.2).
    assert values[1] < 0.2 * values[0]


# --------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    "call",
    [
        lambda: mm1_mean_sojourn(1000.0, 1000.0),
        lambda: mm1_sojourn_quantile(500.0, 1000.0, 1.0),
        lambda: mmc_mean_sojourn(4000.0, 1000.0, 4),
        lambda: mmc_mean_sojourn(100.0, 1000.0, 0),
        lambda: mmc_sojourn_quantile(100.0, 1000.0, 2, 0.0),
        lambda: md1_mean_sojourn(1000.0, 0.001),
        lambda: erlang_c(2, 2.0),
        lambda: supermarket_mean_sojourn(1.0, 2),
        lambda: supermarket_mean_sojourn(0.5, 0),
    ],
)
def test_unstable_or_invalid_parameters_raise(call: object) -> None:
    assert callable(call)
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------- finite-n chain


def _pair(x: int, y: int) -> tuple[int, int]:
    """A two-server state as a sorted pair of queue lengths."""
    return (x, y) if x <= y else (y, x)


def _two_queue_exact_mean_sojourn(rho: float, d: int, cap: int = 40) -> float:
    """Exact E[T] of the supermarket model with n = 2 servers (rate 1), by linear algebra.

    States are sorted pairs of queue lengths up to ``cap`` (the mass beyond is negligible
    at rho = 0.5). Each arrival (rate 2 rho) draws ``d`` servers with replacement and joins
    the shortest; each busy server completes at rate 1. Solves pi Q = 0, sum pi = 1, and
    applies Little's law ``E[T] = E[N] / (2 rho)``.
    """
    states = [(a, b) for a in range(cap + 1) for b in range(a, cap + 1)]
    index = {s: i for i, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    lam = 2 * rho
    for (a, b), i in index.items():
        if b < cap:
            # The shorter queue (a) is chosen unless all d draws hit the longer one.
            p_long = 0.0 if a == b else 0.5**d
            if a < b:
                q[i, index[_pair(a + 1, b)]] += lam * (1 - p_long)
                q[i, index[(a, b + 1)]] += lam * p_long
            else:
                q[i, index[(a, a + 1)]] += lam
        if a > 0:
            q[i, index[(a - 1, b)]] += 1.0
        if b > 0:
            q[i, index[_pair(a, b - 1)]] += 1.0
    np.fill_diagonal(q, -q.sum(axis=1))
    system = q.T.copy()
    system[-1, :] = 1.0
    rhs = np.zeros(len(states))
    rhs[-1] = 1.0
    pi = np.linalg.solve(system, rhs)
    mean_n = float(sum(pi[i] * (a + b) for (a, b), i in index.items()))
    return mean_n / lam


def test_finite_n_chain_with_one_choice_is_mm1() -> None:
    mean, se = supermarket_finite_n_mean_sojourn(4, 0.5, 1, 400_000, seed=11)
    assert abs(mean - 2.0) <= 4 * se, (mean, se)


def test_finite_n_chain_matches_exact_two_server_solution() -> None:
    exact = _two_queue_exact_mean_sojourn(0.5, 2)
    # Two choices help even with two servers, but less than the n -> inf limit.
    assert supermarket_mean_sojourn(0.5, 2) < exact < mm1_mean_sojourn(0.5, 1.0)
    mean, se = supermarket_finite_n_mean_sojourn(2, 0.5, 2, 400_000, seed=12)
    assert abs(mean - exact) <= 4 * se, (mean, se, exact)
