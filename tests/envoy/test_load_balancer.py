"""Load-balancer spread over pods and zones."""

from __future__ import annotations

import fleetsim
from fleetsim.engine.random import RandomStreams
from fleetsim.envoy.load_balancer import LeastRequest, make_load_balancer
from fleetsim.envoy.router import NoHealthyUpstream
from tests.fleet_scenarios import scenario
from tests.hosts import hosts


def test_round_robin_spreads_attempts_exactly() -> None:
    summary = fleetsim.run(
        scenario(replicas=7, workers=2, rate=700, load_balancer="ROUND_ROBIN", duration=20)
    ).summary
    pods = summary["services"]["app"]["pods"]
    assert pods["attempts_max"] - pods["attempts_min"] <= 1
    assert pods["attempts_min"] > 0
    assert pods["share_cv"] < 1e-3


def test_random_spread_matches_multinomial_noise() -> None:
    """Per-pod counts are multinomial: cv ≈ sqrt((n-1)/N) for N attempts on n pods."""
    summary = fleetsim.run(scenario(replicas=20, workers=2, rate=2000, duration=20)).summary
    service = summary["services"]["app"]
    expected_cv = ((20 - 1) / service["attempts"]) ** 0.5
    # The sample cv of 20 pods has a relative sd of about 1/sqrt(2*19) ≈ 0.16.
    assert 0.4 * expected_cv < service["pods"]["share_cv"] < 1.6 * expected_cv


def test_zone_shares_follow_round_robin_placement() -> None:
    summary = fleetsim.run(
        scenario(
            replicas=6,
            rate=600,
            duration=10,
            load_balancer="ROUND_ROBIN",
            zones=["zone-a", "zone-b", "zone-c"],
        )
    ).summary
    zones = summary["services"]["app"]["zones"]
    assert set(zones) == {"zone-a", "zone-b", "zone-c"}
    for zone in zones.values():
        assert abs(zone["share"] - 1 / 3) < 1e-3


def test_least_request_prefers_the_host_with_fewer_active_requests() -> None:
    balancer = LeastRequest(RandomStreams(1), "lb")
    host_0, host_1 = hosts("host-0", "host-1")
    balancer.set_hosts([host_0, host_1])
    balancer.active[host_0] = 5
    picks = [balancer.pick() for _ in range(1000)]
    # Host 0 wins only when both draws are host 0: probability 1/4.
    share_host_0 = picks.count(host_0) / len(picks)
    assert 0.19 < share_host_0 < 0.31


def test_every_policy_name_builds_a_balancer() -> None:
    none = NoHealthyUpstream()
    three = hosts("a", "b", "c")
    for policy in ("ROUND_ROBIN", "RANDOM", "LEAST_REQUEST"):
        balancer = make_load_balancer(policy, RandomStreams(1), f"lb/{policy}", none)
        assert balancer.pick() is none
        balancer.set_hosts(three)
        assert balancer.pick() in three
        balancer.set_hosts([])
        assert balancer.pick() is none
