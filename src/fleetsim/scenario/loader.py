"""Read a scenario file, apply a variant, validate, and explain any problem in one line.

Every problem with a scenario becomes a :class:`~fleetsim.errors.ScenarioError`
naming the file, the line when known, the field path as the file spells it
(``spec.services[0].serviceTime.mean``), the offending value and what would be
accepted; the command line prints it and exits 2. pydantic's own wording and
links never reach the user.

Line numbers come from walking the YAML node tree that PyYAML composes before it
builds Python objects, so no second parser is needed and JSON (a subset of YAML)
works too.
"""

from __future__ import annotations

import copy
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from fleetsim.errors import ScenarioError
from fleetsim.scenario.schema import (
    BASELINE,
    FieldPath,
    FieldProblem,
    Scenario,
    format_path,
    suggest,
)
from fleetsim.scenario.variants import apply_variant, find_item, merge_key

__all__ = ["LoadedScenario", "load_scenario", "variant_names"]

DICT_SOURCE: Final = "<dict>"
TOP_LEVEL_HINT: Final = (
    "expected a mapping with apiVersion, kind, metadata and spec at the top level"
)


@dataclass
class LoadedScenario:
    """A validated scenario with one variant applied, and where it came from."""

    scenario: Scenario
    file: str
    """The path as given, or ``"<dict>"``."""
    variant: str = BASELINE
    variant_names: list[str] = field(default_factory=list)
    """Every variant the file defines (not counting the baseline)."""
    raw: dict[str, Any] = field(default_factory=dict)
    """The document with the variant merged into ``spec``, before parsing units."""


@dataclass
class _Document:
    file: str
    data: dict[str, Any]
    lines: dict[FieldPath, int]


def load_scenario(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    variant: str | None = None,
    duration: str | float | None = None,
    warmup: str | float | None = None,
) -> LoadedScenario:
    """Load ``source`` (a YAML/JSON file, or a dict with the file's structure).

    The baseline and every variant are validated, so a broken variant is reported
    even when another one is run. ``variant`` None or ``"baseline"`` means no variant.
    ``duration`` and ``warmup`` replace ``spec.duration`` and ``spec.warmup`` in the
    baseline and every variant (a shortened run), validated like the file's own values.
    Raises :class:`ScenarioError` for anything that cannot be run.
    """
    document = _read(source)
    _override_times(document, duration, warmup)
    baseline = _validate(document, document.data, None)
    names = list(baseline.spec.variants)
    chosen = BASELINE if variant is None else variant
    if chosen != BASELINE and chosen not in names:
        raise _unknown_variant(document, chosen, names)
    result = LoadedScenario(baseline, document.file, BASELINE, names, copy.deepcopy(document.data))
    for name in names:
        merged = {**document.data, "spec": _merged_spec(document, name)}
        _override_spec_times(merged, duration, warmup)
        scenario = _validate(document, merged, name)
        if name == chosen:
            result = LoadedScenario(scenario, document.file, name, names, copy.deepcopy(merged))
    return result


def variant_names(source: str | os.PathLike[str] | Mapping[str, Any]) -> list[str]:
    """The variants ``source`` defines, in file order (after validating it)."""
    return load_scenario(source).variant_names


def _override_times(
    document: _Document, duration: str | float | None, warmup: str | float | None
) -> None:
    if duration is None and warmup is None:
        return
    document.data = copy.deepcopy(document.data)
    _override_spec_times(document.data, duration, warmup)


def _override_spec_times(
    data: dict[str, Any], duration: str | float | None, warmup: str | float | None
) -> None:
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return
    if duration is not None:
        spec["duration"] = duration
    if warmup is not None:
        spec["warmup"] = warmup


# --- reading -----------------------------------------------------------------------

MAX_FILE_BYTES: Final = 1024 * 1024
"""A scenario is a page or two; a file past 1 MiB is not one."""
MAX_DEPTH: Final = 64
"""Levels of maps and lists; the deepest field of the format is about ten."""
MAX_NODES: Final = 100_000
"""Entries of the document once aliases are expanded."""


def _read(source: object) -> _Document:
    if isinstance(source, Mapping):
        _refuse_cycles(source, (), set())
        return _Document(DICT_SOURCE, copy.deepcopy(dict(source)), {})
    if not isinstance(source, str | os.PathLike):
        raise ScenarioError(DICT_SOURCE, "", f"{TOP_LEVEL_HINT}, or the path of a scenario file")
    file = os.fspath(source)
    if not isinstance(file, str):
        raise ScenarioError(repr(file), "", "expected the path of a scenario file as text")
    data, lines = _parse_yaml(_read_text(file), file)
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {_kind_of(data)}"
        raise ScenarioError(file, "", f"{TOP_LEVEL_HINT}, got {got}", line=1)
    return _Document(file, data, lines)


def _refuse_cycles(value: object, path: FieldPath, active: set[int]) -> None:
    """A dict or list that contains itself cannot be a scenario (nor be merged)."""
    if not isinstance(value, Mapping | list):
        return
    if id(value) in active:
        raise ScenarioError(
            DICT_SOURCE,
            format_path(path),
            "refers to a map or list that contains it; expected a tree (no cycles)",
        )
    if len(path) > MAX_DEPTH:
        raise ScenarioError(
            DICT_SOURCE, format_path(path), f"nested too deep; expected at most {MAX_DEPTH} levels"
        )
    active.add(id(value))
    items = value.items() if isinstance(value, Mapping) else enumerate(value)
    for key, item in items:
        _refuse_cycles(item, (*path, key), active)
    active.discard(id(value))


def _read_text(file: str) -> str:
    try:
        with open(file, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(file, "", "file not found; expected a scenario YAML file") from None
    except IsADirectoryError:
        raise ScenarioError(file, "", "is a directory; expected a scenario YAML file") from None
    except OSError as exc:
        raise ScenarioError(file, "", f"cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            file, "", f"file larger than {MAX_FILE_BYTES // 1024} KiB; expected a scenario file"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(
            file,
            "",
            f"expected UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column} is not)",
            line=line,
        ) from None


def _parse_yaml(text: str, file: str) -> tuple[Any, dict[FieldPath, int]]:
    """Parse with PyYAML's safe loader, also returning each field path's line.

    Bounded: nesting deeper than ``MAX_DEPTH`` levels, or aliases that expand the
    document beyond ``MAX_NODES`` entries (the "billion laughs" shape), are refused
    before anything is built, as are recursive anchors.
    """
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[FieldPath, int] = {(): node.start_mark.line + 1}
        _LineRecorder(loader, file, lines).visit(node, ())
        return loader.construct_document(node), lines
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, file) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(file, "", f"invalid YAML: {exc}") from None
    except RecursionError:
        raise ScenarioError(
            file, "", f"invalid YAML: nested too deep; expected at most {MAX_DEPTH} levels"
        ) from None
    finally:
        loader.dispose()


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str) -> ScenarioError:
    """A character YAML does not allow (a control character): its line and column."""
    position = min(exc.position, len(text))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    character = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return ScenarioError(
        file,
        "",
        f"invalid YAML: character U+{ord(character):04X} at column {column} is not allowed "
        "(control characters cannot appear in a YAML file)",
        line=line,
    )


def _yaml_error(exc: yaml.MarkedYAMLError, file: str) -> ScenarioError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "cannot be parsed"
    context = f" ({exc.context})" if exc.context else ""
    line = None if mark is None else mark.line + 1
    column = "" if mark is None else f" at column {mark.column + 1}"
    return ScenarioError(file, "", f"invalid YAML{column}: {problem}{context}", line=line)


_MERGE_TAG: Final = "tag:yaml.org,2002:merge"


_CHECKED_TAGS: Final = {
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:binary": "base64 data",
}
_STR_TAG: Final = "tag:yaml.org,2002:str"


class _LineRecorder:
    """Records the line of every key and list item, and refuses what YAML lets through.

    - duplicate keys (PyYAML keeps the last silently, so the scenario would quietly
      differ from what its author reads);
    - keys that are not text (``1:``, ``~:``, ``on:``), since every field name is text;
    - a scalar whose explicit tag it cannot satisfy (``!!float abc``), with its line;
    - recursive anchors (an alias inside the map or list it names), nesting beyond
      ``MAX_DEPTH`` and alias expansion beyond ``MAX_NODES`` entries.
    """

    def __init__(self, loader: yaml.SafeLoader, file: str, lines: dict[FieldPath, int]) -> None:
        self.loader = loader
        self.file = file
        self.lines = lines
        self.active: set[int] = set()
        self.visited = 0

    def error(self, node: yaml.Node, path: FieldPath, expected: str) -> ScenarioError:
        column = node.start_mark.column + 1
        return ScenarioError(
            self.file,
            format_path(path),
            f"{expected} (column {column})",
            line=node.start_mark.line + 1,
        )

    def visit(self, node: yaml.Node, path: FieldPath) -> None:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise self.error(
                node,
                path,
                f"expected at most {MAX_NODES:,} entries once aliases are "
                "expanded (anchors and aliases multiply this document beyond that)",
            )
        if len(path) > MAX_DEPTH:
            raise self.error(node, path, f"nested too deep; expected at most {MAX_DEPTH} levels")
        if id(node) in self.active:
            raise self.error(
                node,
                path,
                "an alias refers to a map or list that contains it; expected no recursive anchors",
            )
        if isinstance(node, yaml.ScalarNode):
            self._check_scalar(node, path)
            return
        self.active.add(id(node))
        if isinstance(node, yaml.MappingNode):
            self._visit_mapping(node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                self.visit(item, (*path, index))
        self.active.discard(id(node))

    def _visit_mapping(self, node: yaml.MappingNode, path: FieldPath) -> None:
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE_TAG:
                self.visit(value_node, path)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR_TAG:
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a map or list"
                raise self.error(
                    key_node,
                    path,
                    f"key {shown!r} is not text; expected a field name "
                    "(quote it if it is meant as one)",
                )
            key = key_node.value
            child = (*path, key)
            if key in seen:
                raise ScenarioError(
                    self.file,
                    format_path(child),
                    "duplicate key; expected each key once (YAML would keep only the last)",
                    line=key_node.start_mark.line + 1,
                )
            seen.add(key)
            self.lines[child] = key_node.start_mark.line + 1
            self.visit(value_node, child)

    def _check_scalar(self, node: yaml.ScalarNode, path: FieldPath) -> None:
        wanted = _CHECKED_TAGS.get(node.tag)
        if wanted is None:
            return
        try:
            self.loader.construct_object(node)
        except (ValueError, TypeError, OverflowError, yaml.YAMLError):
            tag = node.tag.rsplit(":", 1)[-1]
            raise ScenarioError(
                self.file,
                format_path(path),
                f"cannot be read as {wanted} (its YAML type, !!{tag}, says it is one)",
                value=node.value,
                has_value=True,
                line=node.start_mark.line + 1,
            ) from None


def _kind_of(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


# --- variants ----------------------------------------------------------------------


def _merged_spec(document: _Document, name: str) -> dict[str, Any]:
    spec = document.data["spec"]
    return apply_variant(
        spec, spec["variants"][name], name=name, file=document.file, lines=document.lines
    )


def _unknown_variant(document: _Document, name: str, names: list[str]) -> ScenarioError:
    if names:
        hint = suggest(name, names)
        mean = f" (did you mean {hint!r}?)" if hint else ""
        available = f"{mean}; available: {BASELINE}, {', '.join(names)}"
    else:
        available = f"; this scenario defines none, only the {BASELINE}"
    return ScenarioError(
        document.file,
        "spec.variants",
        f"no variant named {name!r}{available}",
        line=document.lines.get(("spec", "variants")),
    )


# --- validation errors ---------------------------------------------------------------


def _validate(document: _Document, data: dict[str, Any], variant: str | None) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, document, data, variant) from None


def _explain(
    exc: ValidationError, document: _Document, data: dict[str, Any], variant: str | None
) -> ScenarioError:
    # An unknown field (a misspelt key) usually causes the rest, such as the required
    # field it was meant to be: it is named first.
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    path, expected, value, has_value = _describe(errors[0])
    if len(errors) > 1:
        more = len(errors) - 1
        expected += f" (and {more} more problem{'s' if more > 1 else ''})"
    if variant is None:
        line = _line_at(document.lines, path)
    else:
        expected += f" (in variant {variant!r}){_new_item_hint(document, data, path)}"
        line = _variant_line(document, data, variant, path)
    return ScenarioError(
        document.file, format_path(path), expected, value=value, has_value=has_value, line=line
    )


def _new_item_hint(document: _Document, merged: dict[str, Any], path: FieldPath) -> str:
    """When the error is in an item the variant added to a named list (its name matches
    no baseline item, a misspelt service say), say so: the missing fields follow from it."""
    if len(path) < 3 or path[0] != "spec" or not isinstance(path[1], str):
        return ""
    listed, index = path[1], path[2]
    key = merge_key((listed,))
    items = merged.get("spec", {}).get(listed)
    base = document.data.get("spec", {}).get(listed)
    if key is None or not isinstance(index, int) or not isinstance(items, list):
        return ""
    if not isinstance(base, list) or index >= len(items) or not isinstance(items[index], dict):
        return ""
    name = items[index].get(key)
    known = [str(item.get(key)) for item in base if isinstance(item, dict)]
    if name is None or str(name) in known:
        return ""
    hint = suggest(str(name), known)
    mean = f"; did you mean {hint!r}?" if hint else ""
    return (
        f"; the variant adds {listed} item {key} {name!r} as a new one: no baseline item "
        f"has that {key}{mean}"
    )


def _describe(error: ErrorDetails) -> tuple[FieldPath, str, object, bool]:
    """(path, expected, value, has_value) of one pydantic error, in the file's words."""
    loc: FieldPath = tuple(part for part in error["loc"] if part != "[key]")
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error["input"]
    problem = ctx.get("error")
    if kind == "value_error" and isinstance(problem, FieldProblem):
        return (*loc, *problem.path), problem.expected, problem.value, problem.has_value
    if kind == "missing":
        return loc, "required field is missing", None, False
    if kind == "extra_forbidden":
        return loc, _unknown_field(loc), None, False
    if kind == "literal_error":
        return loc, _expected_one_of(str(ctx.get("expected", "")), value), value, True
    if kind in ("value_error", "assertion_error") and problem is not None:
        return loc, str(problem), value, True
    return loc, _plain_words(kind, ctx), value, True


_EXPECTED: Final[dict[str, str]] = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping of fields",
    "model_attributes_type": "expected a mapping of fields",
    "greater_than": "expected a value greater than {gt}",
    "greater_than_equal": "expected a value of at least {ge}",
    "less_than": "expected a value less than {lt}",
    "less_than_equal": "expected a value of at most {le}",
    "too_short": "expected at least {min_length} item(s)",
    "too_long": "expected at most {max_length} item(s)",
    "recursion_loop": "expected plain data, not a structure that contains itself",
    "int_parsing_size": "expected a whole number of a sensible size (at most 4,300 digits)",
    "string_too_short": "expected text of at least {min_length} character(s)",
    "string_too_long": "expected text of at most {max_length} character(s)",
    "string_pattern_mismatch": "expected text matching {pattern}",
    "string_unicode": "expected valid text",
    "mapping_type": "expected a mapping",
    "invalid_key": "expected text keys (field names)",
    "multiple_of": "expected a multiple of {multiple_of}",
    "none_required": "expected null",
}
"""Every pydantic error type the scenario schema can raise, in fleetsim's words (the
suite enumerates them); anything else gets :data:`_OTHER`."""
_OTHER: Final = "expected a valid value for this field (see the README's file format)"


def _plain_words(kind: str, ctx: Mapping[str, Any]) -> str:
    template = _EXPECTED.get(kind)
    if template is not None:
        text = template.format(**ctx)
        return (
            text.replace("1 item(s)", "1 item")
            .replace("1 character(s)", "1 character")
            .replace("(s)", "s")
        )
    return _OTHER


def _expected_one_of(expected: str, value: object) -> str:
    options = re.findall(r"'([^']*)'", expected) or [expected]
    if len(options) == 1:
        return f"expected {options[0]!r}"
    return f"expected one of {', '.join(options)}" + _hint(value, options)


def _hint(value: object, candidates: list[str]) -> str:
    match = suggest(value, candidates)
    return f"; did you mean {match!r}?" if match is not None and match != value else ""


def _unknown_field(loc: FieldPath) -> str:
    model = _model_at(Scenario, loc[:-1])
    if model is None:
        return "unknown field"
    fields = [info.alias or name for name, info in model.model_fields.items()]
    hint = _hint(loc[-1], fields)
    return f"unknown field{hint}" if hint else f"unknown field; expected one of {', '.join(fields)}"


def _model_at(model: type[BaseModel], loc: FieldPath) -> type[BaseModel] | None:
    """The model class found at ``loc`` under ``model``, following lists and dicts."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            current = _element_type(current, list)
        elif isinstance(current, type) and issubclass(current, BaseModel):
            info = next((i for n, i in current.model_fields.items() if part in (n, i.alias)), None)
            current = None if info is None else info.annotation
        else:
            current = _element_type(current, dict)
        if current is None:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to X."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, type(int | None)) and len(args) == 1:
            annotation = args[0]
            continue
        return annotation


def _element_type(annotation: Any, container: type) -> Any:
    if typing.get_origin(annotation) is not container:
        return None
    args = typing.get_args(annotation)
    return args[-1] if args else None


# --- line numbers ------------------------------------------------------------------


def _line_at(lines: Mapping[FieldPath, int], path: FieldPath) -> int | None:
    """The line of the deepest prefix of ``path`` that the file spells out."""
    for length in range(len(path), -1, -1):
        line = lines.get(path[:length])
        if line is not None:
            return line
    return None


def _variant_line(
    document: _Document, merged: dict[str, Any], variant: str, path: FieldPath
) -> int | None:
    """Line of an error found after merging: in the variant if it wrote that field.

    The merged document's list indices are translated into the base's and the
    patch's (named items are matched on their merge key), and whichever of the
    two spells out more of the path wins; a tie goes to the variant, which
    overrode the base there.
    """
    if not document.lines or path[:1] != ("spec",):
        return _line_at(document.lines, path)
    inner, merged_spec = path[1:], merged["spec"]
    spec = document.data["spec"]
    in_base = _translate(inner, merged_spec, spec)
    in_patch = _translate(inner, merged_spec, spec["variants"][variant])
    if in_patch and len(in_patch) >= len(in_base):
        return _line_at(document.lines, ("spec", "variants", variant, *in_patch))
    return _line_at(document.lines, ("spec", *in_base))


def _translate(path: FieldPath, merged: Any, other: Any) -> FieldPath:
    """The longest prefix of ``path`` (into ``merged``) that exists in ``other``, in its indices."""
    out: list[str | int] = []
    for depth, part in enumerate(path):
        if isinstance(part, str):
            if not isinstance(other, Mapping) or part not in other:
                break
            other = other[part]
            merged = merged.get(part) if isinstance(merged, Mapping) else None
            out.append(part)
        else:
            index = _matching_index(path[:depth], part, merged, other)
            if index is None:
                break
            other, merged = other[index], merged[part]
            out.append(index)
    return tuple(out)


def _matching_index(at: FieldPath, index: int, merged: Any, other: Any) -> int | None:
    if not isinstance(other, list) or not isinstance(merged, list) or index >= len(merged):
        return None
    key = merge_key(at)
    if key is None:
        return index if index < len(other) else None
    wanted = merged[index].get(key) if isinstance(merged[index], Mapping) else None
    return find_item(other, key, wanted)
