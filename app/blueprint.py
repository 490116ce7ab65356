"""The API's blueprint class: flask-smorest's, reading JSON bodies strictly."""

from __future__ import annotations

import json

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request


def _refuse_constant(name: str):
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


class StrictJSONParser(FlaskParser):
    """NaN and Infinity are not JSON: such a body is a 400, never stored in a case and sent back."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return json.loads(req.get_data(cache=True).decode("utf-8"), parse_constant=_refuse_constant)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictJSONParser()
