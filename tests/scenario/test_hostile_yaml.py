"""Malformed and hostile files: one clean line (file, line, path, what is expected), exit 2.

Each class of input that once escaped as a traceback or a hang has its exact message here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import fleetsim
from fleetsim.cli import main
from fleetsim.errors import ScenarioError
from tests.fleet_scenarios import scenario
from tests.scenario_files import scenario_error, write_scenario

QUICKSTART = (Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml").read_text(
    encoding="utf-8"
)


def error_of(tmp_path: Path, text: str | bytes) -> tuple[Path, ScenarioError]:
    path = tmp_path / "scenario.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path, scenario_error(path)


def test_a_control_character_is_named_with_its_line_and_column(tmp_path: Path) -> None:
    path, error = error_of(tmp_path, QUICKSTART.replace("name: quickstart", "name: quick\x01start"))
    assert str(error) == (
        f"{path}:4: (top level): invalid YAML: character U+0001 at column 14 is not allowed "
        "(control characters cannot appear in a YAML file)"
    )


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path: Path) -> None:
    raw = QUICKSTART.encode().replace(b"name: quickstart", b"name: quick\xe9start")
    path, error = error_of(tmp_path, raw)
    assert (
        str(error) == f"{path}:4: (top level): expected UTF-8 text (byte 0xe9 at column 14 is not)"
    )


def test_nesting_too_deep_for_the_parser_is_refused(tmp_path: Path) -> None:
    path, error = error_of(tmp_path, QUICKSTART + "  extra: " + "[" * 5000 + "]" * 5000 + "\n")
    assert str(error) == (
        f"{path}: (top level): invalid YAML: nested too deep; expected at most 64 levels"
    )


def test_nesting_deeper_than_the_format_is_refused_with_its_line(tmp_path: Path) -> None:
    text = QUICKSTART.replace("spec:\n", "spec:\n  deep: " + "[" * 70 + "]" * 70 + "\n", 1)
    _, error = error_of(tmp_path, text)
    assert error.line == 7
    assert error.expected == "nested too deep; expected at most 64 levels (column 72)"


def test_a_value_its_explicit_tag_cannot_read_is_named(tmp_path: Path) -> None:
    path, error = error_of(tmp_path, QUICKSTART.replace("seed: 7", "seed: !!float abc"))
    assert str(error) == (
        f"{path}:9: spec.seed: got 'abc': cannot be read as a number "
        "(its YAML type, !!float, says it is one)"
    )


def test_an_integer_with_thousands_of_digits_is_refused_in_fleetsims_words(
    tmp_path: Path,
) -> None:
    _, error = error_of(tmp_path, QUICKSTART.replace("seed: 7", "seed: " + "9" * 5000))
    assert (error.path, error.line) == ("spec.seed", 9)
    assert (
        error.expected == "cannot be read as a whole number (its YAML type, !!int, says it is one)"
    )
    assert "exceeded maximum size" not in str(error)


def test_a_recursive_anchor_is_refused(tmp_path: Path) -> None:
    text = QUICKSTART.replace("spec:\n", "spec:\n  variants:\n    x: &v {metrics: *v}\n", 1)
    path, error = error_of(tmp_path, text)
    assert str(error) == (
        f"{path}:8: spec.variants.x.metrics: an alias refers to a map or list that contains "
        "it; expected no recursive anchors (column 8)"
    )


def test_aliases_that_multiply_the_document_are_refused(tmp_path: Path) -> None:
    """The "billion laughs" shape: six levels of ten aliases are a million entries."""
    laughs = 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]\n'
    for previous, name in zip("abcde", "bcdef", strict=True):
        laughs += f"{name}: &{name} [{', '.join(['*' + previous] * 10)}]\n"
    _, error = error_of(tmp_path, laughs + QUICKSTART)
    assert error.expected.startswith("expected at most 100,000 entries once aliases are expanded")


def test_a_key_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path, error = error_of(tmp_path, QUICKSTART.replace("metadata:\n", "metadata:\n  ~: 1\n", 1))
    assert str(error) == (
        f"{path}:4: metadata: key '~' is not text; expected a field name "
        "(quote it if it is meant as one) (column 3)"
    )
    assert "Keys should be strings" not in str(error)


def test_python_tags_are_refused(tmp_path: Path) -> None:
    text = QUICKSTART.replace("metadata:\n", "metadata:\n  x: !!python/object:os.system ls\n", 1)
    _, error = error_of(tmp_path, text)
    assert error.line == 4
    assert "could not determine a constructor for the tag" in error.expected


def test_a_file_too_large_to_be_a_scenario_is_refused_unread(tmp_path: Path) -> None:
    path, error = error_of(tmp_path, QUICKSTART + "#" * (1024 * 1024))
    assert str(error) == f"{path}: (top level): file larger than 1024 KiB; expected a scenario file"


def test_a_dict_that_contains_itself_is_refused() -> None:
    document: dict[str, Any] = fleetsim_dict()
    document["spec"]["metrics"] = {"loop": document["spec"]}
    with pytest.raises(ScenarioError) as caught:
        fleetsim.run(document)
    assert str(caught.value) == (
        "<dict>: spec.metrics.loop: refers to a map or list that contains it; "
        "expected a tree (no cycles)"
    )


def fleetsim_dict() -> dict[str, Any]:
    return scenario()


def test_a_negative_seed_is_refused_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "scenarios/quickstart.yaml", "--seed", "-5"])
    assert exited.value.code == 2
    assert "argument --seed: expected a whole number >= 0, got -5" in capsys.readouterr().err


def test_a_negative_seed_is_refused_by_the_api() -> None:
    with pytest.raises(ScenarioError) as caught:
        fleetsim.run(fleetsim_dict(), seed=-3)
    assert str(caught.value) == (
        "<dict>: seed: got -3: expected a whole number >= 0 (random streams are seeded with it)"
    )


def test_every_hostile_file_exits_2_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_scenario(tmp_path, QUICKSTART.replace("seed: 7", "seed: !!float abc"))
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"fleetsim: {path}:9: spec.seed:")
