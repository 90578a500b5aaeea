"""Dotted paths into a run's summary (``latency_ms.p99``, ``services.search.retries``).

Shared by ``isolate`` (the metric it ranks by) and ``compare`` (a scenario's watched
metrics), which sit side by side above the summary and may not import each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetsim.errors import FleetsimError

Number = int | float


class MetricError(FleetsimError):
    """The metric path does not lead to a number in the as-is run's summary."""


def metric_value(summary: Mapping[str, Any], path: str) -> Number:
    """The number at dotted ``path`` in ``summary``; :class:`MetricError` if there is none.

    A key that itself contains dots (a zone named ``eu-west-1.a``) is matched whole:
    at each level the longest run of parts that is a key wins.
    """
    parts = path.split(".")
    if not path or "" in parts:
        raise MetricError(f"metric {path!r} is not a dotted path such as latency_ms.p99")
    node: Any = summary
    walked: list[str] = []
    index = 0
    while index < len(parts):
        if not isinstance(node, Mapping):
            raise MetricError(
                f"metric {path!r} not found: {'.'.join(walked)} is {_kind(node)}, not a mapping"
            )
        for end in range(len(parts), index, -1):
            key = ".".join(parts[index:end])
            if key in node:
                break
        else:
            raise MetricError(f"metric {path!r} not found: {_has(walked, node)}")
        node, index = node[key], end
        walked.append(key)
    if isinstance(node, Mapping):
        raise MetricError(f"metric {path!r} is not a number: {_has(walked, node)}")
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise MetricError(f"metric {path!r} is not a number: it is {_kind(node)} in this run")
    return node


def _has(walked: list[str], node: Mapping[str, Any]) -> str:
    where = ".".join(walked) if walked else "the summary"
    keys = ", ".join(str(key) for key in node)
    return f"{where} has {keys}" if keys else f"{where} is empty"


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
