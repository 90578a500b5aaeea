"""The retry policy's back-off: Envoy's fully jittered exponential back-off.

Envoy's ``JitteredExponentialBackOffStrategy`` (``source/common/common/backoff_strategy.cc``)
waits a uniform time in ``[0, (2**n - 1) * base)`` before retry ``n``, capped at
``max = 10 * base`` (the router's defaults, ``source/common/router/retry_state_impl.cc``):
with the 25 ms base, 25, 75, 175 and then 250 ms.
"""

from __future__ import annotations

import pytest

from fleetsim.engine.random import RandomStreams
from fleetsim.envoy.retry import RetryPolicy
from fleetsim.scenario.schema import Retries


@pytest.mark.parametrize(("retry", "ceiling"), [(1, 0.025), (2, 0.075), (3, 0.175), (6, 0.25)])
def test_backoff_is_envoys_jittered_exponential(retry: int, ceiling: float) -> None:
    policy = RetryPolicy(Retries(attempts=5), RandomStreams(1).uniform("jitter"))
    waits = [policy.backoff(retry) for _ in range(2000)]
    assert min(waits) >= 0 and max(waits) < ceiling
    assert max(waits) > 0.95 * ceiling
    assert sum(waits) / len(waits) == pytest.approx(ceiling / 2, rel=0.05)
