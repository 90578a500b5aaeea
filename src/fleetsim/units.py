"""Units as people write them in scenario files: ``"10ms"``, ``"1800/s"``, ``"2Gi"``.

Scenario files follow Kubernetes habits, so durations read like Go's
``time.ParseDuration`` (``"250us"``, ``"1.5s"``, ``"1m30s"``, with ``d`` for days
added), memory sizes like Kubernetes resource quantities (``"512Mi"``) and
CPU like Kubernetes CPU quantities (``"500m"``, ``"2"``). Every parser returns
plain numbers in base units (seconds, events per second, bytes, cores) so that
the simulation never sees a string, and raises ``ValueError``
whose message says what would have been accepted; the scenario loader turns
that message into a one-line error naming the file and field.

The ``Duration``, ``Rate``, ``Memory`` and ``Cpu`` annotated types plug the parsers into
pydantic models.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Annotated, Final

from pydantic import BeforeValidator

__all__ = [
    "Cpu",
    "Duration",
    "Memory",
    "Rate",
    "format_cpu",
    "format_duration",
    "parse_cpu",
    "parse_duration",
    "parse_memory",
    "parse_rate",
]

DURATION_HINT: Final = "expected a duration such as '10ms', '1.5s', '2m' or a number of seconds"
RATE_HINT: Final = "expected a rate such as '1800/s', '6000/m' or a number per second"
MEMORY_HINT: Final = "expected a memory size such as '512Mi', '2Gi', '300MB' or a number of bytes"
CPU_HINT: Final = "expected a CPU quantity such as '500m' or '2' (cores)"

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"

# Seconds per unit. "m" is minutes, as in Go and Kubernetes; "ms" must be tried first.
_DURATION_UNITS: Final[dict[str, float]] = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,  # MICRO SIGN, what Go prints
    "\u03bcs": 1e-6,  # GREEK SMALL LETTER MU, what keyboards often give
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_UNIT = "|".join(sorted(map(re.escape, _DURATION_UNITS), key=len, reverse=True))
_DURATION_PART = re.compile(rf"\s*({_NUMBER})\s*({_UNIT})")
_DURATION_FULL = re.compile(rf"(?:\s*{_NUMBER}\s*(?:{_UNIT}))+\s*")
_BARE_NUMBER = re.compile(rf"\s*({_NUMBER})\s*")
_RATE = re.compile(rf"\s*({_NUMBER})\s*/\s*(.+?)\s*")
_RPS = re.compile(rf"\s*({_NUMBER})\s*rps\s*")

# Kubernetes resource.Quantity suffixes (binary and decimal), plus the "B"-suffixed
# spellings people use outside Kubernetes ("300MB", "2GiB").
_MEMORY_FACTORS: Final[dict[str, int]] = {
    "": 1,
    "B": 1,
    **{f"{p}i": 1024 ** (i + 1) for i, p in enumerate("KMGTPE")},
    **{f"{p}iB": 1024 ** (i + 1) for i, p in enumerate("KMGTPE")},
    "k": 1000,
    **{p: 1000 ** (i + 1) for i, p in enumerate("KMGTPE")},
    "kB": 1000,
    **{f"{p}B": 1000 ** (i + 1) for i, p in enumerate("KMGTPE")},
}
_MEMORY = re.compile(rf"\s*({_NUMBER})\s*([A-Za-z]*)\s*")
_MILLICORES = re.compile(rf"\s*({_NUMBER})\s*m\s*")


def _plain_number(value: object, hint: str) -> float | str:
    """Return ``value`` as a float when it is a bare number, or the string to parse further.

    Booleans are refused although Python counts them as ints: YAML turns ``yes``
    and ``on`` into ``True``, which is never meant as a quantity.
    """
    if isinstance(value, bool):
        raise ValueError(hint)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        bare = _BARE_NUMBER.fullmatch(value)
        if bare is None:
            return value
        number = float(bare.group(1))
    else:
        raise ValueError(hint)
    _check_finite_non_negative(number, hint)
    return number


def _check_finite_non_negative(number: float, hint: str) -> None:
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"{hint} (not NaN or infinity)")
    if number < 0:
        raise ValueError(f"{hint}, not negative")


def parse_duration(value: object) -> float:
    """Parse a duration into seconds.

    Accepts Go-style strings (``"250us"``, ``"10ms"``, ``"1.5s"``, ``"2m"``,
    ``"1h"``, ``"1m30s"``, also ``"ns"``, ``"µs"`` and ``"d"``) or a plain number
    of seconds. Negative, NaN and infinite durations are refused.
    """
    text = _plain_number(value, DURATION_HINT)
    if isinstance(text, float):
        return text
    if _DURATION_FULL.fullmatch(text) is None:
        raise ValueError(DURATION_HINT)
    total = 0.0
    for amount, unit in _DURATION_PART.findall(text):
        part = float(amount)
        _check_finite_non_negative(part, DURATION_HINT)
        total += part * _DURATION_UNITS[unit]
    _check_finite_non_negative(total, DURATION_HINT)
    return total


def parse_rate(value: object) -> float:
    """Parse a rate into events per second.

    Accepts ``"COUNT/PERIOD"`` where the period is a duration unit or a duration
    (``"1800/s"``, ``"6000/m"``, ``"10/h"``, ``"100/10s"``), ``"1800rps"``, or a
    plain number per second.
    """
    text = _plain_number(value, RATE_HINT)
    if isinstance(text, float):
        return text
    rps = _RPS.fullmatch(text)
    if rps is not None:
        return _finite_rate(float(rps.group(1)))
    match = _RATE.fullmatch(text)
    if match is None:
        raise ValueError(RATE_HINT)
    count, period_text = match.groups()
    period_text = period_text if period_text[0].isdigit() else f"1{period_text}"
    try:
        period = parse_duration(period_text)
    except ValueError:
        raise ValueError(RATE_HINT) from None
    if period <= 0:
        raise ValueError(f"{RATE_HINT} (the period after '/' must be longer than 0)")
    return _finite_rate(float(count) / period)


def _finite_rate(rate: float) -> float:
    _check_finite_non_negative(rate, RATE_HINT)
    return rate


def parse_memory(value: object) -> int:
    """Parse a memory size into bytes, rounding a fraction of a byte up.

    Accepts Kubernetes quantities (``"512Mi"``, ``"2Gi"``, ``"1.5G"``, ``"500k"``),
    the ``B``-suffixed spellings (``"300MB"`` is decimal, ``"2GiB"`` binary) and
    plain numbers of bytes. Suffixes are case-sensitive as in Kubernetes, where
    ``m`` means milli and ``M`` mega, so ``"512mi"`` is refused.
    """
    text = _plain_number(value, MEMORY_HINT)
    if isinstance(text, float):
        return math.ceil(text)
    match = _MEMORY.fullmatch(text)
    if match is None or match.group(2) not in _MEMORY_FACTORS:
        raise ValueError(MEMORY_HINT)
    try:
        amount = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the regex only lets numbers through
        raise ValueError(MEMORY_HINT) from None
    _check_finite_non_negative(float(amount), MEMORY_HINT)
    size = amount * _MEMORY_FACTORS[match.group(2)]
    return int(size.to_integral_value(rounding=ROUND_CEILING))


def parse_cpu(value: object) -> float:
    """Parse a CPU quantity into cores.

    Accepts what Kubernetes writes for CPU: millicores (``"500m"``, ``"250m"``) or
    cores (``"2"``, ``"1.5"``, or a plain number). Other quantity suffixes, which
    Kubernetes would parse but nobody uses for CPU (``"1k"``, ``"250u"``), are
    refused, as are negative, NaN and infinite amounts.
    """
    text = _plain_number(value, CPU_HINT)
    if isinstance(text, float):
        return text
    match = _MILLICORES.fullmatch(text)
    if match is None:
        raise ValueError(CPU_HINT)
    millicores = float(match.group(1))
    _check_finite_non_negative(millicores, CPU_HINT)
    return millicores / 1000


def format_cpu(cores: float) -> str:
    """Render cores the way Kubernetes spells CPU (``0.5`` -> ``"500m"``, ``2`` -> ``"2"``)."""
    if float(cores).is_integer():
        return f"{cores:g}"
    return f"{cores * 1000:.6g}m"


def format_duration(seconds: float) -> str:
    """Render seconds the way a scenario file would spell them (``0.01`` -> ``"10ms"``)."""
    if seconds == 0:
        return "0s"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.4g}us"
    if seconds < 1:
        return f"{seconds * 1e3:.4g}ms"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:.6g}s"


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, parsed from ``"10ms"``-style strings or plain numbers."""

Rate = Annotated[float, BeforeValidator(parse_rate)]
"""Events per second, parsed from ``"1800/s"``-style strings or plain numbers."""

Memory = Annotated[int, BeforeValidator(parse_memory)]
"""Bytes, parsed from ``"512Mi"``-style strings or plain numbers."""

Cpu = Annotated[float, BeforeValidator(parse_cpu)]
"""Cores, parsed from ``"500m"``-style strings or plain numbers."""


# --- int or percent (Kubernetes IntOrString) -----------------------------------------

_INT_PERCENT = re.compile(r"(\d+)%")


def percent_of(value: int | str) -> int | None:
    """The N of an ``"N%"`` value, or None for a plain count."""
    match = _INT_PERCENT.fullmatch(value) if isinstance(value, str) else None
    return None if match is None else int(match.group(1))


def scaled_value(value: int | str, total: int, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent`` (``kubernetes/apimachinery``
    ``pkg/util/intstr/intstr.go``): an int as is, a percentage of ``total``.

    A percentage is rounded up (``round_up``, as for ``maxSurge``) or down (as for
    ``maxUnavailable``), so 25 % of 10 is 3 extra pods but 2 unavailable ones.
    """
    percent = percent_of(value)
    if percent is None:
        if isinstance(value, str):
            raise ValueError(
                f"expected a whole number or a percentage such as '25%', got {value!r}"
            )
        return value
    scaled = percent * total
    return -(-scaled // 100) if round_up else scaled // 100
