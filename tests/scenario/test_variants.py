"""Variants merge onto spec like a Kubernetes strategic merge patch."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fleetsim.errors import ScenarioError
from fleetsim.scenario.loader import load_scenario
from fleetsim.scenario.variants import apply_variant

SPEC: dict[str, Any] = {
    "duration": "2m",
    "zones": ["zone-a", "zone-b"],
    "services": [
        {
            "name": "search",
            "replicas": 64,
            "serviceTime": {"distribution": "exponential", "mean": "10ms"},
        },
        {
            "name": "cache",
            "replicas": 4,
            "serviceTime": {"distribution": "constant", "mean": "1ms"},
        },
    ],
    "traffic": [{"name": "users", "target": "search", "rate": "100/s"}],
    "routes": [
        {
            "destination": "search",
            "loadBalancer": "RANDOM",
            "retries": {"attempts": 2, "perTryTimeout": "500ms", "retryOn": ["5xx"]},
        }
    ],
}


def _scenario(variants: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "fleetsim/v1",
        "kind": "Scenario",
        "metadata": {"name": "variants"},
        "spec": {**copy.deepcopy(SPEC), "variants": variants},
    }


def test_contract_no_retries_keeps_load_balancer_and_drops_retries() -> None:
    patch = {"routes": [{"destination": "search", "retries": None}]}
    merged = apply_variant(SPEC, patch)
    assert merged["routes"] == [{"destination": "search", "loadBalancer": "RANDOM"}]
    loaded = load_scenario(_scenario({"no-retries": patch}), variant="no-retries")
    route = loaded.scenario.spec.routes[0]
    assert (route.load_balancer, route.retries) == ("RANDOM", None)
    assert loaded.variant == "no-retries"


def test_named_item_merges_key_by_key() -> None:
    patch = {"services": [{"name": "cache", "replicas": 8, "serviceTime": {"mean": "2ms"}}]}
    merged = apply_variant(SPEC, patch)
    assert [s["name"] for s in merged["services"]] == ["search", "cache"]
    assert merged["services"][0] == SPEC["services"][0]
    assert merged["services"][1] == {
        "name": "cache",
        "replicas": 8,
        "serviceTime": {"distribution": "constant", "mean": "2ms"},
    }


def test_new_named_item_is_appended() -> None:
    patch = {
        "services": [
            {
                "name": "ranker",
                "replicas": 2,
                "queueLimit": None,
                "serviceTime": {"distribution": "constant", "mean": "5ms"},
            }
        ]
    }
    merged = apply_variant(SPEC, patch)
    assert [s["name"] for s in merged["services"]] == ["search", "cache", "ranker"]
    assert "queueLimit" not in merged["services"][2]
    spec = load_scenario(_scenario({"more": patch}), variant="more").scenario.spec
    assert spec.services[2].service_time.mean == 0.005


def test_routes_merge_on_destination_and_nested_maps_merge() -> None:
    patch = {"routes": [{"destination": "search", "retries": {"attempts": 0}}]}
    retries = apply_variant(SPEC, patch)["routes"][0]["retries"]
    assert retries == {"attempts": 0, "perTryTimeout": "500ms", "retryOn": ["5xx"]}


def test_null_removes_a_key() -> None:
    merged = apply_variant(SPEC, {"zones": None, "routes": None})
    assert "zones" not in merged and "routes" not in merged
    spec = load_scenario(_scenario({"bare": {"zones": None}}), variant="bare").scenario.spec
    assert spec.zones == ["default"]


def test_plain_lists_are_replaced() -> None:
    patch = {
        "zones": ["zone-c"],
        "routes": [{"destination": "search", "retries": {"retryOn": ["reset", 503]}}],
    }
    merged = apply_variant(SPEC, patch)
    assert merged["zones"] == ["zone-c"]
    assert merged["routes"][0]["retries"]["retryOn"] == ["reset", 503]


def test_patch_directives_delete_and_replace() -> None:
    patch = {
        "services": [{"name": "cache", "$patch": "delete"}],
        "routes": [{"destination": "search", "$patch": "replace"}],
    }
    merged = apply_variant(SPEC, patch)
    assert [s["name"] for s in merged["services"]] == ["search"]
    assert merged["routes"] == [{"destination": "search"}]


def test_inputs_are_not_mutated() -> None:
    spec, patch = copy.deepcopy(SPEC), {"services": [{"name": "search", "replicas": 1}]}
    before = copy.deepcopy(patch)
    merged = apply_variant(spec, patch)
    merged["services"][1]["serviceTime"]["mean"] = "changed"
    assert (spec, patch) == (SPEC, before)


def test_patch_that_is_not_a_mapping() -> None:
    with pytest.raises(ScenarioError) as caught:
        apply_variant(SPEC, ["routes"], name="oops", file="s.yaml")
    assert (caught.value.file, caught.value.path) == ("s.yaml", "spec.variants.oops")
    assert "expected a mapping" in caught.value.expected


def test_named_item_without_merge_key() -> None:
    patch = {"traffic": [{"name": "users"}, {"rate": "5/s"}]}
    with pytest.raises(ScenarioError) as caught:
        apply_variant(SPEC, patch, name="burst")
    assert caught.value.path == "spec.variants.burst.traffic[1]"
    assert "expected a mapping with 'name'" in caught.value.expected


def test_unknown_patch_directive() -> None:
    with pytest.raises(ScenarioError) as caught:
        apply_variant(SPEC, {"routes": [{"destination": "search", "$patch": "merge"}]}, name="v")
    assert caught.value.path == "spec.variants.v.routes[0]['$patch']"


def test_variant_cannot_nest_variants() -> None:
    with pytest.raises(ScenarioError) as caught:
        apply_variant(SPEC, {"variants": {}}, name="v")
    assert caught.value.path == "spec.variants.v.variants"


def test_variant_error_line_points_into_the_variant(tmp_path: Any) -> None:
    text = """\
apiVersion: fleetsim/v1
kind: Scenario
metadata: {name: lines}
spec:
  duration: 1m
  services:
    - name: search
      replicas: 2
      serviceTime: {distribution: constant, mean: 1ms}
    - name: cache
      replicas: 2
      serviceTime: {distribution: constant, mean: 1ms}
  traffic:
    - {name: users, target: search, rate: 10/s}
  variants:
    smaller:
      services:
        - name: cache
          replicas: 0
"""
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    assert (error.path, error.line) == ("spec.services[1].replicas", 19)
    assert error.expected.endswith("(in variant 'smaller')")


def test_a_misspelt_name_in_a_variant_is_said_to_add_a_new_item() -> None:
    import yaml as _yaml

    from fleetsim.errors import ScenarioError as _ScenarioError
    from fleetsim.scenario.loader import load_scenario as _load

    with open("scenarios/quickstart.yaml", encoding="utf-8") as stream:
        document = _yaml.safe_load(stream)
    document["spec"]["variants"]["typo"] = {"services": [{"name": "serch", "replicas": 3}]}
    try:
        _load(document, variant="typo")
    except _ScenarioError as error:
        message = str(error)
    else:
        raise AssertionError("a variant adding a service without serviceTime loaded")
    assert "the variant adds services item name 'serch' as a new one" in message
    assert "did you mean 'search'?" in message
