"""Scenario loading: the contract's example, and one clear error per kind of mistake."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetsim.errors import ScenarioError
from fleetsim.scenario.loader import LoadedScenario, load_scenario, variant_names
from fleetsim.scenario.schema import Retries

CONTRACT_EXAMPLE = """\
apiVersion: fleetsim/v1
kind: Scenario
metadata:
  name: quickstart
  description: 64 search pods behind a random load balancer at 70% utilisation
spec:
  duration: 2m          # measured simulated time
  warmup: 10s           # simulated time before it, excluded from statistics
  seed: 7
  zones: [zone-a, zone-b, zone-c]        # optional; default a single zone
  services:
    - name: search
      replicas: 64                       # spread round-robin over zones
      workers: 4                         # requests served at once by one pod
      queueLimit: 1000                   # waiting requests per pod; beyond it: rejected (503)
      serviceTime:
        distribution: exponential        # exponential | constant | lognormal | uniform
        mean: 10ms                       # lognormal also takes p50+p99 or mean+stddev
      errorRate: 0.0                     # fraction of attempts answered with a 503 right away
  traffic:
    - name: users
      target: search
      rate: 17920/s                      # mean arrival rate
      arrivals: poisson                  # poisson | constant
      timeout: 2s                        # the client gives up; the server keeps working on it
  routes:
    - destination: search
      loadBalancer: RANDOM               # ROUND_ROBIN | LEAST_REQUEST | RANDOM
      retries:                           # optional; absent = no retries
        attempts: 2                      # retries after the first try
        perTryTimeout: 500ms
        retryOn: [5xx, reset, connect-failure]
  variants:                              # optional: name -> overrides merged into spec
    no-retries:
      routes:
        - destination: search
          retries: null
"""

BASE: dict[str, Any] = yaml.safe_load(CONTRACT_EXAMPLE)

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Edit:
    """An edit that sets ``value`` at a dotted path (integers index lists)."""

    def edit(doc: dict[str, Any]) -> None:
        *parents, last = (int(p) if p.isdigit() else p for p in path.split("."))
        target: Any = doc
        for part in parents:
            target = target[part]
        target[last] = value

    return edit


def _delete(path: str) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = (int(p) if p.isdigit() else p for p in path.split("."))
        target: Any = doc
        for part in parents:
            target = target[part]
        del target[last]

    return edit


def _duplicate_service(doc: dict[str, Any]) -> None:
    doc["spec"]["services"].append(copy.deepcopy(doc["spec"]["services"][0]))


def _edited(*edits: Edit) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for edit in edits:
        edit(doc)
    return doc


def _error(source: Any, variant: str | None = None) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(source, variant=variant)
    return caught.value


# (id, edits, variant, expected path, key phrase of the message)
DICT_CASES: list[tuple[str, list[Edit], str | None, str, str]] = [
    ("wrong-api-version", [_set("apiVersion", "v1")], None, "apiVersion", "expected 'fleetsim/v1'"),
    ("wrong-kind", [_set("kind", "Deployment")], None, "kind", "expected 'Scenario'"),
    ("unknown-top-level", [_set("status", {})], None, "status", "unknown field"),
    (
        "unknown-service-field",
        [_set("spec.services.0.serviceTme", {"distribution": "constant", "mean": 1})],
        None,
        "spec.services[0].serviceTme",
        "unknown field; did you mean 'serviceTime'?",
    ),
    (
        "missing-metadata-name",
        [_delete("metadata.name")],
        None,
        "metadata.name",
        "required field is missing",
    ),
    ("bad-name", [_set("metadata.name", "Quick_Start")], None, "metadata.name", "DNS-1123"),
    (
        "bad-duration",
        [_set("spec.services.0.serviceTime.mean", "10 parsecs")],
        None,
        "spec.services[0].serviceTime.mean",
        "expected a duration such as '10ms'",
    ),
    ("zero-duration", [_set("spec.duration", "0s")], None, "spec.duration", "greater than 0"),
    (
        "negative-rate",
        [_set("spec.traffic.0.rate", "-5/s")],
        None,
        "spec.traffic[0].rate",
        "not negative",
    ),
    (
        "bad-rate-unit",
        [_set("spec.traffic.0.rate", "100/fortnight")],
        None,
        "spec.traffic[0].rate",
        "expected a rate such as '1800/s'",
    ),
    (
        "unknown-distribution",
        [_set("spec.services.0.serviceTime.distribution", "pareto")],
        None,
        "spec.services[0].serviceTime.distribution",
        "expected one of exponential, constant, lognormal, uniform",
    ),
    (
        "lognormal-only-mean",
        [_set("spec.services.0.serviceTime.distribution", "lognormal")],
        None,
        "spec.services[0].serviceTime.stddev",
        "either mean and stddev, or p50 and p99",
    ),
    (
        "lognormal-both-forms",
        [
            _set("spec.services.0.serviceTime.distribution", "lognormal"),
            _set("spec.services.0.serviceTime.stddev", "5ms"),
            _set("spec.services.0.serviceTime.p50", "5ms"),
        ],
        None,
        "spec.services[0].serviceTime.p50",
        "not both",
    ),
    (
        "lognormal-p99-below-p50",
        [
            _set(
                "spec.services.0.serviceTime",
                {"distribution": "lognormal", "p50": "20ms", "p99": "10ms"},
            ),
        ],
        None,
        "spec.services[0].serviceTime.p99",
        "expected p99 greater than p50 (20ms)",
    ),
    (
        "exponential-with-stddev",
        [_set("spec.services.0.serviceTime.stddev", "1ms")],
        None,
        "spec.services[0].serviceTime.stddev",
        "the exponential distribution takes mean",
    ),
    (
        "uniform-min-not-below-max",
        [
            _set(
                "spec.services.0.serviceTime",
                {"distribution": "uniform", "min": "5ms", "max": "5ms"},
            )
        ],
        None,
        "spec.services[0].serviceTime.max",
        "expected max greater than min (5ms)",
    ),
    (
        "uniform-without-max",
        [_set("spec.services.0.serviceTime", {"distribution": "uniform", "min": "5ms"})],
        None,
        "spec.services[0].serviceTime.max",
        "required field is missing",
    ),
    (
        "error-rate-1.5",
        [_set("spec.services.0.errorRate", 1.5)],
        None,
        "spec.services[0].errorRate",
        "less than 1",
    ),
    (
        "replicas-0",
        [_set("spec.services.0.replicas", 0)],
        None,
        "spec.services[0].replicas",
        "at least 1",
    ),
    (
        "replicas-bool",
        [_set("spec.services.0.replicas", True)],
        None,
        "spec.services[0].replicas",
        "whole number",
    ),
    (
        "replicas-fraction",
        [_set("spec.services.0.replicas", 2.5)],
        None,
        "spec.services[0].replicas",
        "whole number",
    ),
    ("seed-negative", [_set("spec.seed", -1)], None, "spec.seed", "at least 0"),
    (
        "traffic-target-unknown",
        [_set("spec.traffic.0.target", "serch")],
        None,
        "spec.traffic[0].target",
        "did you mean 'search'?",
    ),
    (
        "route-destination-unknown",
        [_set("spec.routes.0.destination", "cache")],
        None,
        "spec.routes[0].destination",
        "expected the name of a service in spec.services (search)",
    ),
    (
        "bad-load-balancer",
        [_set("spec.routes.0.loadBalancer", "round_robin")],
        None,
        "spec.routes[0].loadBalancer",
        "expected one of ROUND_ROBIN, LEAST_REQUEST, RANDOM; did you mean 'ROUND_ROBIN'?",
    ),
    (
        "unknown-retry-on",
        [_set("spec.routes.0.retries.retryOn", ["5xx", "connect-failures"])],
        None,
        "spec.routes[0].retries.retryOn[1]",
        "did you mean 'connect-failure'?",
    ),
    (
        "retry-on-bad-status",
        [_set("spec.routes.0.retries.retryOn", "5xx,999")],
        None,
        "spec.routes[0].retries.retryOn[1]",
        "expected an HTTP status code from 100 to 599",
    ),
    (
        "retries-without-attempts",
        [_delete("spec.routes.0.retries.attempts")],
        None,
        "spec.routes[0].retries.attempts",
        "required field is missing",
    ),
    (
        "per-try-timeout-fast",
        [_set("spec.routes.0.retries.perTryTimeout", "fast")],
        None,
        "spec.routes[0].retries.perTryTimeout",
        "expected a duration",
    ),
    ("duplicate-service", [_duplicate_service], None, "spec.services[1].name", "duplicate name"),
    ("duplicate-zone", [_set("spec.zones", ["a", "a"])], None, "spec.zones[1]", "duplicate entry"),
    ("no-services", [_set("spec.services", [])], None, "spec.services", "at least 1 item"),
    (
        "spec-not-mapping",
        [_set("spec", "everything")],
        None,
        "spec",
        "expected a mapping of fields",
    ),
    (
        "interval-longer-than-duration",
        [_set("spec.metrics", {"interval": "5m"})],
        None,
        "spec.metrics.interval",
        "no longer than spec.duration (2m)",
    ),
    (
        "variant-named-baseline",
        [_set("spec.variants.baseline", {})],
        None,
        "spec.variants.baseline",
        "other than",
    ),
    (
        "unknown-variant",
        [],
        "no-retry",
        "spec.variants",
        "no variant named 'no-retry' (did you mean 'no-retries'?); available: baseline, no-retries",
    ),
    (
        "bad-value-in-variant",
        [_set("spec.variants.no-retries.routes.0.loadBalancer", "FASTEST")],
        "no-retries",
        "spec.routes[0].loadBalancer",
        "(in variant 'no-retries')",
    ),
    (
        "variant-breaks-when-other-variant-runs",
        [_set("spec.variants.broken", {"duration": "soon"})],
        None,
        "spec.duration",
        "(in variant 'broken')",
    ),
    (
        "variant-not-a-mapping",
        [_set("spec.variants.no-retries", ["routes"])],
        None,
        "spec.variants.no-retries",
        "expected a mapping",
    ),
    (
        "variant-item-without-key",
        [_set("spec.variants.no-retries.routes.0", {"retries": None})],
        None,
        "spec.variants.no-retries.routes[0]",
        "expected a mapping with 'destination'",
    ),
]


@pytest.mark.parametrize(
    ("edits", "variant", "path", "phrase"),
    [pytest.param(*case[1:], id=case[0]) for case in DICT_CASES],
)
def test_bad_dict_is_one_clear_error(
    edits: list[Edit], variant: str | None, path: str, phrase: str
) -> None:
    error = _error(_edited(*edits), variant)
    assert error.file == "<dict>"
    assert error.path == path
    assert phrase in error.expected
    assert "Input should" not in str(error)
    assert "pydantic" not in str(error)


def test_there_are_at_least_twenty_distinct_bad_inputs() -> None:
    assert len({case[3] + case[4] for case in DICT_CASES}) >= 20


def test_error_shows_the_offending_value() -> None:
    error = _error(_edited(_set("spec.routes.0.retries.perTryTimeout", "fast")))
    assert error.value == "fast"
    assert "got 'fast'" in str(error)


def test_more_problems_are_counted() -> None:
    error = _error(_edited(_set("spec.duration", "x"), _set("spec.seed", "y")))
    assert error.path == "spec.duration"
    assert "(and 1 more problem)" in error.expected


def _write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# (id, replace old -> new in the contract example, path, phrase, line)
YAML_CASES: list[tuple[str, str, str, str, str, int]] = [
    (
        "bad-mean-line",
        "mean: 10ms",
        "mean: 10 ms please",
        "spec.services[0].serviceTime.mean",
        "duration",
        18,
    ),
    (
        "unknown-field-line",
        "queueLimit:",
        "queueLimmit:",
        "spec.services[0].queueLimmit",
        "'queueLimit'",
        15,
    ),
    (
        "missing-attempts-line",
        "attempts: 2 ",
        "# attempts: 2 ",
        "spec.routes[0].retries.attempts",
        "missing",
        29,
    ),
    (
        "bad-target-line",
        "target: search",
        "target: serach",
        "spec.traffic[0].target",
        "did you mean",
        22,
    ),
    (
        "variant-line",
        "          retries: null",
        "          loadBalancer: FASTEST",
        "spec.routes[0].loadBalancer",
        "(in variant 'no-retries')",
        37,
    ),
    ("duplicate-key-line", "  seed: 7", "  seed: 7\n  seed: 8", "spec.seed", "duplicate key", 10),
]


@pytest.mark.parametrize(
    ("old", "new", "path", "phrase", "line"),
    [pytest.param(*case[1:], id=case[0]) for case in YAML_CASES],
)
def test_bad_yaml_file_names_line(
    tmp_path: Path, old: str, new: str, path: str, phrase: str, line: int
) -> None:
    assert old in CONTRACT_EXAMPLE
    file = _write(tmp_path, CONTRACT_EXAMPLE.replace(old, new, 1))
    error = _error(file)
    assert (error.path, error.line) == (path, line)
    assert phrase in error.expected
    assert str(error).startswith(f"{file}:{line}: {path}:")


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    file = _write(tmp_path, "apiVersion: fleetsim/v1\nkind: Scenario\nspec: [unclosed\n")
    error = _error(file)
    assert error.path == ""
    assert error.line is not None and error.line >= 3
    assert "invalid YAML" in error.expected


def test_tab_indentation_is_a_yaml_error(tmp_path: Path) -> None:
    file = _write(tmp_path, "spec:\n\tduration: 1s\n")
    error = _error(file)
    assert (error.line, "invalid YAML" in error.expected) == (2, True)


def test_missing_file(tmp_path: Path) -> None:
    error = _error(tmp_path / "nope.yaml")
    assert error.file == str(tmp_path / "nope.yaml")
    assert "file not found" in error.expected


def test_directory_is_not_a_scenario(tmp_path: Path) -> None:
    assert "directory" in _error(tmp_path).expected


def test_top_level_list(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, "- apiVersion: fleetsim/v1\n"))
    assert error.path == ""
    assert "got a list" in error.expected
    assert str(error).endswith("at the top level, got a list")


def test_empty_file(tmp_path: Path) -> None:
    assert "got an empty file" in _error(_write(tmp_path, "# nothing\n")).expected


def test_not_utf8(tmp_path: Path) -> None:
    file = tmp_path / "latin1.yaml"
    file.write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert "UTF-8" in _error(file).expected


def test_unsafe_yaml_tag_is_refused(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, "spec: !!python/object/apply:os.system ['true']\n"))
    assert (error.line, "invalid YAML" in error.expected) == (1, True)


# --- what loads ----------------------------------------------------------------------


def test_contract_example_loads_with_numbers(tmp_path: Path) -> None:
    loaded = load_scenario(_write(tmp_path, CONTRACT_EXAMPLE))
    spec = loaded.scenario.spec
    assert (loaded.variant, loaded.variant_names) == ("baseline", ["no-retries"])
    assert loaded.scenario.metadata.name == "quickstart"
    assert (spec.duration, spec.warmup, spec.seed) == (120.0, 10.0, 7)
    assert spec.zones == ["zone-a", "zone-b", "zone-c"]
    service = spec.services[0]
    assert (service.replicas, service.workers, service.queue_limit) == (64, 4, 1000)
    assert service.service_time.mean == pytest.approx(0.01)
    assert spec.traffic[0].rate == 17920.0
    assert spec.traffic[0].timeout == 2.0
    route = spec.routes[0]
    assert route.load_balancer == "RANDOM"
    assert route.retries is not None
    assert route.retries.attempts == 2
    assert route.retries.per_try_timeout == 0.5
    assert route.retries.retry_on == ["5xx", "reset", "connect-failure"]
    assert route.retries.backoff == 0.025
    assert route.retries.max_backoff == pytest.approx(0.25)
    assert spec.metrics.interval == 1.0


def test_path_is_reported_as_given(tmp_path: Path) -> None:
    file = _write(tmp_path, CONTRACT_EXAMPLE)
    assert load_scenario(str(file)).file == str(file)
    assert load_scenario(file).file == str(file)


def test_json_is_accepted(tmp_path: Path) -> None:
    file = _write(tmp_path, json.dumps(BASE, indent=2), "scenario.json")
    assert load_scenario(file).scenario.spec.duration == 120.0


def test_dict_source_is_not_mutated() -> None:
    doc = copy.deepcopy(BASE)
    loaded = load_scenario(doc, variant="no-retries")
    assert doc == BASE
    assert loaded.file == "<dict>"
    assert "retries" not in loaded.raw["spec"]["routes"][0]
    assert "retries" in doc["spec"]["routes"][0]


def test_defaults() -> None:
    doc = {
        "apiVersion": "fleetsim/v1",
        "kind": "Scenario",
        "metadata": {"name": "tiny"},
        "spec": {
            "duration": 10,
            "services": [
                {
                    "name": "a",
                    "replicas": 1,
                    "serviceTime": {"distribution": "constant", "mean": 0.1},
                }
            ],
            "traffic": [{"name": "t", "target": "a", "rate": 5}],
        },
    }
    loaded: LoadedScenario = load_scenario(doc)
    spec = loaded.scenario.spec
    assert (spec.warmup, spec.seed, spec.zones, spec.routes, spec.variants) == (
        0.0,
        1,
        ["default"],
        [],
        {},
    )
    service = spec.services[0]
    assert (service.workers, service.queue_limit, service.error_rate) == (1, None, 0.0)
    assert (spec.traffic[0].arrivals, spec.traffic[0].timeout) == ("poisson", None)
    assert loaded.variant_names == []
    assert variant_names(doc) == []


def test_snake_case_names_are_accepted_too() -> None:
    doc = _edited(_delete("spec.services.0.queueLimit"), _set("spec.services.0.queue_limit", 3))
    assert load_scenario(doc).scenario.spec.services[0].queue_limit == 3


def test_lognormal_forms() -> None:
    for params in ({"mean": "10ms", "stddev": "20ms"}, {"p50": "5ms", "p99": "50ms"}):
        doc = _edited(_set("spec.services.0.serviceTime", {"distribution": "lognormal", **params}))
        load_scenario(doc)


def test_baseline_variant_name_means_no_variant() -> None:
    assert load_scenario(BASE, variant="baseline").scenario.spec.routes[0].retries is not None


# --- retries: Istio's semantics ---------------------------------------------------------


def _retries(retries: dict[str, Any]) -> Retries:
    loaded = load_scenario(_edited(_set("spec.routes.0.retries", retries)))
    result = loaded.scenario.spec.routes[0].retries
    assert result is not None
    return result


def test_default_retry_on_is_istios_with_503() -> None:
    retries = _retries({"attempts": 3})
    assert retries.retry_on == [
        "connect-failure",
        "refused-stream",
        "unavailable",
        "cancelled",
        "retriable-status-codes",
    ]
    assert retries.retriable_status_codes == [503]
    assert retries.per_try_timeout is None


def test_empty_retry_on_means_istio_default() -> None:
    assert _retries({"attempts": 1, "retryOn": ""}).retriable_status_codes == [503]


def test_explicit_retry_on_without_codes_retries_no_status() -> None:
    retries = _retries({"attempts": 1, "retryOn": ["5xx"]})
    assert (retries.retry_on, retries.retriable_status_codes) == (["5xx"], [])


def test_status_codes_in_retry_on_imply_retriable_status_codes() -> None:
    retries = _retries({"attempts": 1, "retryOn": "gateway-error, 503,504, reset"})
    assert retries.retry_on == ["gateway-error", "reset", "retriable-status-codes"]
    assert retries.retriable_status_codes == [503, 504]


def test_integer_status_codes_in_a_list() -> None:
    retries = _retries({"attempts": 1, "retryOn": [503, "retriable-status-codes"]})
    assert (retries.retry_on, retries.retriable_status_codes) == (["retriable-status-codes"], [503])


def test_backoff_sets_base_and_max_is_ten_times() -> None:
    retries = _retries({"attempts": 1, "backoff": "100ms"})
    assert retries.backoff == 0.1
    assert retries.max_backoff == pytest.approx(1.0)


def test_istio_default_policy() -> None:
    retries = Retries.istio_default()
    assert (retries.attempts, retries.retriable_status_codes) == (2, [503])


def test_a_misspelt_key_is_named_before_the_required_field_it_was_meant_to_be() -> None:
    doc = _edited()
    service = doc["spec"]["services"][0]
    service["replics"] = service.pop("replicas")
    doc["spec"]["duration"] = "x"
    error = _error(doc)
    assert error.path == "spec.services[0].replics"
    assert "did you mean 'replicas'" in str(error)
    assert "(and 2 more problems)" in error.expected
