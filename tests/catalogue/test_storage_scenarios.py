"""The catalogue's storage scenarios: S2 (region imbalance, hot regions, salting, the
balancer) and S6 (a zone failure against replica placement and pod spreading).

The full files run 10 minutes at up to 20,000 requests/s per variant (a minute or two
each); here they run shortened, with rates scaled down where the shares do not depend
on them, so the assertions check the direction and size the write-up reports. Margins
on shares are about 4 binomial standard deviations of the request counts.
"""

from __future__ import annotations

import copy
from functools import cache
from math import sqrt
from pathlib import Path
from typing import Any

import yaml

import fleetsim

SCENARIOS = Path(__file__).resolve().parent.parent.parent / "scenarios"
S2 = SCENARIOS / "hbase-region-imbalance.yaml"
S6 = SCENARIOS / "zone-failure-placement.yaml"


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


@cache
def s2_shortened() -> dict[str, Any]:
    document = _load(S2)
    spec = copy.deepcopy(document["spec"])
    spec["duration"], spec["warmup"] = "100s", "10s"
    spec["traffic"][0]["rate"] = "5000/s"  # pin reads: shares do not depend on the rate
    spec["storage"]["balancer"] = {"period": "60s"}  # a run inside the short window
    return {**document, "spec": spec}


@cache
def s2(variant: str | None) -> dict[str, Any]:
    summary: dict[str, Any] = fleetsim.run(s2_shortened(), variant=variant).summary
    return summary


def table(variant: str | None, name: str) -> dict[str, Any]:
    figures: dict[str, Any] = s2(variant)["storage"]["tables"][name]
    return figures


def margin(share: float, count: int) -> float:
    return 4.0 * sqrt(share * (1.0 - share) / count)


def test_s2_servers_hold_2_or_3_regions_and_those_with_3_take_half_again_the_load() -> None:
    # Without the balancer the assignment stays as the master made it: each server's
    # share of the uniform reads is its region count over 25.
    pins = table("balancer-off", "pins")
    assert (pins["regions_per_server_min"], pins["regions_per_server_max"]) == (2, 3)
    shares = [server["share"] for server in pins["servers"].values()]
    for server in pins["servers"].values():
        expected = server["regions"] / 25
        assert abs(server["share"] - expected) < margin(expected, pins["requests"])
    assert max(shares) / min(shares) > 1.3  # "load is 30% different": here 50 %
    # The balancer sees nothing to fix: every server is within one region of the mean.
    baseline = table(None, "pins")
    assert (baseline["regions_per_server_min"], baseline["regions_per_server_max"]) == (2, 3)
    assert abs(baseline["requests_max_over_mean"] - 1.2) < 0.02


def test_s2_timestamp_keys_send_every_write_to_one_server() -> None:
    summary = s2("balancer-off")
    events = summary["storage"]["tables"]["events"]
    writes = summary["traffic"]["event-writes"]["requests"]["succeeded"]
    hot = max(events["servers"].values(), key=lambda server: server["requests"])
    assert hot["requests"] >= writes  # every write, plus its share of the reads
    assert hot["share"] > 0.6
    assert summary["storage"]["clusters"]["regionserver"]["splits"] >= 3
    # Both daughters of each split stay on the hot server (splits in the warm-up too).
    assert hot["regions"] >= 1 + summary["storage"]["clusters"]["regionserver"]["splits"]


def test_s2_more_regions_per_server_even_out_the_load() -> None:
    pins = table("split-regions", "pins")
    assert (pins["regions_per_server_min"], pins["regions_per_server_max"]) == (12, 13)
    assert pins["requests_max_over_mean"] < 1.06  # 13 / 12.5 = 1.04
    assert pins["requests_max_over_mean"] < table(None, "pins")["requests_max_over_mean"] - 0.1


def test_s2_salted_keys_spread_the_writes_and_make_every_read_fan_out() -> None:
    events = table("salted-keys", "events")
    hot = max(server["share"] for server in events["servers"].values())
    assert hot < 0.2  # ten buckets over ten servers, against > 0.6 unsalted
    reads = s2("salted-keys")["storage"]["clients"]["event-reads"]
    requests = s2("salted-keys")["traffic"]["event-reads"]["requests"]["total"]
    assert abs(reads["parts"] / (10 * requests) - 1) < 0.001  # the read cost: ten tries each
    plain = s2(None)["traffic"]["event-reads"]["latency_ms"]["p50"]
    salted = s2("salted-keys")["traffic"]["event-reads"]["latency_ms"]["p50"]
    assert salted > plain  # a read waits for the slowest of its ten parts


def test_s2_the_balancer_spreads_the_split_storm_and_without_it_one_server_keeps_it() -> None:
    on = s2(None)["storage"]["clusters"]["regionserver"]
    off = s2("balancer-off")["storage"]["clusters"]["regionserver"]
    assert on["moves"] > 0 and off["moves"] == 0
    assert on["balancer_runs"] >= 1
    on_events, off_events = table(None, "events"), table("balancer-off", "events")
    assert off_events["regions_per_server_max"] >= 1 + off["splits"]
    assert on_events["regions_per_server_max"] < off_events["regions_per_server_max"]


@cache
def s6_shortened() -> dict[str, Any]:
    document = _load(S6)
    spec = copy.deepcopy(document["spec"])
    spec["duration"], spec["warmup"] = "240s", "30s"
    spec["traffic"][0]["rate"] = "1000/s"
    spec["traffic"][1]["rate"] = "300/s"
    spec["events"] = [
        {"at": "90s", "action": "fail-zone", "zone": "zone-a"},
        {"at": "230s", "action": "restore-zone", "zone": "zone-a"},
    ]
    return {**document, "spec": spec}


@cache
def s6(variant: str | None) -> dict[str, Any]:
    summary: dict[str, Any] = fleetsim.run(s6_shortened(), variant=variant).summary
    return summary


def failed_share(variant: str | None, traffic: str) -> float:
    requests = s6(variant)["traffic"][traffic]["requests"]
    share: float = requests["failed"] / requests["total"]
    return share


OUTAGE = 140.0 / 240.0  # the zone is down 140 s of the 240 s window


def test_s6_replicas_in_one_zone_fail_every_read_until_the_zone_returns() -> None:
    assert abs(failed_share(None, "profile-reads") - OUTAGE) < 0.03
    clients = s6(None)["storage"]["clients"]["profile-reads"]
    assert clients["requests_no_replica"] > 0
    cluster = s6(None)["storage"]["clusters"]["regionserver"]
    assert cluster["region_unavailable_seconds"] > 30 * 100  # every region, most of it


def test_s6_spread_placement_survives_with_a_short_failover() -> None:
    failed = failed_share("spread-placement", "profile-reads")
    # A third of the regions, from the failure until ZooKeeper expires their servers
    # (90 s), the WAL is split (10 s) and they reopen (1 s): ~101 s of 240.
    assert abs(failed - (1 / 3) * 101 / 240) < 0.04
    assert failed < failed_share(None, "profile-reads") / 3
    clients = s6("spread-placement")["storage"]["clients"]["profile-reads"]
    assert clients["requests_no_replica"] == 0
    cluster = s6("spread-placement")["storage"]["clusters"]["regionserver"]
    assert cluster["reassigned"] == 10 and cluster["servers_expired"] == 2
    # Ten regions, each from the failure until it reopened elsewhere.
    assert abs(cluster["region_unavailable_seconds"] - 10 * 101) < 20


def test_s6_pods_in_one_zone_fail_for_the_outage_and_spread_pods_only_until_not_ready() -> None:
    pinned = failed_share(None, "api-clients")
    spread = failed_share("spread-pods", "api-clients")
    assert abs(pinned - OUTAGE) < 0.03  # no other zone may take the replacements
    # A third of the pods until the node controller marks them NotReady (50 s) and
    # the endpoints follow (1 s): ~51 s of 240.
    assert abs(spread - (1 / 3) * 51 / 240) < 0.03
    assert failed_share("spread-all", "profile-reads") < 0.2
    assert failed_share("spread-all", "api-clients") < 0.1


S5 = SCENARIOS / "hbase-rolling-restart.yaml"


@cache
def s5(variant: str | None) -> dict[str, Any]:
    document = _load(S5)
    spec = copy.deepcopy(document["spec"])
    spec["duration"], spec["warmup"] = "9m", "10s"
    spec["traffic"][0]["rate"] = "1000/s"
    spec["traffic"][1]["rate"] = "200/s"
    summary: dict[str, Any] = fleetsim.run({**document, "spec": spec}, variant=variant).summary
    return summary


def test_s5_a_naive_rolling_restart_loses_availability_and_a_graceful_one_does_not() -> None:
    naive, graceful = s5(None), s5("graceful")
    naive_cluster = naive["storage"]["clusters"]["regionserver"]
    graceful_cluster = graceful["storage"]["clusters"]["regionserver"]
    # Naive: 60 regions, each offline from its server's kill until the new instance is
    # up (20 s start, a 5 s probe, the endpoints' 1 s), its WAL split (10 s), reopen (1 s).
    assert naive_cluster["region_unavailable_seconds"] > 60 * 30
    assert naive["requests"]["failed"] / naive["requests"]["total"] > 0.02
    # Graceful: 120 moves of 1 s each, no failed request.
    assert graceful_cluster["moves"] == 120
    assert graceful_cluster["region_unavailable_seconds"] < 130
    assert graceful["requests"]["failed"] == 0
    # The price: a longer restart.
    naive_restart = naive_cluster["rolling_restarts"][0]
    graceful_restart = graceful_cluster["rolling_restarts"][0]
    assert graceful_restart["seconds"] > naive_restart["seconds"]
