"""Errors that fleetsim reports to users.

A ``ScenarioError`` is a problem in a scenario file: the command line prints it as
one line on stderr and exits 2, never with a traceback.
"""

from __future__ import annotations


class FleetsimError(Exception):
    """Base of every error fleetsim raises on purpose."""


class ScenarioError(FleetsimError):
    """A scenario file (or dict) that cannot be run.

    ``file`` names the source, ``path`` the field (``spec.services[0].serviceTime.mean``),
    ``value`` the offending value (or ``None``), ``expected`` what would be accepted and
    ``line`` the 1-based line in the file when it is known.
    """

    def __init__(
        self,
        file: str,
        path: str,
        expected: str,
        *,
        value: object = None,
        has_value: bool = False,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.path = path
        self.expected = expected
        self.value = value
        self.has_value = has_value
        self.line = line
        super().__init__(self.format())

    def format(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = self.path or "(top level)"
        got = f" got {_short_repr(self.value)}:" if self.has_value else ""
        return f"{where}: {field}:{got} {self.expected}"


def _short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut short so that the error stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
