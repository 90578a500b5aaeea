"""No library wording in messages: every pydantic error type has fleetsim's own words."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from pydantic_core.core_schema import ErrorType

import fleetsim
from fleetsim.errors import ScenarioError
from fleetsim.scenario.loader import _EXPECTED, _OTHER, _plain_words
from tests.fleet_scenarios import scenario

CONTEXT = {
    "gt": 0,
    "ge": 1,
    "lt": 1,
    "le": 1,
    "min_length": 1,
    "max_length": 63,
    "pattern": "[a-z]+",
    "multiple_of": 2,
}
LIBRARY_WORDS = ("Input should", "should be", "Keys should", "Unable to parse", "pydantic")


@pytest.mark.parametrize("kind", typing.get_args(ErrorType))
def test_every_error_type_is_said_in_fleetsims_words(kind: str) -> None:
    text = _plain_words(kind, CONTEXT)
    assert text.startswith("expected")
    assert not any(words in text for words in LIBRARY_WORDS)
    if kind in _EXPECTED:
        assert text != _OTHER


def test_the_types_the_schema_raises_all_have_their_own_words() -> None:
    """The field types of the format (numbers, bools, text, lists, maps, models, bounds,
    lengths, patterns) raise these; each has a specific message, not the fallback."""
    raised = {
        "int_type",
        "int_parsing",
        "int_from_float",
        "int_parsing_size",
        "float_type",
        "float_parsing",
        "finite_number",
        "bool_type",
        "bool_parsing",
        "string_type",
        "list_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "too_short",
        "too_long",
        "invalid_key",
        "recursion_loop",
    }
    assert raised <= set(_EXPECTED)


def error_for(document: dict[str, Any]) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        fleetsim.run(document)
    return caught.value


def test_a_key_that_is_not_text_in_a_dict_source() -> None:
    document = scenario()
    document["metadata"][None] = 1
    error = error_for(document)
    assert error.expected == "expected text keys (field names)"


def test_an_integer_with_thousands_of_digits_in_a_dict_source() -> None:
    document = scenario()
    document["spec"]["services"][0]["replicas"] = "9" * 5000
    error = error_for(document)
    assert error.path == "spec.services[0].replicas"
    assert error.expected == ("expected a whole number of a sensible size (at most 4,300 digits)")
