"""Process of elimination: which mechanism moves a metric?

An SRE chasing a tail switches suspects off one at a time and watches the figure. This
does the same in simulation: it runs a scenario (its baseline or one variant) once as
it is, then once per *candidate* mechanism with only that mechanism switched off, and
ranks the candidates by how far the chosen summary figure moved.

- Candidates come from the scenario itself: only mechanisms that are on in the
  (variant-merged) spec are tried. Each is a small function in :data:`MECHANISMS` that
  looks at the merged spec as written and returns a patch in the file's own variant
  language (:func:`fleetsim.scenario.variants.apply_variant`: maps merge, named lists
  merge on their key, ``null`` removes a key), or None when the mechanism is off. A new
  mechanism is one more function.
- Every run uses the same seed (``seed``, else ``spec.seed``): random draws come from
  named streams per component, so the runs differ by the mechanism, not by noise.
- The metric is a dotted path into the summary (``latency_ms.p9999``,
  ``services.search.latency_ms.max``), checked against the as-is run before any
  candidate runs.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Final

from fleetsim.errors import ScenarioError
from fleetsim.result import json_text
from fleetsim.scenario.kubernetes import ColdStart
from fleetsim.scenario.loader import LoadedScenario, load_scenario
from fleetsim.scenario.variants import apply_variant
from fleetsim.simulation import ProgressCallback, Simulation
from fleetsim.summary.paths import MetricError, metric_value

__all__ = [
    "MECHANISMS",
    "Candidate",
    "CandidateResult",
    "IsolationResult",
    "MetricError",
    "RunProgress",
    "candidates",
    "isolate",
    "metric_value",
]

Number = int | float
Patch = dict[str, Any]
RunProgress = Callable[[str], AbstractContextManager[ProgressCallback | None]]
"""Called with a label before each run; the context it returns yields the run's
progress callback (or None) and is left when the run ends."""


@dataclass(frozen=True)
class Candidate:
    """One mechanism that is on in the scenario, and the patch that switches it off."""

    mechanism: str
    switched_off: str
    """What the patch switches off, in one short phrase."""
    patch: Patch
    """A variant patch for ``spec`` (the file's own merge rules)."""


@dataclass(frozen=True)
class CandidateResult:
    """The metric with one mechanism switched off, against the as-is run."""

    mechanism: str
    switched_off: str
    value: Number | None
    """None when the run's summary has no number at the metric's path (e.g. the
    ``hpa`` block of a service whose HPA was switched off)."""
    change: Number | None
    """``value - as_is``."""
    relative_change: float | None
    """``change / as_is`` as a fraction (0.25 = +25 %); None when it has no finite value."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "mechanism": self.mechanism,
            "switched_off": self.switched_off,
            "value": self.value,
            "change": self.change,
            "relative_change": self.relative_change,
        }


@dataclass(frozen=True)
class IsolationResult:
    """The as-is value of the metric and every candidate's, ranked by absolute change."""

    scenario: str
    variant: str
    seed: int
    metric: str
    as_is: Number
    candidates: list[CandidateResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The document ``fleetsim isolate --out`` writes and ``--json`` prints."""
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "seed": self.seed,
            "metric": self.metric,
            "as_is": self.as_is,
            "candidates": [candidate.to_dict() for candidate in self.candidates],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text (indented, ending in a newline)."""
        return json_text(self.to_dict())


# --- running -----------------------------------------------------------------------


def isolate(
    scenario: str | os.PathLike[str] | Mapping[str, Any],
    metric: str,
    *,
    variant: str | None = None,
    seed: int | None = None,
    duration: str | float | None = None,
    warmup: str | float | None = None,
    progress: RunProgress | None = None,
) -> IsolationResult:
    """Run ``scenario`` as is, then once with each candidate mechanism switched off.

    ``scenario`` is a file path or a dict with the file's structure; ``variant`` picks
    one of ``spec.variants`` (None: the baseline), whose merged spec decides the
    candidates. ``seed`` (default ``spec.seed``) is used by every run. ``duration``
    and ``warmup`` shorten every run as in :func:`fleetsim.run`. ``metric`` is a
    dotted path into the summary. Raises :class:`ScenarioError` for a scenario that
    cannot be run (before any run) and :class:`MetricError` when ``metric`` does not
    name a number in the as-is run (before any candidate runs).
    """
    loaded = load_scenario(scenario, variant=variant, duration=duration, warmup=warmup)
    spec = {key: value for key, value in loaded.raw["spec"].items() if key != "variants"}
    found = candidates(spec)
    patched = [(candidate, _patched(loaded, spec, candidate)) for candidate in found]
    chosen_seed = loaded.scenario.spec.seed if seed is None else seed
    label = f"{loaded.scenario.metadata.name} [{loaded.variant}]"

    as_is_summary = _run(loaded, chosen_seed, progress, f"{label} as is")
    as_is = metric_value(as_is_summary, metric)
    results: list[CandidateResult] = []
    for candidate, candidate_loaded in patched:
        summary = _run(candidate_loaded, chosen_seed, progress, f"{label} -{candidate.mechanism}")
        results.append(_compare(candidate, _lookup(summary, metric), as_is))
    results.sort(key=lambda r: (r.change is None, -abs(r.change or 0)))
    return IsolationResult(
        scenario=loaded.scenario.metadata.name,
        variant=loaded.variant,
        seed=chosen_seed,
        metric=metric,
        as_is=as_is,
        candidates=results,
    )


def _patched(
    loaded: LoadedScenario, spec: Mapping[str, Any], candidate: Candidate
) -> LoadedScenario:
    """The scenario with ``candidate`` switched off, validated before anything runs."""
    name = f"isolate-{candidate.mechanism}"
    document = {**loaded.raw, "spec": apply_variant(spec, candidate.patch, name=name)}
    try:
        return load_scenario(document)
    except ScenarioError as error:
        raise ScenarioError(
            loaded.file,
            error.path,
            f"{error.expected} (with {candidate.mechanism} switched off: {candidate.switched_off})",
            value=error.value,
            has_value=error.has_value,
        ) from None


def _run(
    loaded: LoadedScenario, seed: int, progress: RunProgress | None, label: str
) -> dict[str, Any]:
    simulation = Simulation(loaded, seed=seed)
    if progress is None:
        return simulation.run().summary
    with progress(label) as callback:
        return simulation.run(callback).summary


def _compare(candidate: Candidate, value: Number | None, as_is: Number) -> CandidateResult:
    change = None if value is None else value - as_is
    relative: float | None = None
    if change is not None:
        if as_is != 0:
            relative = change / as_is
        elif change == 0:
            relative = 0.0
    return CandidateResult(candidate.mechanism, candidate.switched_off, value, change, relative)


# --- the metric --------------------------------------------------------------------


def _lookup(summary: Mapping[str, Any], path: str) -> Number | None:
    try:
        return metric_value(summary, path)
    except MetricError:
        return None


# --- candidates --------------------------------------------------------------------

Finder = Callable[[Mapping[str, Any]], tuple[str, Patch] | None]
"""Looks at a merged ``spec`` (as written, before units are parsed) and returns
(what it switches off, the patch), or None when the mechanism is off in it."""

MECHANISMS: Final[dict[str, Finder]] = {}
"""Every mechanism isolate knows, in the order they are tried; see :func:`_mechanism`."""


def _mechanism(name: str) -> Callable[[Finder], Finder]:
    def register(finder: Finder) -> Finder:
        MECHANISMS[name] = finder
        return finder

    return register


def candidates(spec: Mapping[str, Any]) -> list[Candidate]:
    """The mechanisms that are on in ``spec`` (a merged spec as written), with their patches."""
    found: list[Candidate] = []
    for name, finder in MECHANISMS.items():
        switched = finder(spec)
        if switched is not None:
            found.append(Candidate(name, switched[0], switched[1]))
    return found


def _items(spec: Mapping[str, Any], key: str) -> Iterator[Mapping[str, Any]]:
    """The mapping items of the named list ``spec[key]``."""
    value = spec.get(key)
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, Mapping))


def _at(mapping: Mapping[str, Any], *keys: str) -> Any:
    """``mapping[k1][k2]...``, or None where a level is missing or not a mapping."""
    value: Any = mapping
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _number(value: object) -> float:
    """A number as the file may spell it (``0.1`` or ``"0.1"``); anything else is 0."""
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _names(items: list[str]) -> str:
    return ", ".join(items)


RETRIES_OFF: Final[Patch] = {"$patch": "replace", "attempts": 0}
"""``attempts: 0`` alone: replacing (not merging) the block also drops ``perTryTimeout``,
which without a mesh would otherwise still time out the only try; Istio drops the whole
policy when attempts is 0."""


@_mechanism("retries")
def _retries(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """Client retries (Istio ``HTTPRetry``): they multiply attempts on a struggling backend
    and stretch the tail with back-off. On for a route whose ``retries.attempts`` > 0,
    and in a mesh also for a route without ``retries`` (Istio's default, 2 attempts),
    including destinations with no route at all. Switched off with ``attempts: 0``."""
    routes = {_at(route, "destination"): route for route in _items(spec, "routes")}
    mesh = spec.get("mesh") is not None
    destinations = list(routes)
    if mesh:  # every service can be called through a sidecar or the gateway
        services = [_at(service, "name") for service in _items(spec, "services")]
        destinations += [name for name in services if name not in routes]
    on: list[str] = []
    for destination in destinations:
        retries = _at(routes.get(destination, {}), "retries")
        if (retries is None and mesh) or _number(_at(retries, "attempts")) > 0:
            on.append(str(destination))
    if not on:
        return None
    patch = [{"destination": name, "retries": copy.deepcopy(RETRIES_OFF)} for name in on]
    default = " (Istio's default included)" if mesh else ""
    return f"attempts: 0 on routes to {_names(on)}{default}", {"routes": patch}


@_mechanism("outlier-detection")
def _outlier_detection(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """Envoy outlier detection: ejecting hosts shifts their load onto the rest (and, in
    Istio, also turns on locality failover). On for a route with ``outlierDetection``
    (even ``{}``: its presence turns it on); switched off by removing it."""
    on = [
        str(_at(r, "destination"))
        for r in _items(spec, "routes")
        if _at(r, "outlierDetection") is not None
    ]
    if not on:
        return None
    patch = [{"destination": name, "outlierDetection": None} for name in on]
    return f"outlierDetection on routes to {_names(on)}", {"routes": patch}


PROBES: Final = ("readinessProbe", "livenessProbe", "startupProbe")


@_mechanism("probes")
def _probes(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """Kubernetes probes: they wait in the app's queue, so an overloaded pod fails them,
    flaps unready (or is restarted) and pushes its load onto the others. On for a
    service with any of the three probes; switched off by removing them (a pod without
    a readiness probe is ready once it has started)."""
    patch: list[Patch] = []
    on: list[str] = []
    for service in _items(spec, "services"):
        present = [probe for probe in PROBES if _at(service, probe) is not None]
        if present:
            on.append(str(_at(service, "name")))
            patch.append({"name": _at(service, "name"), **dict.fromkeys(present)})
    if not on:
        return None
    return f"probes of {_names(on)}", {"services": patch}


@_mechanism("hpa")
def _hpa(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """The HorizontalPodAutoscaler: its overshoot and scale-downs move replicas under
    load. On for a service with ``hpa``; switched off by removing it (the Deployment
    keeps ``replicas``)."""
    on = [str(_at(s, "name")) for s in _items(spec, "services") if _at(s, "hpa") is not None]
    if not on:
        return None
    patch = [{"name": name, "hpa": None} for name in on]
    return f"HPA of {_names(on)} (replicas stay at spec)", {"services": patch}


@_mechanism("warm-up")
def _warm_up(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """Cold start: a new pod warms up unready, burning CPU, then serves slower and costlier
    for ``decay``. On for a service whose ``coldStart`` differs from the defaults (which
    mean no warm-up); switched off by removing the block."""
    on: list[str] = []
    for service in _items(spec, "services"):
        block = _at(service, "coldStart")
        if isinstance(block, Mapping) and _warms_up(ColdStart.model_validate(block)):
            on.append(str(_at(service, "name")))
    if not on:
        return None
    patch = [{"name": name, "coldStart": None} for name in on]
    return f"coldStart of {_names(on)} (pods start warm)", {"services": patch}


def _warms_up(cold: ColdStart) -> bool:
    return (
        cold.warmup_duration > 0
        or cold.warmup_cpu > 0
        or cold.cpu_factor > 1
        or cold.latency_factor > 1
    )


@_mechanism("cpu-limits")
def _cpu_limits(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """CPU limits: above the limit usage is capped and service times stretch (CFS
    throttling). On for a service with ``resources.limits.cpu``; switched off by removing
    the limit. A request that Kubernetes defaulted from the limit is written out, so
    scheduling and the HPA's utilization stay as they were."""
    patch: list[Patch] = []
    on: list[str] = []
    for service in _items(spec, "services"):
        limit = _at(service, "resources", "limits", "cpu")
        if limit is None:
            continue
        resources: Patch = {"limits": {"cpu": None}}
        if _at(service, "resources", "requests", "cpu") is None:
            resources["requests"] = {"cpu": limit}
        on.append(str(_at(service, "name")))
        patch.append({"name": _at(service, "name"), "resources": resources})
    if not on:
        return None
    return f"CPU limit of {_names(on)} (request kept)", {"services": patch}


@_mechanism("node-agent-scan")
def _node_agent_scan(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """cAdvisor's referenced-memory scan: each collection walks the page tables of every
    process under its ``mmap_lock``, which stalls the app's page faults and mmaps on a
    large mapping. On for a node pool with ``agents.cadvisor.referencedMemory: true``
    (cAdvisor's default is off); switched off by setting it false."""
    on = [
        str(_at(pool, "name"))
        for pool in _items(spec, "nodePools")
        if _at(pool, "agents", "cadvisor", "referencedMemory") is True
    ]
    if not on:
        return None
    off = {"agents": {"cadvisor": {"referencedMemory": False}}}
    patch = [{"name": name, **copy.deepcopy(off)} for name in on]
    return f"cAdvisor referencedMemory on pools {_names(on)}", {"nodePools": patch}


@_mechanism("stop-the-world-pauses")
def _pauses(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """Stop-the-world pauses (a JVM's GC): every worker of the pod freezes, so requests
    queue behind the pause. On for a service with ``process.pauses``; switched off by
    removing them."""
    on = [
        str(_at(s, "name"))
        for s in _items(spec, "services")
        if _at(s, "process", "pauses") is not None
    ]
    if not on:
        return None
    patch = [{"name": name, "process": {"pauses": None}} for name in on]
    return f"process pauses of {_names(on)}", {"services": patch}


@_mechanism("disk-stalls")
def _disk_stalls(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """Disk stalls: co-tenants' burst writes hold a node's disk, and a request that writes
    synchronously waits behind them. On for a node pool with a disk that has ``writers``,
    or a service with ``process.syncWriteProbability`` > 0; switched off by removing the
    writers (``writers: null``: the list is merged by name, so an empty list would keep
    them) and setting the probability to 0."""
    pools: list[Patch] = []
    disks: list[str] = []
    for pool in _items(spec, "nodePools"):
        busy = [
            str(_at(disk, "name"))
            for disk in _items(pool, "disks")
            if isinstance(_at(disk, "writers"), list) and _at(disk, "writers")
        ]
        if busy:
            disks += [f"{_at(pool, 'name')}/{name}" for name in busy]
            pools.append(
                {"name": _at(pool, "name"), "disks": [{"name": n, "writers": None} for n in busy]}
            )
    writers = [
        str(_at(s, "name"))
        for s in _items(spec, "services")
        if _number(_at(s, "process", "syncWriteProbability")) > 0
    ]
    patch: Patch = {}
    said: list[str] = []
    if pools:
        patch["nodePools"] = pools
        said.append(f"burst writers on disks {_names(disks)}")
    if writers:
        patch["services"] = [
            {"name": name, "process": {"syncWriteProbability": 0}} for name in writers
        ]
        said.append(f"sync writes of {_names(writers)}")
    if not patch:
        return None
    return "; ".join(said), patch


@_mechanism("region-balancer")
def _region_balancer(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """HBase's balancer: every period it moves regions to even out region counts, each
    move taking its region offline for a moment. On when ``spec.storage`` is set and
    ``balancer.enabled`` is not false (HBase's default is on); switched off by setting
    it false."""
    storage = spec.get("storage")
    if not isinstance(storage, Mapping) or _at(storage, "balancer", "enabled") is False:
        return None
    return "the HBase balancer", {"storage": {"balancer": {"enabled": False}}}


@_mechanism("zone-failure")
def _zone_failure(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """A zone failure on the timeline (``fail-zone``, and its ``restore-zone``): every
    node of the zone is lost at once. On when an event fails a zone; switched off by
    removing the zone events (the event list is replaced whole)."""
    events = spec.get("events")
    if not isinstance(events, list):
        return None
    zonal = ("fail-zone", "restore-zone")
    failed = [
        str(event.get("zone"))
        for event in events
        if isinstance(event, Mapping) and event.get("action") == "fail-zone"
    ]
    if not failed:
        return None
    kept = [
        copy.deepcopy(event)
        for event in events
        if not (isinstance(event, Mapping) and event.get("action") in zonal)
    ]
    return f"the failure of {_names(failed)}", {"events": kept}


@_mechanism("name-lookups")
def _name_lookups(spec: Mapping[str, Any]) -> tuple[str, Patch] | None:
    """An app's own DNS lookups before its calls (``calls[].lookup``): each call waits for
    the cluster's DNS and fails with it. On for every call with a ``lookup`` whose
    destination the pod's Sidecar does not bind to a local socket; switched off by
    removing it (the app calls an address it already has)."""
    patch: list[Patch] = []
    on: list[str] = []
    for service in _items(spec, "services"):
        bound = {
            host
            for listener in _items(_at(service, "sidecar") or {}, "egress")
            if _at(listener, "bind")
            for host in (_at(listener, "hosts") or [])
        }
        calls = [
            {"service": _at(call, "service"), "lookup": None}
            for call in _items(service, "calls")
            if _at(call, "lookup") is not None and _at(call, "service") not in bound
        ]
        if calls:
            patch.append({"name": _at(service, "name"), "calls": calls})
            on.append(f"{_at(service, 'name')}'s calls")
    if not patch:
        return None
    return f"the name lookups of {_names(on)}", {"services": patch}
