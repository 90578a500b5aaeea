"""Helpers for tests of bad scenario files: write one, load it, and check its error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleetsim.errors import ScenarioError
from fleetsim.scenario.loader import load_scenario


def write_scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def scenario_error(source: Any, variant: str | None = None) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(source, variant=variant)
    return caught.value


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, f"{needle!r} must appear once in the scenario"
    return text[: text.index(needle)].count("\n") + 1


def assert_one_clear_error(
    tmp_path: Path,
    full: str,
    case: tuple[str, str, str, object, str, str | None],
) -> ScenarioError:
    """Replace ``old`` by ``new`` in ``full``; the error names file, line, path, value and
    what is expected, without pydantic's wording. Returns the error."""
    old, new, path, value, phrase, marker = case
    assert full.count(old) == 1, f"{old!r} must appear once in FULL"
    text = full.replace(old, new)
    file = write_scenario(tmp_path, text)
    line = line_of(text, new if marker is None else marker)

    error = scenario_error(file)

    assert (error.file, error.line, error.path) == (str(file), line, path)
    assert phrase in error.expected
    assert str(error).startswith(f"{file}:{line}: {path}:")
    if value is None:
        assert not error.has_value
        assert str(error).startswith(f"{file}:{line}: {path}: ")
    else:
        assert (error.has_value, error.value) == (True, value)
        assert f"{path}: got {value!r}: " in str(error)
    assert "Input should" not in str(error)
    return error
