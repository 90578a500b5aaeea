"""Closed-form queueing results used to validate the simulator (pure Python, ``math`` only).

Notation (Kendall): arrivals are Poisson with rate ``lam`` (per second), service times have
mean ``1/mu`` (seconds), ``c`` identical servers, FIFO, unbounded queue. ``rho`` is the
utilisation of one server, ``rho = lam / (c * mu)``; every function requires ``rho < 1``.
The *sojourn time* ``T`` is the time from arrival to departure (waiting ``W`` plus service ``S``).

References
----------
- [Kleinrock] L. Kleinrock, *Queueing Systems, Vol. 1: Theory*, Wiley, 1975:
  M/M/1 and M/M/c with the Erlang C formula (ch. 3), M/G/1 and the Pollaczek-Khinchine
  mean-value formula (ch. 5).
- [Gross] D. Gross, J. Shortle, J. Thompson, C. Harris, *Fundamentals of Queueing Theory*,
  4th ed., Wiley, 2008: M/M/c waiting-time distribution and
  the Erlang B recursion (ch. 2).
- [Mitzenmacher] M. Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing",
  IEEE TPDS 12(10), 2001; N. D. Vvedenskaya, R. L. Dobrushin, F. I. Karpelevich,
  "Queueing system with selection of the shortest of two queues: an asymptotic approach",
  Problems of Information Transmission 32(1), 1996 (the "supermarket model").
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

__all__ = [
    "erlang_b",
    "erlang_c",
    "md1_mean_sojourn",
    "mm1_mean_sojourn",
    "mm1_number_in_system_variance",
    "mm1_sojourn_quantile",
    "mm1_time_average_variance_constant",
    "mmc_mean_sojourn",
    "mmc_sojourn_quantile",
    "mmc_sojourn_survival",
    "supermarket_finite_n_mean_sojourn",
    "supermarket_mean_sojourn",
    "supermarket_tail",
]


def _check_stable(lam: float, mu: float, c: int = 1) -> float:
    """Validate the parameters and return ``rho = lam / (c mu)``."""
    if c < 1 or int(c) != c:
        raise ValueError(f"c must be a positive integer, got {c!r}")
    if lam < 0 or mu <= 0:
        raise ValueError(f"need lam >= 0 and mu > 0, got lam={lam!r}, mu={mu!r}")
    rho = lam / (c * mu)
    if rho >= 1:
        raise ValueError(f"unstable queue: rho = lam/(c mu) = {rho!r} >= 1")
    return rho


def _check_q(q: float) -> None:
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must be in (0, 1), got {q!r}")


# --------------------------------------------------------------------------- M/M/1


def mm1_mean_sojourn(lam: float, mu: float) -> float:
    """Mean sojourn time of M/M/1: ``E[T] = 1 / (mu - lam)`` [Kleinrock, ch. 3]."""
    _check_stable(lam, mu)
    return 1.0 / (mu - lam)


def mm1_sojourn_quantile(lam: float, mu: float, q: float) -> float:
    """``q``-quantile of the M/M/1 (FIFO) sojourn time.

    ``T ~ Exp(mu - lam)`` [Kleinrock, ch. 3], so ``P(T > t) = exp(-(mu - lam) t)`` and
    ``t_q = -ln(1 - q) / (mu - lam)``; e.g. the p99 is ``ln(100) / (mu - lam)``.
    """
    _check_stable(lam, mu)
    _check_q(q)
    return -math.log1p(-q) / (mu - lam)


def mm1_number_in_system_variance(rho: float) -> float:
    """Stationary variance of the M/M/1 number in system: ``rho / (1 - rho)^2``.

    The number in system is geometric, ``P(N = n) = (1 - rho) rho^n`` [Kleinrock, ch. 3].
    """
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"need 0 <= rho < 1, got {rho!r}")
    return rho / (1.0 - rho) ** 2


def mm1_time_average_variance_constant(rho: float) -> float:
    """Asymptotic variance constant of the M/M/1 time-average number in system.

    For the time average ``L_T = (1/T) int_0^T N(t) dt`` with time in units of ``1/mu``,
    ``T * Var(L_T) -> 2 rho (1 + rho) / (1 - rho)^4`` (W. Whitt, "Planning queueing
    simulations", Management Science 35(11):1341-1366, 1989). Divided by
    ``2 Var(N)`` it gives the integrated autocorrelation time ``(1 + rho) / (1 - rho)^2``
    (in units of ``1/mu``), which is the scale a batch must be long compared with.
    """
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"need 0 <= rho < 1, got {rho!r}")
    return 2.0 * rho * (1.0 + rho) / (1.0 - rho) ** 4


# --------------------------------------------------------------------------- M/M/c


def erlang_b(c: int, a: float) -> float:
    """Erlang B blocking probability for ``c`` servers and offered load ``a = lam/mu``.

    Computed with the numerically stable recursion [Gross, ch. 2]
    ``B(0, a) = 1``, ``B(k, a) = a B(k-1, a) / (k + a B(k-1, a))``.
    """
    if c < 0 or int(c) != c:
        raise ValueError(f"c must be a non-negative integer, got {c!r}")
    if a < 0:
        raise ValueError(f"offered load must be >= 0, got {a!r}")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Erlang C: probability that an arrival to M/M/c has to wait, ``P(W > 0)``.

    With ``a = lam/mu`` and ``rho = a/c < 1`` [Kleinrock, ch. 3]:

        C(c, a) = (a^c / c!) / (1 - rho)
                  / ( sum_{k=0}^{c-1} a^k / k!  +  (a^c / c!) / (1 - rho) ),

    evaluated through Erlang B as ``C = B / (1 - rho (1 - B))`` [Gross, ch. 2].
    """
    if c < 1 or int(c) != c:
        raise ValueError(f"c must be a positive integer, got {c!r}")
    rho = a / c
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"unstable queue: rho = a/c = {rho!r} >= 1")
    b = erlang_b(c, a)
    return b / (1.0 - rho * (1.0 - b))


def mmc_mean_sojourn(lam: float, mu: float, c: int) -> float:
    """Mean sojourn time of M/M/c: ``E[T] = 1/mu + C(c, a) / (c mu - lam)`` [Kleinrock, ch. 3].

    For ``c = 1``, ``C = rho`` and this reduces to ``1 / (mu - lam)``.
    """
    _check_stable(lam, mu, c)
    return 1.0 / mu + erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_sojourn_survival(lam: float, mu: float, c: int, t: float) -> float:
    """``P(T > t)`` for the M/M/c (FIFO) sojourn time ``T = S + W``.

    ``S ~ Exp(mu)`` is independent of ``W``; ``W = 0`` with probability ``1 - C`` and
    ``W ~ Exp(theta)``, ``theta = c mu - lam``, with probability ``C = C(c, lam/mu)``
    [Gross, ch. 2]. The tail of the hypoexponential ``S + Exp(theta)`` is
    ``(theta e^{-mu t} - mu e^{-theta t}) / (theta - mu)`` for ``theta != mu`` and the
    Erlang-2 tail ``(1 + mu t) e^{-mu t}`` when ``theta == mu``, so

        P(T > t) = (1 - C) e^{-mu t} + C * tail_{S + Exp(theta)}(t).
    """
    _check_stable(lam, mu, c)
    if t <= 0:
        return 1.0
    cw = erlang_c(c, lam / mu)
    theta = c * mu - lam
    e_mu = math.exp(-mu * t)
    if math.isclose(theta, mu, rel_tol=1e-9):
        hypo = (1.0 + mu * t) * e_mu
    else:
        hypo = (theta * e_mu - mu * math.exp(-theta * t)) / (theta - mu)
    return (1.0 - cw) * e_mu + cw * hypo


def _bisect_decreasing(f: Callable[[float], float], target: float, hi: float) -> float:
    """Smallest ``t`` with ``f(t) <= target`` for a non-increasing ``f`` (bisection)."""
    lo = 0.0
    while f(hi) > target:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return 0.5 * (lo + hi)


def mmc_sojourn_quantile(lam: float, mu: float, c: int, q: float) -> float:
    """``q``-quantile of the M/M/c sojourn time: solves ``P(T > t) = 1 - q`` by bisection.

    ``P(T > t)`` is :func:`mmc_sojourn_survival`, continuous and strictly decreasing in ``t``.
    """
    _check_stable(lam, mu, c)
    _check_q(q)
    return _bisect_decreasing(lambda t: mmc_sojourn_survival(lam, mu, c, t), 1.0 - q, hi=10.0 / mu)


# --------------------------------------------------------------------------- M/D/1


def md1_mean_sojourn(lam: float, d: float) -> float:
    """Mean sojourn time of M/D/1 (constant service time ``d``), Pollaczek-Khinchine.

    P-K [Kleinrock, ch. 5]: ``E[W] = lam E[S^2] / (2 (1 - rho))`` with ``rho = lam E[S]``.
    For ``S = d`` constant, ``E[S^2] = d^2``, so ``E[T] = d + rho d / (2 (1 - rho))`` —
    half the M/M/1 waiting time at the same load.
    """
    if d <= 0:
        raise ValueError(f"service time must be > 0, got {d!r}")
    rho = _check_stable(lam, 1.0 / d)
    return d + rho * d / (2.0 * (1.0 - rho))


# --------------------------------------------------------------------------- supermarket model


def supermarket_tail(rho: float, d: int, i: int) -> float:
    """Fixed point ``s_i`` of the supermarket model: fraction of queues with ``>= i`` customers.

    With ``n -> infinity`` servers (each rate 1, arrivals ``n rho``), each arrival samples
    ``d`` queues and joins the shortest; the limit has ``s_i = rho^((d^i - 1)/(d - 1))``
    [Mitzenmacher; Vvedenskaya et al.]. For ``d = 1`` the exponent tends to
    ``i`` and this is the M/M/1 value ``rho^i``.
    """
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"need 0 <= rho < 1, got {rho!r}")
    if d < 1 or int(d) != d:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    if i < 0:
        raise ValueError(f"i must be >= 0, got {i!r}")
    exponent = float(i) if d == 1 else (d**i - 1) / (d - 1)
    return math.pow(rho, exponent)


def supermarket_mean_sojourn(rho: float, d: int, tol: float = 1e-15) -> float:
    """Mean sojourn time, in units of the mean service time, of the supermarket model.

    In the ``n -> infinity`` limit [Mitzenmacher; Vvedenskaya et al.]:

        E[T] = sum_{i >= 1} rho^((d^i - d) / (d - 1))   (= sum_{i>=1} s_i / rho).

    The exponent ``(d^i - d)/(d - 1)`` tends to ``i - 1`` as ``d -> 1``, which gives the
    M/M/1 value ``1 / (1 - rho)``. For ``d >= 2`` the terms fall doubly exponentially. This is
    a lower bound in practice for finite ``n`` (the finite system is somewhat worse).
    """
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"need 0 <= rho < 1, got {rho!r}")
    if d < 1 or int(d) != d:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    if d == 1:
        return 1.0 / (1.0 - rho)
    total = 0.0
    i = 1
    while True:
        term = math.pow(rho, (d**i - d) / (d - 1))
        total += term
        if term <= tol * total or i > 64:
            return total
        i += 1


# --------------------------------------------------------------------------- finite-n reference


def supermarket_finite_n_mean_sojourn(
    n: int,
    rho: float,
    d: int,
    events: int,
    seed: int,
    batches: int = 20,
) -> tuple[float, float]:
    """Monte Carlo mean sojourn (in service times) of the supermarket model with ``n`` servers.

    The limit formula :func:`supermarket_mean_sojourn` holds for ``n -> infinity``; a finite
    fleet is somewhat worse (the correction is ``O(1/n)``). This simulates the exact
    finite-``n`` Markov chain, independently of fleetsim, to quantify that: ``n`` FIFO servers
    of rate 1, Poisson arrivals at rate ``n rho``, each arrival samples ``d`` servers
    uniformly *with replacement* (as Envoy's LEAST_REQUEST does) and joins the one with the
    fewest customers.

    Because servers are exchangeable, the state is the occupancy vector ``s_k`` = number of
    servers with at least ``k`` customers. With replacement, the chosen server has at
    least ``k`` customers with probability ``(s_k / n)^d``; a departure comes from a busy
    server chosen uniformly, so it has at least ``k`` customers with probability
    ``s_k / s_1``. The chain is simulated jump by jump; the time average of the number in
    system ``Q = sum_k s_k`` uses the expected holding time ``1/R`` of each state (a
    conditional Monte Carlo estimator), and Little's law gives ``E[T] = E[Q] / (n rho)``.

    The first ``events // 10`` jumps (from an empty system) are discarded; the rest are cut
    into ``batches`` equal batches. Returns ``(mean, standard error)`` from the batch means.
    """
    if n < 1 or d < 1 or not 0.0 < rho < 1.0 or events < batches or batches < 2:
        raise ValueError("need n >= 1, d >= 1, 0 < rho < 1 and events >= batches >= 2")
    rng = random.Random(seed)
    rnd = rng.random
    lam = n * rho
    inv_n = 1.0 / n
    s = [n] + [0] * 64
    q = 0

    def jump() -> float:
        """Make one transition; return the expected holding time of the state left."""
        nonlocal q
        busy = s[1]
        rate = lam + busy
        if rnd() * rate < lam:
            u = rnd()
            j = 0
            while (s[j + 1] * inv_n) ** d > u:
                j += 1
            if j + 2 >= len(s):
                s.append(0)
            s[j + 1] += 1
            q += 1
        else:
            u = rnd() * busy
            j = 1
            while s[j + 1] > u:
                j += 1
            s[j] -= 1
            q -= 1
        return 1.0 / rate

    for _ in range(events // 10):
        jump()
    per_batch = events // batches
    means: list[float] = []
    for _ in range(batches):
        area = 0.0
        elapsed = 0.0
        for _ in range(per_batch):
            q_before = q
            hold = jump()
            area += q_before * hold
            elapsed += hold
        means.append(area / elapsed / lam)
    mean = math.fsum(means) / batches
    var = math.fsum((m - mean) ** 2 for m in means) / (batches - 1)
    return mean, math.sqrt(var / batches)
