"""Locality-weighted priority load: Envoy's overprovisioning factor of 1.4.

Envoy's ``docs/root/intro/arch_overview/upstream/load_balancing/priority.rst`` and
``overprovisioning.rst``: the health of a priority level is ``min(100, 1.4 x 100 x
healthy / total)``; priority 0 takes its health as its share of the load and the next
level the rest; when the levels' health adds up to less than 100 % the loads are scaled
up to 100 % (normalized).
"""

from __future__ import annotations

import pytest

from fleetsim.envoy.locality import priority_loads


def test_priority_loads_follow_envoy_overprovisioning() -> None:
    # Health of a priority = min(100, 1.4 x healthy share); priority 0 takes its health,
    # the next the rest.
    assert priority_loads([(2, 2), (4, 4)]) == [1.0, 0.0]
    low = priority_loads([(1, 3), (3, 3)])
    assert low == pytest.approx([1.4 / 3, 1 - 1.4 / 3])  # 46.7 % local
    assert priority_loads([(1, 2), (4, 4)]) == pytest.approx([0.7, 0.3])
    assert priority_loads([(0, 2), (4, 4)]) == pytest.approx([0.0, 1.0])
    # Total health below 100 %: loads are scaled up to 100 %.
    assert priority_loads([(1, 3), (0, 3)]) == pytest.approx([1.0, 0.0])
    assert priority_loads([(1, 3), (1, 3)]) == pytest.approx([0.5, 0.5])
    assert priority_loads([(0, 2), (0, 4)]) == [0.0, 0.0]
