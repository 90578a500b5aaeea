"""The scenario file format: schema, loading with clear errors, and variants.

>>> from fleetsim.scenario import load_scenario
>>> loaded = load_scenario("scenarios/quickstart.yaml", variant="no-retries")  # doctest: +SKIP
>>> loaded.scenario.spec.routes[0].retries is None  # doctest: +SKIP
True
"""

from __future__ import annotations

from fleetsim.scenario.loader import LoadedScenario, load_scenario, variant_names
from fleetsim.scenario.schema import (
    BASELINE,
    Metadata,
    Metrics,
    Retries,
    Route,
    Scenario,
    Service,
    ServiceTime,
    Spec,
    Traffic,
)
from fleetsim.scenario.variants import apply_variant

__all__ = [
    "BASELINE",
    "LoadedScenario",
    "Metadata",
    "Metrics",
    "Retries",
    "Route",
    "Scenario",
    "Service",
    "ServiceTime",
    "Spec",
    "Traffic",
    "apply_variant",
    "load_scenario",
    "variant_names",
]
