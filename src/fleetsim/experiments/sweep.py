"""Sweeps: a grid of scenario settings, each run with several seeds, resumable on disk.

A ``--set PATH=V1,V2`` names a field of the scenario file by a dotted path. Lists the
file names by a key (``services``, ``traffic``, ``nodePools`` by ``name``, ``routes``
by ``destination``, ...) are addressed by that name (``spec.services.search.replicas``);
any list also by index (``spec.routes[0].retries.attempts``). Values are YAML scalars.

The directory of a sweep holds ``sweep.json`` (what was asked: the scenario's hash, the
sets, the seeds, and the points) and ``runs/<point-id>/seed-<s>/summary.json``, each
written atomically when its run ends; a run whose summary is there is not run again.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fleetsim.errors import ScenarioError
from fleetsim.experiments.replications import estimate
from fleetsim.result import Result, json_text, write_atomic
from fleetsim.scenario.variants import MERGE_KEYS

INDEX = re.compile(r"^(?P<name>[^\[\]]*)((\[\d+\])+)$")
DEFAULT_METRICS = (
    "requests.total",
    "failure_rate",
    "latency_ms.p50",
    "latency_ms.p99",
    "goodput_rps",
)
INDEX_FILE = "sweep.json"
RESULTS_FILE = "sweep_results.csv"

Point = dict[str, Any]
"""One grid point: the value of each ``--set`` path."""


class SweepError(ScenarioError):
    """A ``--set`` or sweep directory that cannot be used (exit 2)."""


@dataclass(frozen=True)
class Setting:
    """One ``--set PATH=V1,V2,...``."""

    path: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Task:
    """One run: a grid point with one seed, and the scenario document it runs."""

    point_id: str
    seed: int
    document: dict[str, Any] = field(repr=False, compare=False)
    variant: str | None = None
    duration: str | None = None
    warmup: str | None = None


def parse_setting(text: str) -> Setting:
    path, equals, values = text.partition("=")
    if not equals or not path.strip() or not values.strip():
        raise SweepError("--set", text, "expected PATH=V1,V2,... (e.g. spec.seed=1,2)")
    parsed = tuple(yaml.safe_load(value.strip()) for value in values.split(","))
    return Setting(path.strip(), parsed)


def _segments(path: str) -> list[str | int]:
    """``spec.routes[0].retries`` -> ``["spec", "routes", 0, "retries"]``."""
    parts: list[str | int] = []
    for piece in path.split("."):
        match = INDEX.match(piece)
        if match is None:
            if not piece or "[" in piece or "]" in piece:
                raise SweepError("--set", path, f"cannot read {piece!r}: expected name or name[i]")
            parts.append(piece)
            continue
        if match["name"]:
            parts.append(match["name"])
        parts.extend(int(index) for index in re.findall(r"\[(\d+)\]", piece))
    return parts


def set_path(document: dict[str, Any], path: str, value: Any) -> None:
    """Put ``value`` at ``path`` in ``document``; the last key may be new, not the others."""
    parts = _segments(path)
    node: Any = document
    names: list[str] = []
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if isinstance(node, list):
            index = _list_index(node, part, names, path)
            if last:
                node[index] = value
                return
            node = node[index]
            continue
        if not isinstance(node, dict) or not isinstance(part, str):
            raise SweepError("--set", path, f"no field {part!r} here: {_kind(node)} found")
        if last:
            node[part] = value
            return
        if part not in node:
            raise SweepError("--set", path, f"no field {part!r}; found: {', '.join(node)}")
        names.append(part)
        node = node[part]


def _list_index(items: list[Any], part: str | int, names: list[str], path: str) -> int:
    if isinstance(part, int):
        if part >= len(items):
            raise SweepError("--set", path, f"index {part} beyond a list of {len(items)}")
        return part
    key = MERGE_KEYS.get(tuple(names[1:]) if names[:1] == ["spec"] else ())
    if key is None:
        raise SweepError("--set", path, f"{names[-1]} is addressed by index, e.g. [0]")
    for index, item in enumerate(items):
        if isinstance(item, dict) and str(item.get(key)) == part:
            return index
    known = ", ".join(str(item.get(key)) for item in items if isinstance(item, dict))
    raise SweepError("--set", path, f"no {names[-1]} with {key} {part!r}; found: {known}")


def _kind(node: object) -> str:
    return "a list" if isinstance(node, list) else f"a value {node!r}"


def grid(settings: Iterable[Setting]) -> list[Point]:
    """The cartesian product of the settings' values, the first setting varying slowest."""
    settings = list(settings)
    combos = itertools.product(*(setting.values for setting in settings))
    return [dict(zip((s.path for s in settings), combo, strict=True)) for combo in combos]


def point_id(point: Point) -> str:
    """A short stable name: the last field of each path with its value, and a hash."""
    words = [f"{_last_name(path)}={value}" for path, value in point.items()]
    readable = re.sub(r"[^A-Za-z0-9_.=-]+", "_", "_".join(words))[:60] or "base"
    digest = hashlib.sha256(json.dumps(point, sort_keys=True).encode()).hexdigest()[:8]
    return f"{readable}-{digest}"


def _last_name(path: str) -> str:
    names = [part for part in _segments(path) if isinstance(part, str)]
    return names[-1] if names else path


def seeds_of(document: dict[str, Any], count: int) -> list[int]:
    """``spec.seed``, ``spec.seed + 1``, ... (``spec.seed`` 0 when absent)."""
    spec = document.get("spec") if isinstance(document, dict) else None
    base = spec.get("seed", 0) if isinstance(spec, dict) else 0
    base = base if isinstance(base, int) and not isinstance(base, bool) else 0
    return [base + offset for offset in range(count)]


@dataclass
class Sweep:
    """A planned sweep: the document, its settings and seeds, and its runs' tasks."""

    scenario: str
    document: dict[str, Any]
    digest: str
    settings: list[Setting]
    seeds: list[int]
    variant: str | None = None
    duration: str | None = None
    warmup: str | None = None
    points: list[Point] = field(default_factory=list)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def index(self) -> dict[str, Any]:
        """What ``sweep.json`` holds: enough to refuse a directory of another sweep."""
        return {
            "scenario": self.scenario,
            "scenario_sha256": self.digest,
            "sets": [{"path": s.path, "values": list(s.values)} for s in self.settings],
            "seeds": self.seeds,
            "variant": self.variant,
            "duration": self.duration,
            "warmup": self.warmup,
            "points": [{"id": point_id(point), "set": point} for point in self.points],
        }

    def tasks(self) -> list[Task]:
        return [
            Task(pid, seed, doc, self.variant, self.duration, self.warmup)
            for pid, doc in self.documents.items()
            for seed in self.seeds
        ]


def plan(
    scenario: str,
    settings: list[Setting],
    seeds: int,
    *,
    variant: str | None = None,
    duration: str | None = None,
    warmup: str | None = None,
) -> Sweep:
    """Read the file, expand the grid and validate every point before anything runs."""
    from fleetsim.scenario.loader import load_scenario

    raw = Path(scenario).read_bytes()
    document = yaml.safe_load(raw)
    if not isinstance(document, dict):
        load_scenario(scenario)  # reports what is wrong with the file
        raise SweepError(scenario, "(top level)", "expected a scenario mapping")
    load_scenario(scenario, variant=variant, duration=duration, warmup=warmup)
    sweep = Sweep(
        scenario=scenario,
        document=document,
        digest=hashlib.sha256(raw).hexdigest(),
        settings=settings,
        seeds=seeds_of(document, seeds),
        variant=variant,
        duration=duration,
        warmup=warmup,
        points=grid(settings),
    )
    for point in sweep.points:
        sweep.documents[point_id(point)] = _checked_document(sweep, point)
    return sweep


def _checked_document(sweep: Sweep, point: Point) -> dict[str, Any]:
    from fleetsim.scenario.loader import load_scenario

    document = copy.deepcopy(sweep.document)
    for path, value in point.items():
        set_path(document, path, value)
    try:
        load_scenario(document, variant=sweep.variant, duration=sweep.duration, warmup=sweep.warmup)
    except ScenarioError as error:
        sets = " ".join(f"--set {path}={value}" for path, value in point.items())
        raise SweepError(
            sweep.scenario,
            f"{sets}: {error.path}",
            error.expected,
            value=error.value,
            has_value=error.has_value,
        ) from None
    return document


def run_task(task: Task) -> dict[str, Any]:
    """Run one task and return its summary (in a worker process or a Ray task)."""
    from fleetsim.scenario.loader import load_scenario
    from fleetsim.simulation import Simulation

    loaded = load_scenario(
        task.document, variant=task.variant, duration=task.duration, warmup=task.warmup
    )
    summary: dict[str, Any] = Simulation(loaded, seed=task.seed).run(None).summary
    return summary


def run_task_result(task: Task) -> Result:
    """Run one task and return its whole result (summary, series and events)."""
    from fleetsim.scenario.loader import load_scenario
    from fleetsim.simulation import Simulation

    loaded = load_scenario(
        task.document, variant=task.variant, duration=task.duration, warmup=task.warmup
    )
    return Simulation(loaded, seed=task.seed).run(None)


class Store:
    """The sweep directory: its index, and one summary per finished run."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def summary_path(self, pid: str, seed: int) -> Path:
        return self.directory / "runs" / pid / f"seed-{seed}" / "summary.json"

    def claim(self, sweep: Sweep) -> None:
        """Write ``sweep.json``, or refuse a directory that holds a different sweep."""
        index = sweep.index()
        path = self.directory / INDEX_FILE
        if path.exists():
            try:
                held = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                held = None
            if held != json.loads(json.dumps(index)):
                raise SweepError(
                    str(path),
                    "(top level)",
                    "this directory holds a different sweep (scenario, sets, seeds or "
                    "window differ); use another --out",
                )
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json_text(index))

    def load(self, pid: str, seed: int) -> dict[str, Any] | None:
        path = self.summary_path(pid, seed)
        if not path.exists():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def save(self, pid: str, seed: int, summary: dict[str, Any]) -> None:
        path = self.summary_path(pid, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json_text(summary))


def metric(summary: dict[str, Any], path: str) -> float | None:
    """A number from a summary by dotted path; ``failure_rate`` is failed / total."""
    if path == "failure_rate" and path not in summary:
        requests = summary.get("requests", {})
        total = requests.get("total") or 0
        return requests.get("failed", 0) / total if total else None
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float):
        return None
    return float(node)


def aggregate(
    sweep: Sweep, summaries: dict[tuple[str, int], dict[str, Any]], metrics: list[str]
) -> list[dict[str, Any]]:
    """One row per point: its settings, then mean, CI half-width and n per metric."""
    rows = []
    for point in sweep.points:
        pid = point_id(point)
        row: dict[str, Any] = {"point": pid, **point}
        for name in metrics:
            values = [
                value
                for seed in sweep.seeds
                if (value := metric(summaries[(pid, seed)], name)) is not None
            ]
            found = estimate(values).as_dict() if values else {"mean": None, "ci95": None, "n": 0}
            row.update({f"{name}.{key}": value for key, value in found.items()})
        rows.append(row)
    return rows


def present_metrics(summaries: Iterable[dict[str, Any]], extra: Iterable[str] = ()) -> list[str]:
    """The default metrics the summaries have (``goodput_rps`` only when present)."""
    summaries = list(summaries)
    wanted = list(dict.fromkeys([*DEFAULT_METRICS, *extra]))
    return [
        name
        for name in wanted
        if name in extra or any(metric(summary, name) is not None for summary in summaries)
    ]


Done = Callable[[Task, Any], None]
"""Called in the parent with each task and what its worker returned, as runs end."""
