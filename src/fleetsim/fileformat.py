"""Shared pieces of the file format: the model base, field paths and field problems.

They live outside ``fleetsim.scenario`` so that modules which define parts of the
format elsewhere (load profiles in ``fleetsim.fleet``) can use them without importing
the scenario package, which imports them back.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["FieldPath", "FieldProblem", "FileModel", "format_path", "suggest"]

FieldPath = tuple[str | int, ...]
"""A field path in the file's spelling: keys (camelCase) and list indices."""

_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def format_path(parts: Iterable[str | int]) -> str:
    """``("spec", "services", 0, "serviceTime")`` -> ``"spec.services[0].serviceTime"``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _SIMPLE_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def suggest(word: object, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` (ignoring case), for "did you mean" hints."""
    if not isinstance(word, str):
        return None
    by_folded = {candidate.casefold(): candidate for candidate in candidates}
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=0.75)
    return by_folded[close[0]] if close else None


class FieldProblem(ValueError):
    """A rule broken by one field, found while validating the model that holds it.

    ``path`` is relative to that model, in the file's spelling. The loader appends
    it to the model's own location so the error names the field itself.
    """

    def __init__(
        self,
        path: FieldPath | str,
        expected: str,
        *,
        value: object = None,
        has_value: bool = False,
    ) -> None:
        self.path: FieldPath = (path,) if isinstance(path, str) else path
        self.expected = expected
        self.value = value
        self.has_value = has_value
        super().__init__(f"{format_path(self.path)}: {expected}")


class FileModel(BaseModel):
    """Base of every model: camelCase keys as in Kubernetes, unknown keys refused.

    Unknown keys are errors rather than ignored because a misspelt ``perTryTimout``
    that silently does nothing is the worst kind of scenario bug.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel)
