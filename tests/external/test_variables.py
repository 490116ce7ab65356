"""Camunda's typed values to case data and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.errors import Invalid
from app.external import variables


def test_typed_values_are_read_by_their_type():
    read = variables.read({
        "s": {"value": "甲", "type": "String"}, "i": {"value": "42", "type": "Integer"},
        "l": {"value": 2 ** 40, "type": "Long"}, "d": {"value": 1, "type": "Double"},
        "b": {"value": "true", "type": "boolean"}, "j": {"value": '{"a": [1, 2]}', "type": "Json"},
        "o": {"value": '{"k": "v"}', "type": "Object", "valueInfo": {"serializationDataFormat": "application/json"}},
        "n": {"value": None, "type": "Null"}, "u": {"value": {"plain": True}},
        "t": {"value": "2026-11-25T09:00:00.000+0800", "type": "Date"}})
    assert read == {"s": "甲", "i": 42, "l": 2 ** 40, "d": 1.0, "b": True, "j": {"a": [1, 2]}, "o": {"k": "v"},
                    "n": None, "u": {"plain": True}, "t": "2026-11-25T09:00:00+08:00"}


@pytest.mark.parametrize("bad", [
    {"x": {"value": 2 ** 31, "type": "Integer"}}, {"x": {"value": "1.5", "type": "Long"}},
    {"x": {"value": True, "type": "Integer"}}, {"x": {"value": 3, "type": "String"}},
    {"x": {"value": "yes", "type": "Boolean"}}, {"x": {"value": "nan", "type": "Double"}},
    {"x": {"value": "{", "type": "Json"}}, {"x": {"value": "AA==", "type": "Bytes"}},
    {"x": {"value": "<a/>", "type": "Object", "valueInfo": {"serializationDataFormat": "application/xml"}}},
    {"x": {"value": "tomorrow", "type": "Date"}}, {"x": {"value": 1, "type": "Money"}}, {"x": 5}, {"": {"value": 1}},
])
def test_values_that_do_not_fit_their_type_are_refused_naming_the_variable(bad):
    with pytest.raises(Invalid) as refused:
        variables.read(bad)
    assert refused.value.message


def test_case_data_goes_out_with_camundas_types():
    out = variables.typed_all({"s": "甲", "i": 7, "l": 2 ** 40, "f": 0.5, "b": False, "n": None, "m": {"a": 1},
                               "x": [1]}, ["s", "i", "l", "f", "b", "n", "m", "x", "missing"])
    assert {k: v["type"] for k, v in out.items()} == {"s": "String", "i": "Integer", "l": "Long", "f": "Double",
                                                       "b": "Boolean", "n": "Null", "m": "Json", "x": "Json"}
    assert out["m"]["value"] == '{"a": 1}'
    assert variables.camunda_time(datetime(2026, 11, 25, 1, 0, 0, 250000, tzinfo=UTC)) == \
        "2026-11-25T09:00:00.250+0800"
