"""Field types shared by every part of the scenario file format.

Counts and fractions that refuse ``true``/``false``, names that must be Kubernetes
DNS-1123 labels or label values, positive durations and rates, and the reserved name of
the baseline. :mod:`fleetsim.scenario.schema`, :mod:`~fleetsim.scenario.kubernetes` and
:mod:`~fleetsim.scenario.mesh` build their models from these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, Field

from fleetsim.fileformat import suggest
from fleetsim.units import Duration, Rate

BASELINE: Final = "baseline"
"""The name of the scenario without any variant; reserved, so no variant may take it."""


def did_you_mean(word: object, candidates: Iterable[str]) -> str:
    match = suggest(word, candidates)
    return f"; did you mean {match!r}?" if match is not None and match != word else ""


# --- field types -----------------------------------------------------------------


def _reject_bool(hint: str) -> Callable[[object], object]:
    """Refuse ``true``/``false`` where a number is meant.

    pydantic accepts a bool as an int in lax mode, and YAML turns ``yes``/``on``
    into ``True``; a replica count of ``True`` is always a mistake.
    """

    def check(value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(hint)
        return value

    return check


_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
DNS_LABEL_HINT: Final = (
    "expected a name of lowercase letters, digits and '-' that starts and ends with a "
    "letter or digit, at most 63 characters (a Kubernetes DNS-1123 label)"
)
ZONE_HINT: Final = (
    "expected a zone name of letters, digits, '-', '_' and '.' that starts and ends with "
    "a letter or digit, at most 63 characters (a Kubernetes label value)"
)


def _matching(pattern: re.Pattern[str], hint: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > 63 or pattern.fullmatch(value) is None:
            raise ValueError(hint)
        return value

    return check


_SUMMARY_PATH = re.compile(r"[A-Za-z0-9_][-A-Za-z0-9_]*(?:\.[A-Za-z0-9_][-A-Za-z0-9_]*)*")
SUMMARY_PATH_HINT: Final = (
    "expected a dotted path into the run's summary: names of letters, digits, '_' and '-' "
    "joined by '.', such as latency_ms.p99 or services.backend.retries"
)


def _summary_path(path: str) -> str:
    if _SUMMARY_PATH.fullmatch(path) is None:
        raise ValueError(SUMMARY_PATH_HINT)
    return path


def _not_baseline(name: str) -> str:
    if name == BASELINE:
        raise ValueError(f"expected a variant name other than {BASELINE!r}, which means no variant")
    return name


Count = Annotated[int, BeforeValidator(_reject_bool("expected a whole number"))]
Fraction = Annotated[float, BeforeValidator(_reject_bool("expected a number"))]
Name = Annotated[str, AfterValidator(_matching(_DNS_LABEL, DNS_LABEL_HINT))]
ZoneName = Annotated[str, AfterValidator(_matching(_LABEL_VALUE, ZONE_HINT))]
VariantName = Annotated[Name, AfterValidator(_not_baseline)]
SummaryPath = Annotated[str, AfterValidator(_summary_path)]
"""A dotted path into a run's summary; whether it resolves is known only after a run."""
PositiveDuration = Annotated[Duration, Field(gt=0)]
PositiveRate = Annotated[Rate, Field(gt=0)]
