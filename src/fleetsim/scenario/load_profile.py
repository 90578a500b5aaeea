"""Time-varying load: how a traffic source's arrival rate changes during a run.

A traffic source has a mean ``rate``; an optional ``profile`` makes that rate a
function of simulated time, so that a scenario can replay a morning ramp, a
deploy at peak, a day compressed into ten minutes or a retry storm after a burst.
Time is measured from the start of the run, warm-up included (``at: 0s`` is the
first simulated instant), because a profile describes the clients, who do not
know where the measured window begins.

How ``rate`` relates to the profile, by type:

- ``constant`` (the default, and what no profile means): the traffic's ``rate``.
- ``steps`` and ``ramp``: each point gives either an absolute ``rate``, which
  replaces the traffic's ``rate``, or a ``factor``, which multiplies it. Factors
  let a variant change the base rate and keep the shape.
- ``diurnal``: a sinusoid around ``mean`` (default: the traffic's ``rate``), or
  an ``hourly`` table of absolute rates, which replaces ``rate``.
- ``spikes``: the traffic's ``rate`` is the base; during a spike a ``rate`` is
  *added* to it (the burst's own clients) or a ``factor`` multiplies it.

A rate of 0 is allowed anywhere: no arrivals for that while.

Examples, one per type (inside a ``spec.traffic`` item)::

    profile:
      type: constant                 # the same as no profile

    profile:
      type: steps                    # piecewise constant; first step at 0s, times increasing
      steps:
        - {at: 0s, rate: 1000/s}
        - {at: 10m, rate: 3000/s}
        - {at: 20m, factor: 0.5}     # half the traffic's rate

    profile:
      type: ramp                     # piecewise linear between points, flat after the last
      points:
        - {at: 0s, rate: 0}
        - {at: 5m, rate: 2000/s}     # 1000/s at 2m30s
        - {at: 15m, factor: 1}

    profile:
      type: diurnal                  # mean * (1 + amplitude * cos(2 pi (t - peakAt) / period))
      mean: 1000/s                   # default: the traffic's rate
      amplitude: 0.6                 # 0 to 1, a fraction of the mean
      period: 24h                    # default 24h
      peakAt: 14h                    # when the rate peaks in the first period; default 0s

    profile:
      type: diurnal                  # 24 rates, one per hour mark, linear in between,
      period: 24m                    # hour 23 ramps back to hour 0; period (default 24h)
      hourly: [200/s, 150/s, 120/s, 100/s, 100/s, 150/s, 300/s, 600/s,     # compresses a day
               900/s, 1000/s, 1000/s, 1100/s, 1200/s, 1100/s, 1000/s, 1000/s,
               1000/s, 1100/s, 1200/s, 1000/s, 800/s, 600/s, 400/s, 300/s]

    profile:
      type: spikes                   # the traffic's rate, plus bursts
      spikes:                        # in time order, not overlapping
        - {at: 5m, duration: 30s, rate: 20000/s}   # 20000/s on top of the base
        - {at: 12m, duration: 10s, factor: 100}    # 100 x the base

These are the file-format models; :mod:`fleetsim.dataplane.arrivals` turns them into
rates and arrival times at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Final, Literal, Self

from pydantic import BeforeValidator, Field, model_validator
from pydantic.alias_generators import to_camel

from fleetsim.fileformat import FieldProblem, FileModel
from fleetsim.units import Duration, Rate, format_duration

__all__ = [
    "DAY",
    "HOURS",
    "LoadProfileSpec",
    "ProfileType",
    "RatePoint",
    "Spike",
]

DAY: Final = 86400.0
"""The default period of a diurnal profile, in seconds."""
HOURS: Final = 24
"""Entries in an ``hourly`` table: one per hour mark of the (possibly compressed) day."""

ProfileType = Literal["constant", "steps", "ramp", "diurnal", "spikes"]


def _reject_bool(value: object) -> object:
    """YAML reads ``yes``/``on`` as ``True``; a factor of ``True`` is always a mistake."""
    if isinstance(value, bool):
        raise ValueError("expected a number")
    return value


Factor = Annotated[float, BeforeValidator(_reject_bool), Field(ge=0, allow_inf_nan=False)]
"""A multiple of the traffic's rate (0 allowed: no arrivals)."""
Amplitude = Annotated[float, BeforeValidator(_reject_bool), Field(allow_inf_nan=False)]
PositiveDuration = Annotated[Duration, Field(gt=0)]


# --- the file format ----------------------------------------------------------------


def _one_of_rate_or_factor(rate: float | None, factor: float | None, meaning: str) -> None:
    """Exactly one of ``rate`` and ``factor``: both would be ambiguous, neither says nothing."""
    if rate is None and factor is None:
        raise FieldProblem(
            "rate", f"required field is missing: expected rate or factor ({meaning})"
        )
    if rate is not None and factor is not None:
        raise FieldProblem("factor", f"expected rate or factor ({meaning}), not both")


class RatePoint(FileModel):
    """A point of ``steps`` or ``ramp``: from ``at`` the rate is ``rate``, or ``factor`` x base."""

    at: Duration
    rate: Rate | None = None
    factor: Factor | None = None

    @model_validator(mode="after")
    def _check_level(self) -> Self:
        _one_of_rate_or_factor(
            self.rate, self.factor, "an absolute rate, or a multiple of the traffic's rate"
        )
        return self

    def level(self, base_rate: float) -> float:
        """The rate this point sets, in requests per second."""
        return self.rate if self.rate is not None else (self.factor or 0.0) * base_rate


class Spike(FileModel):
    """A burst over ``[at, at + duration)``: ``rate`` added to the base, or base x ``factor``."""

    at: Duration
    duration: PositiveDuration
    rate: Rate | None = None
    factor: Factor | None = None

    @model_validator(mode="after")
    def _check_level(self) -> Self:
        _one_of_rate_or_factor(
            self.rate, self.factor, "a rate added to the traffic's, or a multiple of it"
        )
        return self

    @property
    def end(self) -> float:
        return self.at + self.duration

    def level(self, base_rate: float) -> float:
        """The rate during the spike, in requests per second."""
        if self.rate is not None:
            return base_rate + self.rate
        return (self.factor or 0.0) * base_rate


# For each type, the alternative sets of (required, optional) parameters.
_PARAMETER_SETS: Final[dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]] = {
    "constant": (((), ()),),
    "steps": ((("steps",), ()),),
    "ramp": ((("points",), ()),),
    "diurnal": ((("amplitude",), ("mean", "peak_at", "period")), (("hourly",), ("period",))),
    "spikes": ((("spikes",), ()),),
}
_TAKES: Final[dict[str, str]] = {
    "constant": "a constant profile takes no parameters (it keeps the traffic's rate)",
    "steps": "a steps profile takes steps",
    "ramp": "a ramp profile takes points",
    "diurnal": (
        "a diurnal profile takes either amplitude (with optional mean, peakAt and period), "
        "or hourly (with optional period)"
    ),
    "spikes": "a spikes profile takes spikes",
}
_ALL_PARAMETERS: Final = (
    "steps",
    "points",
    "mean",
    "amplitude",
    "peak_at",
    "hourly",
    "period",
    "spikes",
)


class LoadProfileSpec(FileModel):
    """``traffic[].profile``: how the arrival rate changes over the run (see the module doc).

    One model with a ``type`` and per-type fields, checked like ``serviceTime``, rather
    than a tagged union: errors then name the field as the file spells it
    (``profile.steps[1].at``) and a misspelt key gets a "did you mean".
    """

    type: ProfileType = "constant"
    steps: list[RatePoint] | None = None
    """``steps``: the rate from each ``at`` until the next."""
    points: list[RatePoint] | None = None
    """``ramp``: rates at these times, linear in between, flat after the last."""
    mean: Rate | None = None
    """``diurnal`` sinusoid: the mean rate; None = the traffic's rate."""
    amplitude: Amplitude | None = None
    """``diurnal`` sinusoid: the swing as a fraction of the mean, 0 to 1."""
    peak_at: Duration | None = None
    """``diurnal`` sinusoid: when the rate peaks in the first period; None = 0s."""
    hourly: list[Rate] | None = None
    """``diurnal`` table: 24 rates at the hour marks, linear in between, wrapping around."""
    period: PositiveDuration | None = None
    """``diurnal``: the length of one day; None = 24h. Shorter compresses a day."""
    spikes: list[Spike] | None = None
    """``spikes``: bursts on top of the traffic's rate."""

    @model_validator(mode="after")
    def _check_parameters(self) -> Self:
        takes = _TAKES[self.type]
        sets = _PARAMETER_SETS[self.type]
        given = [name for name in _ALL_PARAMETERS if getattr(self, name) is not None]
        used = [(req, opt) for req, opt in sets if any(name in given for name in req)]
        if len(used) > 1:
            raise FieldProblem(to_camel(used[1][0][0]), f"{takes}, not both")
        required, optional = used[0] if used else sets[0]
        for name in given:
            if name not in required and name not in optional:
                raise FieldProblem(to_camel(name), f"not a parameter here: {takes}")
        for name in required:
            if name not in given:
                raise FieldProblem(to_camel(name), f"required field is missing: {takes}")
        self._check_values()
        return self

    def _check_values(self) -> None:
        if self.steps is not None:
            _check_points("steps", "step", self.steps)
        if self.points is not None:
            _check_points("points", "point", self.points)
        if self.spikes is not None:
            _check_spikes(self.spikes)
        if self.hourly is not None and len(self.hourly) != HOURS:
            raise FieldProblem(
                "hourly",
                f"expected {HOURS} rates, one per hour mark from hour 0 to hour 23, "
                f"got {len(self.hourly)}",
            )
        if self.amplitude is not None and not 0.0 <= self.amplitude <= 1.0:
            raise FieldProblem(
                "amplitude",
                "expected an amplitude from 0 to 1 (a fraction of the mean rate; "
                "above 1 the rate would go negative)",
                value=self.amplitude,
                has_value=True,
            )
        period = DAY if self.period is None else self.period
        if self.peak_at is not None and self.peak_at >= period:
            raise FieldProblem(
                "peakAt",
                f"expected a time within the first period, shorter than {format_duration(period)}",
                value=format_duration(self.peak_at),
                has_value=True,
            )


def _check_points(field: str, noun: str, points: Sequence[RatePoint]) -> None:
    """The first point at 0s and times strictly increasing: the file reads as a timeline."""
    if not points:
        raise FieldProblem(field, f"expected at least 1 {noun}")
    if points[0].at != 0:
        raise FieldProblem(
            (field, 0, "at"),
            f"expected the first {noun} at 0s, the start of the run (warm-up included)",
            value=format_duration(points[0].at),
            has_value=True,
        )
    for index in range(1, len(points)):
        previous = points[index - 1].at
        if points[index].at <= previous:
            raise FieldProblem(
                (field, index, "at"),
                f"expected {field} in time order, each later than the {noun} before "
                f"({format_duration(previous)})",
                value=format_duration(points[index].at),
                has_value=True,
            )


def _check_spikes(spikes: Sequence[Spike]) -> None:
    """Spikes in time order and apart, so each instant has one rate the file states."""
    if not spikes:
        raise FieldProblem("spikes", "expected at least 1 spike")
    for index in range(1, len(spikes)):
        previous_end = spikes[index - 1].end
        if spikes[index].at < previous_end:
            raise FieldProblem(
                ("spikes", index, "at"),
                "expected spikes in time order without overlap, each starting at or after "
                f"the end of the one before ({format_duration(previous_end)})",
                value=format_duration(spikes[index].at),
                has_value=True,
            )
