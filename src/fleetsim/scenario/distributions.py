"""Time distributions of the file format: service times, device latencies, pause lengths.

One model for every random duration a scenario describes, so each is written the same
way (``distribution`` and its parameters) and checked the same way. ``lognormal`` is
the usual shape of real service times; it is given either by its mean and standard
deviation or by two quantiles (p50 and p99), whichever the user has measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, Self

from pydantic import model_validator

from fleetsim.fileformat import FieldProblem, FileModel
from fleetsim.scenario.fields import PositiveDuration
from fleetsim.units import Duration, format_duration

__all__ = ["Distribution", "ServiceTime", "TimeDistribution"]

Distribution = Literal["exponential", "constant", "lognormal", "uniform"]

# For each distribution, the alternative sets of parameters that define it.
_PARAMETER_SETS: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    "exponential": (("mean",),),
    "constant": (("mean",),),
    "lognormal": (("mean", "stddev"), ("p50", "p99")),
    "uniform": (("min", "max"),),
}
_ALL_PARAMETERS: Final = ("mean", "stddev", "p50", "p99", "min", "max")


def _describe_sets(sets: Sequence[Sequence[str]]) -> str:
    spelled = [" and ".join(group) for group in sets]
    return spelled[0] if len(spelled) == 1 else "either " + ", or ".join(spelled)


class TimeDistribution(FileModel):
    """A random duration: how long a worker serves an attempt, a device a write, a pause."""

    distribution: Distribution
    mean: PositiveDuration | None = None
    stddev: PositiveDuration | None = None
    p50: PositiveDuration | None = None
    p99: PositiveDuration | None = None
    min: Duration | None = None
    max: PositiveDuration | None = None

    @model_validator(mode="after")
    def _check_parameters(self) -> Self:
        sets = _PARAMETER_SETS[self.distribution]
        given = [name for name in _ALL_PARAMETERS if getattr(self, name) is not None]
        takes = f"the {self.distribution} distribution takes {_describe_sets(sets)}"
        allowed = {name for group in sets for name in group}
        for name in given:
            if name not in allowed:
                raise FieldProblem(name, f"not a parameter here: {takes}")
        used = [group for group in sets if any(name in given for name in group)]
        if len(used) > 1:
            raise FieldProblem(used[1][0], f"{takes}, not both")
        group = used[0] if used else sets[0]
        for name in group:
            if name not in given:
                raise FieldProblem(name, f"required field is missing: {takes}")
        self._check_order()
        return self

    def _check_order(self) -> None:
        if self.min is not None and self.max is not None and self.max <= self.min:
            raise FieldProblem(
                "max",
                f"expected max greater than min ({format_duration(self.min)})",
                value=format_duration(self.max),
                has_value=True,
            )
        if self.p50 is not None and self.p99 is not None and self.p99 <= self.p50:
            raise FieldProblem(
                "p99",
                f"expected p99 greater than p50 ({format_duration(self.p50)})",
                value=format_duration(self.p99),
                has_value=True,
            )


ServiceTime = TimeDistribution
"""How long one worker takes to serve one attempt (``services[].serviceTime``)."""
