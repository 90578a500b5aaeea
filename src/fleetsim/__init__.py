"""fleetsim: a discrete-event simulator of service fleets.

>>> import fleetsim
>>> result = fleetsim.run("scenarios/quickstart.yaml")  # doctest: +SKIP
>>> result.summary["latency_ms"]["p99"]  # doctest: +SKIP
>>> result.series_frame("traffic")  # doctest: +SKIP
>>> fleetsim.compare("scenarios/quickstart.yaml").compare_frame()  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from fleetsim import compiled as _compiled

_compiled._install()  # before any hot module is imported: compiled or pure, never a mix

from fleetsim.errors import FleetsimError, ScenarioError  # noqa: E402
from fleetsim.result import Comparison, Result  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "Comparison",
    "FleetsimError",
    "Result",
    "ScenarioError",
    "__version__",
    "compare",
    "run",
]

Scenario = str | os.PathLike[str] | Mapping[str, Any]


def run(
    scenario: Scenario,
    variant: str | None = None,
    seed: int | None = None,
    progress: Any = None,
    *,
    duration: str | float | None = None,
    warmup: str | float | None = None,
) -> Result:
    """Run ``scenario`` (a file path, or a dict with the file's structure).

    ``variant`` picks one of ``spec.variants`` (None: the baseline); ``seed`` overrides
    ``spec.seed``; ``progress`` is an optional ``callback(done_s, total_s, events)``;
    ``duration`` and ``warmup`` (``"30s"`` or seconds) shorten or lengthen the run.
    Raises ``ScenarioError`` for a scenario that cannot be run.
    """
    from fleetsim.scenario.loader import load_scenario
    from fleetsim.simulation import Simulation

    loaded = load_scenario(scenario, variant=variant, duration=duration, warmup=warmup)
    return Simulation(loaded, seed=seed).run(progress)


def compare(
    scenario: Scenario,
    variants: Sequence[str] | None = None,
    seed: int | None = None,
    duration: str | float | None = None,
    warmup: str | float | None = None,
    progress: Any = None,
) -> Comparison:
    """Run the baseline and every variant of ``scenario`` (or only ``variants``; the
    baseline is ``"baseline"``) with one seed, and keep their summaries.

    Every variant is checked before any runs, so a bad name fails at once; the series
    of each run are dropped as it ends, so memory does not grow with the variants.
    """
    from fleetsim.scenario.fields import BASELINE
    from fleetsim.scenario.loader import load_scenario

    names = [BASELINE, *load_scenario(scenario).variant_names] if variants is None else variants
    picked = [None if name == BASELINE else name for name in names]
    for name in picked:
        load_scenario(scenario, variant=name, duration=duration, warmup=warmup)
    summaries = [
        run(scenario, name, seed, progress, duration=duration, warmup=warmup).summary
        for name in picked
    ]
    return Comparison(summaries)
