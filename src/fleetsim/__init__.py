"""fleetsim: a discrete-event simulator of service fleets.

>>> import fleetsim
>>> result = fleetsim.run("scenarios/quickstart.yaml")  # doctest: +SKIP
>>> result.summary["latency_ms"]["p99"]  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from fleetsim.errors import FleetsimError, ScenarioError
from fleetsim.result import Result

__version__ = "0.1.0"
__all__ = ["FleetsimError", "Result", "ScenarioError", "__version__", "run"]


def run(
    scenario: str | os.PathLike[str] | Mapping[str, Any],
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
