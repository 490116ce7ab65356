"""The API's flask-smorest object: errors in the service's `{code, message, details}` shape, in the responses and
the OpenAPI document, and the bearer scheme of every endpoint but the public ones."""

from __future__ import annotations

import http

from flask_smorest import Api
from flask_smorest.utils import prepare_response

from ..errors import _HTTP_MESSAGES, http_error_response
from ..schemas import ErrorSchema

# The bearer scheme of every endpoint but the public ones (`security: []`): /api/docs gets an Authorize button.
SECURITY = {
    "components": {"securitySchemes": {"bearerAuth": {
        "type": "http", "scheme": "bearer",
        "description": "访问令牌 (API token): `Authorization: Bearer tb_...`; admin issues them "
                       "(POST /users/{username}/tokens); they end after TONGBAN_TOKEN_TTL_DAYS."}}},
    "security": [{"bearerAuth": []}],
}
_WRITES = ("post", "put", "patch", "delete")


class TongbanApi(Api):
    """flask-smorest, with errors in the service's `{code, message, details}` shape, in the responses and the doc."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app=None, *, spec_kwargs=None, config_prefix="") -> None:
        super().__init__(app, spec_kwargs={**SECURITY, **(spec_kwargs or {})}, config_prefix=config_prefix)

    def handle_http_exception(self, error):
        return http_error_response(error)

    def _register_responses(self):
        """Each status's response: the error body, described in Chinese as the API answers it."""
        for status in http.HTTPStatus:
            response = {"description": _HTTP_MESSAGES.get(status.value, status.phrase)}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "错误 (error): {code, message, details}", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def register_blueprint(self, blp, *, parameters=None, **options):
        super().register_blueprint(blp, parameters=parameters, **options)
        # An id in the path may name nothing (or something the caller may not see): 404.
        for path, operations in self.spec._paths.items():
            if "{" not in path:
                continue
            for method, operation in operations.items():
                if method in ("get", *_WRITES) and isinstance(operation, dict):
                    operation.setdefault("responses", {}).setdefault(
                        "404", self.spec.components.get_ref("response", "NOT_FOUND"))


def document_errors(doc: dict, doc_info: dict, *, method: str, **kwargs) -> dict:
    """A flask-smorest doc callback: the 4xx answers of an operation, and whether it needs a token.

    `people.auth.require` marks the views that need one (`_apidoc["tongban_roles"]`); the others are public.
    """
    responses = doc.setdefault("responses", {})
    responses.setdefault(400, "BAD_REQUEST")  # malformed body, unknown query parameter
    if "tongban_roles" in doc_info:
        responses.setdefault(401, "UNAUTHORIZED")
        responses.setdefault(403, "FORBIDDEN")
    else:
        doc["security"] = []
    if method in _WRITES:
        responses.setdefault(409, "CONFLICT")
        responses.setdefault(413, "REQUEST_ENTITY_TOO_LARGE")
        responses.setdefault(422, "UNPROCESSABLE_ENTITY")
    return doc
