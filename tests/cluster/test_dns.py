"""The pod's DNS resolver: search-list expansion (``ndots``) and per-library retry timing.

Candidates follow resolv.conf(5) (``search``, ``ndots``; the kubelet's ClusterFirst search
list and ``ndots:5``, ``pkg/kubelet/network/dns/dns.go``); try timeouts follow glibc
(``timeout:5``, ``attempts:2``) and c-ares (``ares_process.c`` doubles the wait each round;
defaults 5 s and 4 tries, ``ares_private.h``), as ``fleetsim.cluster.dns`` describes.
"""

from __future__ import annotations

import math

import pytest

from fleetsim.cluster.dns import ANSWER_TIME, Resolver
from fleetsim.kubernetes.node import Node
from fleetsim.scenario.kubernetes import DNSConfig, DNSOption

NEVER = math.inf


def node(dns_ready_at: float) -> Node:
    return Node("n-0", "pool", "zone-a", dns_ready_at=dns_ready_at)


def test_ndots_5_tries_the_search_suffixes_first() -> None:
    resolver = Resolver(DNSConfig())
    assert resolver.candidates("istiod.istio-system.svc") == [
        "istiod.istio-system.svc.default.svc.cluster.local",
        "istiod.istio-system.svc.svc.cluster.local",
        "istiod.istio-system.svc.cluster.local",
        "istiod.istio-system.svc",
    ]


def test_a_name_with_ndots_dots_is_tried_as_given_first() -> None:
    resolver = Resolver(DNSConfig(options=[DNSOption(name="ndots", value=2)]))
    assert resolver.candidates("istiod.istio-system.svc") == [
        "istiod.istio-system.svc",
        "istiod.istio-system.svc.default.svc.cluster.local",
        "istiod.istio-system.svc.svc.cluster.local",
        "istiod.istio-system.svc.cluster.local",
    ]
    # A trailing dot makes it absolute: no search at all.
    assert resolver.candidates("istiod.istio-system.svc.cluster.local.") == [
        "istiod.istio-system.svc.cluster.local"
    ]


def test_istiod_resolves_through_the_cluster_local_suffix() -> None:
    lookup = Resolver(DNSConfig(), library="c-ares").lookup(
        "istiod.istio-system.svc", node(0.0), 0.0
    )
    # default.svc.cluster.local and svc.cluster.local give NXDOMAIN; cluster.local is
    # the third candidate and a Service name: three answered queries.
    assert lookup.resolved
    assert lookup.queries == 3
    assert lookup.duration == pytest.approx(3 * ANSWER_TIME)


def test_with_ndots_1_the_bare_name_costs_one_more_query() -> None:
    config = DNSConfig(options=[DNSOption(name="ndots", value=1)])
    lookup = Resolver(config).lookup("istiod.istio-system.svc", node(0.0), 0.0)
    assert lookup.resolved
    assert lookup.queries == 4  # as given (NXDOMAIN), then the three suffixes
    assert lookup.duration == pytest.approx(4 * ANSWER_TIME)


def test_a_name_that_is_no_service_fails_after_every_candidate() -> None:
    # Any <service>.<namespace>.svc.cluster.local counts as existing (the resolver
    # does not know the scenario's Services), so the name needs three labels to be
    # no Service under any suffix. Every candidate is answered with NXDOMAIN.
    lookup = Resolver(DNSConfig()).lookup("api.example.com", node(0.0), 0.0)
    assert not lookup.resolved
    assert lookup.queries == 4
    assert lookup.duration == pytest.approx(4 * ANSWER_TIME)


def test_c_ares_defaults_give_up_after_75s_of_silence() -> None:
    resolver = Resolver(DNSConfig(), library="c-ares")
    assert resolver.try_timeouts == [5.0, 10.0, 20.0, 40.0]
    lookup = resolver.lookup("istiod.istio-system.svc", node(NEVER), 0.0)
    # A timeout ends the lookup: the next suffix is not tried.
    assert not lookup.resolved
    assert lookup.duration == pytest.approx(75.0)
    assert lookup.queries == 4


def test_glibc_defaults_give_up_after_10s() -> None:
    resolver = Resolver(DNSConfig(), library="glibc")
    assert resolver.try_timeouts == [5.0, 5.0]
    lookup = resolver.lookup("istiod.istio-system.svc", node(NEVER), 0.0)
    assert not lookup.resolved
    assert lookup.duration == pytest.approx(10.0)
    assert lookup.queries == 2


def test_c_ares_takes_resolv_conf_options_when_given() -> None:
    config = DNSConfig(
        options=[DNSOption(name="timeout", value=2), DNSOption(name="attempts", value=3)]
    )
    resolver = Resolver(config, library="c-ares")
    assert resolver.try_timeouts == [2.0, 4.0, 8.0]
    lookup = resolver.lookup("istiod.istio-system.svc", node(NEVER), 0.0)
    assert lookup.duration == pytest.approx(14.0)


def test_a_try_sent_after_the_node_dns_is_up_succeeds() -> None:
    # DNS answers from 12 s. c-ares tries at 0 and 5 s go unanswered; the third try,
    # sent at 15 s, is answered, and the remaining candidates answer at once.
    lookup = Resolver(DNSConfig(), library="c-ares").lookup(
        "istiod.istio-system.svc", node(12.0), 0.0
    )
    assert lookup.resolved
    assert lookup.duration == pytest.approx(15.0 + 3 * ANSWER_TIME)
    assert lookup.queries == 3 + 2
    # glibc sends its two tries at 0 and 5 s, both before 12 s: it gives up at 10 s.
    glibc = Resolver(DNSConfig()).lookup("istiod.istio-system.svc", node(12.0), 0.0)
    assert not glibc.resolved
    assert glibc.duration == pytest.approx(10.0)
    # With DNS up at 4 s glibc's second try (5 s) gets through.
    late = Resolver(DNSConfig()).lookup("istiod.istio-system.svc", node(4.0), 0.0)
    assert late.resolved
    assert late.duration == pytest.approx(5.0 + 3 * ANSWER_TIME)
