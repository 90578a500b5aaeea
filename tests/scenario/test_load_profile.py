"""Load profiles: the file format's checks, the rate by type, and the arrival processes.

The statistical checks use fixed seeds, so they are deterministic; their tolerances
(4 standard deviations of a Poisson count) say how far a correct generator may stray.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from fleetsim.dataplane.arrivals import (
    BLOCK,
    LoadProfile,
    PiecewiseLinearProfile,
    SinusoidalProfile,
    arrival_times,
    build_profile,
)
from fleetsim.scenario import load_profile
from fleetsim.scenario.load_profile import LoadProfileSpec
from fleetsim.scenario.schema import FieldProblem, format_path


def _spec(**fields: Any) -> LoadProfileSpec:
    return LoadProfileSpec.model_validate(fields)


def _profile(base_rate: float, **fields: Any) -> LoadProfile:
    return build_profile(_spec(**fields), base_rate)


def _until(times: Iterator[float], end: float) -> np.ndarray:
    return np.array(list(itertools.takewhile(lambda t: t < end, times)))


def _count(times: np.ndarray, start: float, end: float) -> int:
    return int(np.count_nonzero((times >= start) & (times < end)))


STEPS = {
    "type": "steps",
    "steps": [
        {"at": 0, "rate": "2000/s"},
        {"at": "2s", "rate": 0},
        {"at": "3s", "factor": 5},
        {"at": "5s", "rate": "30000/m"},
    ],
}
RAMP = {
    "type": "ramp",
    "points": [{"at": 0, "rate": 0}, {"at": "4s", "rate": "4000/s"}, {"at": "6s", "factor": 1}],
}
HOURLY = {
    "type": "diurnal",
    "period": "24s",
    "hourly": [100 * (h % 7) for h in range(24)],
}
SINUSOID = {"type": "diurnal", "amplitude": 1, "period": "8s", "peakAt": "2s"}
SPIKES = {
    "type": "spikes",
    "spikes": [
        {"at": "1s", "duration": "100ms", "factor": 100},
        {"at": "2s", "duration": "500ms", "rate": "3000/s"},
        {"at": "2500ms", "duration": "1s", "factor": 0},
    ],
}
BASE = 1000.0

# (name, spec, segment edges) for the arrival-process checks.
PROFILES: list[tuple[str, dict[str, Any], list[float]]] = [
    ("constant", {"type": "constant"}, [0, 1, 3]),
    ("steps", STEPS, [0, 2, 3, 5, 8]),
    ("ramp", RAMP, [0, 1, 2, 4, 5, 6, 8]),
    ("hourly", HOURLY, [0, 3, 6, 9, 12, 17, 23, 24, 30, 48]),
    ("sinusoid", SINUSOID, [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16]),
    ("spikes", SPIKES, [0, 1, 1.1, 2, 2.5, 3.5, 5]),
]


# --- the documented examples ---------------------------------------------------------


def _documented_examples() -> list[dict[str, Any]]:
    doc = load_profile.__doc__ or ""
    block = (
        doc.split("Examples, one per type")[1]
        .split("::", 1)[1]
        .split("These are the file-format models")[0]
    )
    parts = [part for part in textwrap.dedent(block).split("\n\n") if part.strip()]
    return [yaml.safe_load(part)["profile"] for part in parts]


def test_the_module_doc_has_a_valid_example_of_each_type() -> None:
    examples = _documented_examples()
    specs = [LoadProfileSpec.model_validate(example) for example in examples]
    assert {spec.type for spec in specs} == {"constant", "steps", "ramp", "diurnal", "spikes"}
    for spec in specs:
        assert build_profile(spec, 1000.0).rate_at(60.0) >= 0
    ramp = build_profile(next(s for s in specs if s.type == "ramp"), 1000.0)
    assert ramp.rate_at(150.0) == pytest.approx(1000.0)  # "1000/s at 2m30s"


# --- rate by type --------------------------------------------------------------------


def test_no_profile_and_constant_keep_the_traffic_rate() -> None:
    for profile in (build_profile(None, 250.0), _profile(250.0), _profile(250.0, type="constant")):
        assert [profile.rate_at(t) for t in (0.0, 1.0, 1e6)] == [250.0] * 3
        assert profile.breakpoints() == [0.0]
        assert profile.period is None
        assert profile.integral(2.0, 6.0) == pytest.approx(1000.0)


def test_steps_replace_the_rate_or_scale_it_and_hold_until_the_next_step() -> None:
    profile = _profile(BASE, **STEPS)
    cases = {0.0: 2000, 1.999: 2000, 2.0: 0, 2.5: 0, 3.0: 5000, 4.9: 5000, 5.0: 500, 1e5: 500}
    assert {t: profile.rate_at(t) for t in cases} == cases
    assert profile.breakpoints() == [0.0, 2.0, 3.0, 5.0]
    assert profile.integral(0.0, 6.0) == pytest.approx(4000 + 10000 + 500)


def test_ramp_is_linear_between_points_and_flat_after_the_last() -> None:
    profile = _profile(BASE, **RAMP)
    cases = {0.0: 0, 1.0: 1000, 2.0: 2000, 4.0: 4000, 5.0: 2500, 6.0: 1000, 600.0: 1000}
    assert {t: profile.rate_at(t) for t in cases} == pytest.approx(cases)
    assert profile.breakpoints() == [0.0, 4.0, 6.0]
    assert profile.integral(0.0, 7.0) == pytest.approx(8000 + 5000 + 1000)


def test_hourly_table_interpolates_and_wraps_from_the_last_hour_to_the_first() -> None:
    table = [10.0 * h for h in range(24)]
    day = _profile(BASE, type="diurnal", hourly=table)
    hour = 3600.0
    assert day.period == 86400.0
    assert day.rate_at(0.5 * hour) == pytest.approx(5.0)
    assert day.rate_at(23 * hour) == pytest.approx(230.0)
    assert day.rate_at(23.5 * hour) == pytest.approx(115.0)  # halfway back to hour 0
    assert day.rate_at(24 * hour) == pytest.approx(0.0)
    assert day.rate_at(47.5 * hour) == pytest.approx(115.0)
    assert day.breakpoints() == [h * hour for h in range(24)]
    compressed = _profile(BASE, type="diurnal", hourly=table, period="24m")
    assert compressed.rate_at(23.5 * 60) == pytest.approx(115.0)
    assert compressed.rate_at(7 * 24 * 60 + 90) == pytest.approx(15.0)  # a week later
    assert compressed.integral(0.0, 1440.0) == pytest.approx(sum(table) * 60)


def test_sinusoid_peaks_at_peak_at_and_defaults_to_the_traffic_rate() -> None:
    explicit = _profile(
        BASE, type="diurnal", mean="100/s", amplitude=0.5, period="1h", peakAt="15m"
    )
    assert explicit.rate_at(15 * 60) == pytest.approx(150.0)
    assert explicit.rate_at(45 * 60) == pytest.approx(50.0)
    assert explicit.rate_at(30 * 60) == pytest.approx(100.0)
    assert explicit.rate_at(75 * 60) == pytest.approx(150.0)
    assert explicit.integral(0.0, 3600.0) == pytest.approx(100.0 * 3600)
    assert 15 * 60 in explicit.breakpoints() and 45 * 60 in explicit.breakpoints()
    default = _profile(BASE, type="diurnal", amplitude=0.2)
    assert isinstance(default, SinusoidalProfile)
    assert default.period == 86400.0
    assert default.rate_at(0.0) == pytest.approx(1200.0)
    assert default.rate_at(43200.0) == pytest.approx(800.0)
    flat = _profile(BASE, type="diurnal", amplitude=0)
    assert isinstance(flat, PiecewiseLinearProfile) and flat.rate_at(123.0) == BASE


def test_spikes_add_a_rate_or_scale_the_base_over_half_open_intervals() -> None:
    profile = _profile(BASE, **SPIKES)
    cases = {
        0.999: 1000,
        1.0: 100000,
        1.0999: 100000,
        1.1: 1000,
        2.0: 4000,
        2.4999: 4000,
        2.5: 0,
        3.4999: 0,
        3.5: 1000,
    }
    assert {t: profile.rate_at(t) for t in cases} == pytest.approx(cases)
    assert profile.breakpoints() == pytest.approx([0.0, 1.0, 1.1, 2.0, 2.5, 3.5])
    at_start = _profile(BASE, type="spikes", spikes=[{"at": 0, "duration": "1s", "factor": 2}])
    assert at_start.rate_at(0.0) == 2000.0 and at_start.rate_at(1.0) == BASE


@pytest.mark.parametrize(("name", "fields", "edges"), PROFILES, ids=[p[0] for p in PROFILES])
def test_max_rate_bounds_the_rate_and_integral_matches_quadrature(
    name: str, fields: dict[str, Any], edges: list[float]
) -> None:
    profile = _profile(BASE, **fields)
    rng = np.random.default_rng(5)
    for _ in range(20):
        start, end = np.sort(rng.uniform(0.0, 2 * edges[-1], 2))
        grid = np.linspace(start, end, 2001)
        values = profile.rates(grid)
        assert values[::40] == pytest.approx([profile.rate_at(float(t)) for t in grid[::40]])
        assert profile.max_rate(start, end + 1e-9) >= values.max() - 1e-9
        # Trapezoid rule on a fine grid with the breakpoints added (steps are exact there).
        marks = [b for b in _absolute_breakpoints(profile, end) if start < b < end]
        fine = np.unique(np.concatenate([grid, marks, np.nextafter(marks, -np.inf)]))
        rates = profile.rates(fine)
        quadrature = float(np.sum(np.diff(fine) * (rates[:-1] + rates[1:]) / 2))
        assert profile.integral(start, end) == pytest.approx(quadrature, rel=1e-4, abs=1e-6)


def _absolute_breakpoints(profile: LoadProfile, end: float) -> list[float]:
    if profile.period is None:
        return profile.breakpoints()
    cycles = range(math.ceil(end / profile.period) + 1)
    return [k * profile.period + b for k in cycles for b in profile.breakpoints()]


def test_max_rate_is_exact_where_it_matters_for_thinning() -> None:
    spikes = _profile(BASE, **SPIKES)
    assert spikes.max_rate(0.0, 1.0) == BASE  # the spike starts at the interval's end
    assert spikes.max_rate(0.5, 1.05) == 100 * BASE
    assert spikes.max_rate(2.6, 3.4) == 0.0
    sinusoid = _profile(BASE, **SINUSOID)
    assert sinusoid.max_rate(0.0, 100.0) == pytest.approx(2000.0)
    assert sinusoid.max_rate(3.0, 5.0) == pytest.approx(sinusoid.rate_at(3.0))
    assert sinusoid.max_rate(9.0, 11.0) == pytest.approx(2000.0)  # the peak at 10s


# --- validation ----------------------------------------------------------------------


def _problem(fields: dict[str, Any]) -> tuple[str, str]:
    """(field path, message) as the scenario loader would report the first error."""
    with pytest.raises(ValidationError) as caught:
        LoadProfileSpec.model_validate(fields)
    error = caught.value.errors()[0]
    problem = (error.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblem):
        return format_path((*error["loc"], *problem.path)), problem.expected
    return format_path(error["loc"]), error["msg"]


BAD_SPECS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "unsorted-steps",
        {
            "type": "steps",
            "steps": [{"at": 0, "rate": 1}, {"at": "10m", "rate": 2}, {"at": "5m", "rate": 3}],
        },
        "steps[2].at",
        "expected steps in time order, each later than the step before (10m)",
    ),
    (
        "repeated-step-time",
        {"type": "steps", "steps": [{"at": 0, "rate": 1}, {"at": 0, "rate": 2}]},
        "steps[1].at",
        "expected steps in time order",
    ),
    (
        "first-step-late",
        {"type": "steps", "steps": [{"at": "1m", "rate": 1}]},
        "steps[0].at",
        "expected the first step at 0s",
    ),
    (
        "first-ramp-point-late",
        {"type": "ramp", "points": [{"at": "1s", "rate": 1}, {"at": "2s", "rate": 2}]},
        "points[0].at",
        "expected the first point at 0s",
    ),
    ("no-steps", {"type": "steps", "steps": []}, "steps", "expected at least 1 step"),
    (
        "negative-rate",
        {"type": "steps", "steps": [{"at": 0, "rate": "-5/s"}]},
        "steps[0].rate",
        "not negative",
    ),
    (
        "negative-factor",
        {"type": "ramp", "points": [{"at": 0, "factor": -1}]},
        "points[0].factor",
        "greater than or equal to 0",
    ),
    (
        "rate-and-factor",
        {"type": "steps", "steps": [{"at": 0, "rate": 1, "factor": 2}]},
        "steps[0].factor",
        "expected rate or factor (an absolute rate, or a multiple of the traffic's rate), not both",
    ),
    (
        "neither-rate-nor-factor",
        {"type": "steps", "steps": [{"at": 0}]},
        "steps[0].rate",
        "required field is missing: expected rate or factor",
    ),
    (
        "hourly-too-short",
        {"type": "diurnal", "hourly": [1] * 23},
        "hourly",
        "expected 24 rates, one per hour mark from hour 0 to hour 23, got 23",
    ),
    (
        "amplitude-above-1",
        {"type": "diurnal", "amplitude": 1.5},
        "amplitude",
        "expected an amplitude from 0 to 1",
    ),
    ("amplitude-negative", {"type": "diurnal", "amplitude": -0.1}, "amplitude", "from 0 to 1"),
    (
        "amplitude-and-hourly",
        {"type": "diurnal", "amplitude": 0.5, "hourly": [1] * 24},
        "hourly",
        "a diurnal profile takes either amplitude (with optional mean, peakAt and period), "
        "or hourly (with optional period), not both",
    ),
    (
        "diurnal-without-shape",
        {"type": "diurnal", "period": "1h"},
        "amplitude",
        "required field is missing: a diurnal profile takes either amplitude",
    ),
    (
        "mean-with-hourly",
        {"type": "diurnal", "hourly": [1] * 24, "mean": 5},
        "mean",
        "not a parameter here",
    ),
    (
        "steps-field-on-ramp",
        {"type": "ramp", "steps": [{"at": 0, "rate": 1}]},
        "steps",
        "not a parameter here: a ramp profile takes points",
    ),
    (
        "parameter-on-constant",
        {"type": "constant", "mean": 5},
        "mean",
        "a constant profile takes no parameters",
    ),
    (
        "peak-after-period",
        {"type": "diurnal", "amplitude": 0.5, "period": "1h", "peakAt": "90m"},
        "peakAt",
        "expected a time within the first period, shorter than 1h",
    ),
    ("zero-period", {"type": "diurnal", "amplitude": 0.5, "period": 0}, "period", "greater than 0"),
    (
        "overlapping-spikes",
        {
            "type": "spikes",
            "spikes": [
                {"at": "1m", "duration": "30s", "rate": 1},
                {"at": "80s", "duration": "1s", "rate": 1},
            ],
        },
        "spikes[1].at",
        "expected spikes in time order without overlap, each starting at or after the end of "
        "the one before (90s)",
    ),
    (
        "zero-length-spike",
        {"type": "spikes", "spikes": [{"at": "1m", "duration": 0, "factor": 3}]},
        "spikes[0].duration",
        "greater than 0",
    ),
    (
        "unknown-type",
        {"type": "sawtooth"},
        "type",
        "'constant', 'steps', 'ramp', 'diurnal' or 'spikes'",
    ),
    ("misspelt-field", {"type": "steps", "step": []}, "step", "Extra inputs are not permitted"),
    (
        "bool-factor",
        {"type": "ramp", "points": [{"at": 0, "factor": True}]},
        "points[0].factor",
        "expected a number",
    ),
    (
        "bad-duration",
        {"type": "steps", "steps": [{"at": "soon", "rate": 1}]},
        "steps[0].at",
        "expected a duration",
    ),
]


@pytest.mark.parametrize(
    ("fields", "path", "fragment"), [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS]
)
def test_bad_profiles_are_refused_naming_the_field(
    fields: dict[str, Any], path: str, fragment: str
) -> None:
    where, message = _problem(fields)
    assert where == path
    assert fragment in message


def test_rate_zero_and_adjacent_spikes_are_allowed() -> None:
    _spec(type="steps", steps=[{"at": 0, "rate": 0}])
    _spec(type="diurnal", mean=0, amplitude=1)
    _spec(
        type="spikes",
        spikes=[
            {"at": 0, "duration": "1s", "rate": 0},
            {"at": "1s", "duration": "1s", "factor": 0},
        ],
    )


def test_build_profile_refuses_a_bad_base_rate_and_arrivals_a_bad_start() -> None:
    with pytest.raises(ValueError, match="base rate"):
        build_profile(None, -1.0)
    with pytest.raises(ValueError, match="base rate"):
        build_profile(None, math.nan)
    with pytest.raises(ValueError, match="start time"):
        arrival_times(build_profile(None, 1.0), np.random.default_rng(0), start=-1.0)


# --- arrivals ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fields", "edges"), PROFILES, ids=[p[0] for p in PROFILES])
def test_poisson_counts_per_segment_match_the_integrated_rate(
    name: str, fields: dict[str, Any], edges: list[float]
) -> None:
    profile = _profile(BASE, **fields)
    times = _until(arrival_times(profile, np.random.default_rng(11)), edges[-1])
    assert np.all(np.diff(times) >= 0) and times[0] > 0
    for start, end in itertools.pairwise(edges):
        expected = profile.integral(start, end)
        count = _count(times, start, end)
        assert abs(count - expected) <= 4 * math.sqrt(expected) + 1e-9, (
            start,
            end,
            count,
            expected,
        )


@pytest.mark.parametrize(("name", "fields", "edges"), PROFILES, ids=[p[0] for p in PROFILES])
def test_constant_arrivals_follow_the_cumulative_rate_exactly(
    name: str, fields: dict[str, Any], edges: list[float]
) -> None:
    profile = _profile(BASE, **fields)
    times = _until(arrival_times(profile, np.random.default_rng(0), poisson=False), edges[-1])
    assert np.all(np.diff(times) >= 0)
    for start, end in itertools.pairwise(edges):
        assert abs(_count(times, start, end) - profile.integral(start, end)) <= 1 + 1e-9
    # Arrival k comes when the integrated rate reaches k.
    reached = np.array([profile.integral(0.0, t) for t in times[:: max(1, len(times) // 300)]])
    assert reached == pytest.approx(
        np.arange(1, len(times) + 1)[:: max(1, len(times) // 300)], abs=1e-6
    )


def test_constant_arrivals_of_a_constant_rate_are_evenly_spaced() -> None:
    times = list(itertools.islice(arrival_times(build_profile(None, 4.0), None, poisson=False), 5))  # type: ignore[arg-type]
    assert times == [0.25, 0.5, 0.75, 1.0, 1.25]


@pytest.mark.parametrize("poisson", [True, False])
def test_zero_rate_stretches_have_no_arrivals_and_a_final_zero_ends_them(poisson: bool) -> None:
    profile = _profile(BASE, **STEPS)
    times = _until(arrival_times(profile, np.random.default_rng(3), poisson=poisson), 8.0)
    assert _count(times, 2.0, 3.0) == 0
    spikes = _until(
        arrival_times(_profile(BASE, **SPIKES), np.random.default_rng(3), poisson=poisson), 5.0
    )
    assert _count(spikes, 2.5, 3.5) == 0
    ending = _profile(
        BASE, type="steps", steps=[{"at": 0, "rate": "500/s"}, {"at": "2s", "rate": 0}]
    )
    finite = list(arrival_times(ending, np.random.default_rng(3), poisson=poisson))
    assert 0 < len(finite) < 1500 and max(finite) < 2.0
    silent = _profile(BASE, type="diurnal", hourly=[0] * 24)
    assert list(arrival_times(silent, np.random.default_rng(3), poisson=poisson)) == []
    assert (
        list(
            arrival_times(
                _profile(BASE, type="diurnal", mean=0, amplitude=0.5), np.random.default_rng(3)
            )
        )
        == []
    )


def test_thinning_is_reproducible_for_a_seed() -> None:
    profile = _profile(BASE, **SINUSOID)
    first = list(itertools.islice(arrival_times(profile, np.random.default_rng(42)), 20000))
    again = list(itertools.islice(arrival_times(profile, np.random.default_rng(42)), 20000))
    other = list(itertools.islice(arrival_times(profile, np.random.default_rng(43)), 20000))
    assert first == again
    assert first != other


@pytest.mark.parametrize("poisson", [True, False])
def test_arrivals_start_mid_profile(poisson: bool) -> None:
    profile = _profile(BASE, **HOURLY)
    start = 53.3  # hour 5.3 of the third compressed day
    times = _until(
        arrival_times(profile, np.random.default_rng(8), poisson=poisson, start=start), 80.0
    )
    assert times[0] > start
    expected = profile.integral(start, 80.0)
    assert abs(len(times) - expected) <= (4 * math.sqrt(expected) if poisson else 1)


class _CountingGenerator:
    """Wraps a NumPy generator to count the candidates and acceptance draws thinning makes."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.candidates = 0
        self.uniforms = 0

    def standard_exponential(self, size: int) -> np.ndarray:
        self.candidates += size
        return self.rng.standard_exponential(size)

    def random(self, size: int) -> np.ndarray:
        self.uniforms += size
        return self.rng.random(size)


def test_flat_stretches_draw_no_acceptance_numbers_and_spikes_cost_only_while_they_last() -> None:
    rng = _CountingGenerator(1)
    spikes = _profile(
        BASE,
        type="spikes",
        spikes=[{"at": f"{k}s", "duration": "10ms", "factor": 100} for k in range(1, 20)],
    )
    times = _until(arrival_times(spikes, rng), 20.0)  # type: ignore[arg-type]
    assert rng.uniforms == 0
    assert rng.candidates <= 1.2 * len(times) + 2 * BLOCK
    plain = _CountingGenerator(1)
    constant = list(itertools.islice(arrival_times(build_profile(None, 50.0), plain), 100))  # type: ignore[arg-type]
    direct = np.cumsum(np.random.default_rng(1).standard_exponential(BLOCK) / 50.0)[:100]
    assert constant == pytest.approx(direct.tolist())


def test_thinning_keeps_most_candidates_on_a_ramp_from_zero() -> None:
    rng = _CountingGenerator(2)
    ramp = _profile(
        BASE, type="ramp", points=[{"at": 0, "rate": 0}, {"at": "10s", "rate": "100000/s"}]
    )
    times = _until(arrival_times(ramp, rng), 10.0)  # type: ignore[arg-type]
    assert abs(len(times) - 500000) <= 4 * math.sqrt(500000)
    assert rng.candidates <= 1.15 * len(times)


def test_traffic_source_follows_a_steps_profile_end_to_end() -> None:
    """The series' request rate follows the profile: 100/s, then 400/s, then nothing."""
    import fleetsim
    from tests.fleet_scenarios import scenario

    document = scenario(replicas=8, workers=4, mean=0.001, rate=100, duration=30, warmup=0)
    document["spec"]["traffic"][0]["profile"] = {
        "type": "steps",
        "steps": [{"at": "0s", "rate": 100}, {"at": "10s", "rate": 400}, {"at": "20s", "rate": 0}],
    }
    rows = fleetsim.run(document).series["traffic"]
    first = sum(r["requests"] for r in rows if r["t"] <= 10)
    second = sum(r["requests"] for r in rows if 10 < r["t"] <= 20)
    third = sum(r["requests"] for r in rows if r["t"] > 20)
    assert abs(first - 1000) <= 4 * math.sqrt(1000) + 5  # + requests in flight at edges
    assert abs(second - 4000) <= 4 * math.sqrt(4000) + 5
    assert third <= 5
