"""Variants: named patches merged onto ``spec``, the way ``kubectl patch`` merges.

A variant says only what differs from the baseline ("the same fleet, without
retries"), so it is merged like a Kubernetes strategic merge patch:

- maps merge key by key, recursively;
- ``null`` removes a key;
- lists of named objects merge item by item on their merge key (``name`` for
  services and traffic, ``destination`` for routes); an item whose key is not in
  the base is appended, and an item with ``$patch: delete`` removes the base item;
- ``$patch: replace`` in a map (or list item) replaces it instead of merging;
- every other list (``zones``, ``retryOn``) is replaced whole.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from fleetsim.errors import ScenarioError
from fleetsim.scenario.schema import FieldPath, format_path

__all__ = ["MERGE_KEYS", "apply_variant", "find_item", "merge_key"]

MERGE_KEYS: Final[dict[tuple[str, ...], str]] = {
    ("services",): "name",
    ("traffic",): "name",
    ("routes",): "destination",
    ("nodePools",): "name",
    ("nodePools", "disks"): "name",
    ("services", "calls"): "service",
    ("storage", "tables"): "name",
}
"""Merge key of each list of named objects, by its field path within ``spec``
(keys only, no indices), like ``patchMergeKey`` in the Kubernetes API types."""

_DIRECTIVE: Final = "$patch"


def merge_key(parts: FieldPath) -> str | None:
    """The merge key of the list at ``parts`` (a path within spec), if it is a named list."""
    return MERGE_KEYS.get(tuple(part for part in parts if isinstance(part, str)))


class _Patcher:
    """One application of one patch; knows where errors must point."""

    def __init__(self, file: str, root: FieldPath, lines: Mapping[FieldPath, int] | None) -> None:
        self.file = file
        self.root = root
        self.lines = lines or {}

    def error(
        self, at: FieldPath, expected: str, *, value: object = None, has_value: bool = False
    ) -> ScenarioError:
        where = self.root + at
        line = next(
            (self.lines[where[:n]] for n in range(len(where), 0, -1) if where[:n] in self.lines),
            None,
        )
        return ScenarioError(
            self.file, format_path(where), expected, value=value, has_value=has_value, line=line
        )

    def merge_map(self, base: object, patch: Mapping[Any, Any], at: FieldPath) -> dict[Any, Any]:
        directive = patch.get(_DIRECTIVE)
        if directive not in (None, "replace"):
            raise self.error(
                (*at, _DIRECTIVE),
                "expected 'replace' (or 'delete' in an item of a named list)",
                value=directive,
                has_value=True,
            )
        result = dict(base) if isinstance(base, Mapping) and directive is None else {}
        for key, value in patch.items():
            if key == _DIRECTIVE:
                continue
            if value is None:
                result.pop(key, None)
            else:
                result[key] = self.merge_value(result.get(key), value, (*at, key))
        return result

    def merge_value(self, base: object, patch: object, at: FieldPath) -> object:
        if isinstance(patch, Mapping):
            return self.merge_map(base, patch, at)
        key = merge_key(at)
        if isinstance(patch, list) and key is not None:
            return self.merge_named_list(base if isinstance(base, list) else [], patch, key, at)
        return copy.deepcopy(patch)

    def merge_named_list(
        self, base: list[Any], patch: list[Any], key: str, at: FieldPath
    ) -> list[Any]:
        result = list(base)
        for index, item in enumerate(patch):
            item_at = (*at, index)
            if not isinstance(item, Mapping) or item.get(key) is None:
                raise self.error(
                    item_at,
                    f"expected a mapping with {key!r}: items of {at[-1]!r} in a variant are "
                    f"merged with the baseline's items by their {key!r}",
                    value=item,
                    has_value=not isinstance(item, Mapping),
                )
            found = find_item(result, key, item[key])
            if item.get(_DIRECTIVE) == "delete":
                if found is not None:
                    del result[found]
                continue
            merged = self.merge_map(None if found is None else result[found], item, item_at)
            if found is None:
                result.append(merged)
            else:
                result[found] = merged
        return result


def find_item(items: list[Any], key: str, wanted: object) -> int | None:
    """Index of the item of a named list whose merge ``key`` equals ``wanted``, if any."""
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and item.get(key) == wanted:
            return index
    return None


def apply_variant(
    spec: Mapping[str, Any],
    patch: object,
    *,
    name: str = "variant",
    file: str = "<dict>",
    lines: Mapping[FieldPath, int] | None = None,
) -> dict[str, Any]:
    """Return ``spec`` with the variant ``patch`` merged in; neither input is changed.

    ``name``, ``file`` and ``lines`` (line numbers by path from the loader) only
    shape error messages, whose paths read ``spec.variants.NAME...``.
    """
    patcher = _Patcher(file, ("spec", "variants", name), lines)
    if not isinstance(patch, Mapping):
        raise patcher.error(
            (),
            "expected a mapping with the shape of spec, holding what the variant changes",
            value=patch,
            has_value=True,
        )
    if "variants" in patch:
        raise patcher.error(("variants",), "a variant cannot define variants of its own")
    merged = patcher.merge_map(copy.deepcopy(dict(spec)), patch, ())
    return merged
