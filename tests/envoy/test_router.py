"""Retries, per-try timeouts, client timeouts, queue limits and request conservation."""

from __future__ import annotations

import math

import pytest

import fleetsim
from tests.fleet_scenarios import scenario


def _conserved(summary: dict) -> None:
    requests = summary["requests"]
    assert requests["total"] == requests["succeeded"] + requests["failed"]
    assert requests["failed"] == requests["timed_out"] + requests["rejected"] + requests["errored"]


def test_two_retries_on_5xx_give_1_plus_p_plus_p2_attempts_and_p3_failures() -> None:
    p = 0.2
    rate, duration = 1000.0, 60.0
    summary = fleetsim.run(
        scenario(
            replicas=8,
            workers=4,
            mean=0.001,
            rate=rate,
            duration=duration,
            error_rate=p,
            retries={"attempts": 2, "retryOn": ["5xx"]},
        )
    ).summary
    _conserved(summary)
    n = summary["requests"]["total"]
    per_request = summary["attempts"] / n
    # Attempts per request take 1, 2, 3 with probabilities 1-p, p(1-p), p^2.
    mean = 1 + p + p * p
    variance = (1 - p) + 4 * p * (1 - p) + 9 * p * p - mean * mean
    # Window edges: requests in flight (back-off at most 25 + 75 ms) at each edge may have
    # attempts counted on one side and their outcome on the other.
    edge = 2 * 2 * rate * 0.1 / n
    assert abs(per_request - mean) <= 4 * math.sqrt(variance / n) + edge
    failures = summary["requests"]["failed"] / n
    assert abs(failures - p**3) <= 4 * math.sqrt(p**3 * (1 - p**3) / n)
    assert summary["requests"]["errored"] == summary["requests"]["failed"]
    assert summary["retries"] == pytest.approx(n * (p + p * p), rel=0.05)


def test_without_retries_errors_pass_straight_to_the_client() -> None:
    p = 0.2
    summary = fleetsim.run(
        scenario(replicas=8, workers=4, mean=0.001, rate=1000, duration=30, error_rate=p)
    ).summary
    n = summary["requests"]["total"]
    assert summary["attempts"] == pytest.approx(n, abs=5)
    assert abs(summary["requests"]["errored"] / n - p) <= 4 * math.sqrt(p * (1 - p) / n)
    assert summary["retries"] == 0


def test_retry_on_connect_failure_only_does_not_retry_503() -> None:
    summary = fleetsim.run(
        scenario(
            mean=0.001,
            rate=500,
            duration=20,
            error_rate=0.3,
            retries={"attempts": 2, "retryOn": "connect-failure"},
        )
    ).summary
    assert summary["retries"] == 0


def test_istio_default_retry_on_retries_503() -> None:
    summary = fleetsim.run(
        scenario(mean=0.001, rate=500, duration=20, error_rate=0.3, retries={"attempts": 2})
    ).summary
    assert summary["retries"] > 0


@pytest.mark.parametrize(
    ("retry_on", "tries"),
    [(["5xx"], 3), (["gateway-error"], 3), (["reset"], 3), (["connect-failure"], 1)],
)
def test_per_try_timeout_is_retried_under_5xx_gateway_error_and_reset_only(
    retry_on: list[str], tries: int
) -> None:
    """Every try takes 50 ms against a 20 ms per-try timeout: each one times out."""
    summary = fleetsim.run(
        scenario(
            distribution="constant",
            mean=0.05,
            replicas=20,
            workers=10,
            rate=100,
            duration=20,
            retries={"attempts": 2, "perTryTimeout": "20ms", "retryOn": retry_on},
        )
    ).summary
    _conserved(summary)
    n = summary["requests"]["total"]
    assert summary["requests"]["succeeded"] == 0
    assert summary["requests"]["timed_out"] == n
    assert summary["attempts"] / n == pytest.approx(tries, abs=0.02)


def test_client_timeout_fails_the_request_but_the_pod_finishes_the_work() -> None:
    summary = fleetsim.run(
        scenario(
            distribution="constant",
            mean=0.05,
            replicas=20,
            workers=10,
            rate=100,
            duration=20,
            timeout=0.02,
        )
    ).summary
    _conserved(summary)
    n = summary["requests"]["total"]
    assert summary["requests"]["timed_out"] == n
    service = summary["services"]["app"]
    assert service["succeeded"] == pytest.approx(n, abs=10)
    assert service["latency_ms"]["mean"] == pytest.approx(50.0, rel=1e-3)


def test_client_latency_includes_retries_and_back_off() -> None:
    """A request that needed a retry waited its first try, the back-off and the second."""
    summary = fleetsim.run(
        scenario(
            distribution="constant",
            mean=0.01,
            replicas=50,
            workers=10,
            rate=200,
            duration=30,
            error_rate=0.5,
            retries={"attempts": 1, "retryOn": "5xx"},
        )
    ).summary
    # Half the successes took one 10 ms try; the rest waited a back-off in [0, 25 ms) too.
    assert summary["latency_ms"]["p50"] == pytest.approx(10.0, rel=0.01)
    assert 10.0 < summary["latency_ms"]["p90"] < 35.0
    assert summary["latency_ms"]["max"] < 35.0


def test_full_queue_rejects_as_erlang_b_predicts() -> None:
    """No queue (queueLimit 0): c workers form an M/M/c/c loss system (Erlang B)."""
    workers, offered = 3, 2.0
    mean = 0.01
    rate = offered / mean
    summary = fleetsim.run(
        scenario(replicas=1, workers=workers, mean=mean, rate=rate, duration=400, queue_limit=0)
    ).summary
    _conserved(summary)
    blocking = (offered**workers / math.factorial(workers)) / sum(
        offered**k / math.factorial(k) for k in range(workers + 1)
    )
    n = summary["requests"]["total"]
    measured = summary["requests"]["rejected"] / n
    # Blocking events cluster in busy periods; allow for it with z = 5.
    assert abs(measured - blocking) <= 5 * math.sqrt(blocking * (1 - blocking) / n)


def test_overload_with_all_failure_causes_conserves_requests() -> None:
    summary = fleetsim.run(
        scenario(
            replicas=2,
            workers=1,
            mean=0.01,
            rate=400,
            duration=20,
            queue_limit=5,
            error_rate=0.1,
            timeout=0.05,
            retries={"attempts": 1, "perTryTimeout": "30ms", "retryOn": "5xx"},
        )
    ).summary
    _conserved(summary)
    requests = summary["requests"]
    assert requests["timed_out"] > 0 and requests["rejected"] > 0 and requests["errored"] > 0
