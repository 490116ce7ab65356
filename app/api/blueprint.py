"""The API's blueprint class: flask-smorest's, reading JSON bodies strictly and refusing unknown query parameters."""

from __future__ import annotations

import json
import math

import flask_smorest
from flask import current_app, request
from marshmallow import Schema
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from ..errors import BadRequest, Invalid
from .openapi import document_errors


def _refuse_constant(name: str):
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


MAX_JSON_DEPTH = 32  # a case's data, a form, a message payload: deeper than this is no one's real data


def check_depth(value, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse (422) JSON nested deeper than `limit` at the door, before it reaches a case and its storage."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise Invalid(f"数据嵌套过深（超过 {limit} 层）(JSON nested too deep)", {"max_depth": limit})
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


MAX_INT = 2**63 - 1  # what every database column and every client's integer can hold


def _number_out_of_range(text: str) -> Invalid:
    shown = text if len(text) <= 40 else f"{text[:20]}…（{len(text)} 位）"
    return Invalid(f"数值超出允许范围：{shown}（整数须在 ±{MAX_INT} 之内，小数须为有限数）(a number is out of range)",
                   {"number": text[:40]})


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > 19:  # also keeps Python's int() away from its 4,300-digit limit
        raise _number_out_of_range(text)
    value = int(text)
    if abs(value) > MAX_INT:
        raise _number_out_of_range(text)
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as infinity
        raise _number_out_of_range(text)
    return value


class StrictJSONParser(FlaskParser):
    """NaN and Infinity are not JSON: such a body is a 400, never stored in a case and sent back; numbers out of
    range (`1e400`, integers past 64 bits) and JSON nested deeper than `MAX_JSON_DEPTH` are a 422."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        value = json.loads(req.get_data(cache=True).decode("utf-8"), parse_constant=_refuse_constant,
                           parse_int=_parse_int, parse_float=_parse_float)
        check_depth(value)
        return value


_allowed: dict[object, frozenset[str]] = {}  # view method -> the query parameters its schemas declare


def query_parameters(method) -> frozenset[str]:
    """The query parameter names a view method takes (its `location="query"` schemas), from flask-smorest's doc."""
    if method not in _allowed:
        names: set[str] = set()
        for parameter in (getattr(method, "_apidoc", {}).get("arguments", {}) or {}).get("parameters", []):
            if parameter.get("in") != "query":
                continue
            schema = parameter["schema"]
            schema = schema() if isinstance(schema, type) and issubclass(schema, Schema) else schema
            names |= {field.data_key or name for name, field in schema.fields.items() if not field.dump_only}
        _allowed[method] = frozenset(names)
    return _allowed[method]


def refuse_unknown_query() -> None:
    """`GET /tasks?mine=1` must not quietly list everything: a parameter the endpoint does not take is a 400."""
    if not request.args or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    method = getattr(getattr(view, "view_class", None), request.method.lower(), None) if view else None
    if method is None:
        return
    unknown = sorted(set(request.args) - query_parameters(method))
    if unknown:
        allowed = sorted(query_parameters(method))
        raise BadRequest(f"未知的查询参数：{', '.join(unknown)}" + (f"（可用参数：{', '.join(allowed)}）" if allowed
                                                                 else "（该接口不接受查询参数）"),
                         {"unknown": unknown, "allowed": allowed})


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictJSONParser()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(refuse_unknown_query)
        self._prepare_doc_cbks.append(document_errors)
