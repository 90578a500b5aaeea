"""Fuzzing the loader: mutated catalogue files end in exit 0 or one clean line and exit 2.

Mutations are structural (a key deleted, an unknown key added, a value replaced by one
of another type, a huge or tiny number, NaN or infinity, a bad unit, a missing
reference) and textual (YAML-level garbage: a character inserted or deleted, a line
duplicated, indentation broken). Each case runs ``fleetsim validate`` in-process, which
loads the baseline and every variant and estimates their cost; it must return 0, or 2
with a single line on stderr naming the file, within a time bound, never a traceback.

The default profile runs a few hundred cases; ``--hypothesis-profile=long`` a few
thousand (see ``tests/conftest.py``). A failure prints the reproduction blob.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fleetsim.cli import main

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = sorted((ROOT / "scenarios").glob("*.yaml"))
TEXTS = {path.name: path.read_text(encoding="utf-8") for path in CATALOGUE}
SECONDS_PER_CASE = 10.0

ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    10**30,
    -(10**30),
    1e308,
    -1e308,
    1e-300,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "abc",
    "5 parsecs",
    "1e10s",
    "-5s",
    "10/ms",
    "1Ki",
    "∞",
    [],
    {},
    [1, 2],
    {"x": 1},
    "baseline",
    "zone-z",
    "no-such-service",
]
"""Values of other types and absurd sizes, and names that refer to nothing."""


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value``."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths_of(item, (*prefix, index))
    return found


def parent_and_key(document: Any, path: tuple[Any, ...]) -> tuple[Any, Any]:
    node = document
    for part in path[:-1]:
        node = node[part]
    return node, path[-1]


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(TEXTS)))
    document = yaml.safe_load(TEXTS[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in paths_of(document) if p]
        path = draw(st.sampled_from(paths))
        parent, key = parent_and_key(document, path)
        action = draw(st.sampled_from(["delete", "replace", "add-unknown", "scale"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(st.sampled_from(ODD_VALUES))
        elif action == "add-unknown" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["perTryTimout", "replicaz", "x", "apiversion"]))] = 1
        elif action == "scale" and isinstance(parent[key], int | float):
            parent[key] = parent[key] * draw(st.sampled_from([0, -1, 1e-9, 1e9, 1e300]))
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@st.composite
def garbled_texts(draw: st.DrawFn) -> str:
    text = TEXTS[draw(st.sampled_from(sorted(TEXTS)))]
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "duplicate-line", "indent"]))
        if action == "insert":
            garbage = draw(
                st.sampled_from(
                    [
                        "\x01",
                        "\t",
                        ":",
                        "- ",
                        "{",
                        "]",
                        "&a",
                        "*a",
                        "!!float x",
                        "\ufeff",
                        "'",
                        '"',
                        "\n  ",
                        "<<: *a",
                        "%YAML 1.1\n",
                    ]
                )
            )
            text = text[:at] + garbage + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif action == "duplicate-line":
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            text = text[:end] + "\n" + text[start:end] + text[end:]
        else:
            start = text.rfind("\n", 0, at) + 1
            text = text[:start] + " " + text[start:]
    return text


def assert_clean(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    assert time.perf_counter() - started < SECONDS_PER_CASE
    message = err.getvalue()
    assert code in (0, 2), message
    if code == 2:
        assert message.startswith(f"fleetsim: {path}"), message
        assert message.count("\n") == 1, message
        assert "Traceback" not in message
        assert "Input should" not in message


@given(text=mutated_documents())
def test_structural_mutations_end_cleanly(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    assert_clean(tmp_path_factory.mktemp("fuzz"), text)


@given(text=garbled_texts())
def test_yaml_garbage_ends_cleanly(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    assert_clean(tmp_path_factory.mktemp("fuzz"), text)
