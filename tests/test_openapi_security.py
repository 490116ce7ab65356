"""The OpenAPI document: the bearer scheme (Swagger UI's Authorize button), public operations, error bodies."""

from __future__ import annotations

PUBLIC = {("get", "/api/v1/matters"), ("get", "/api/v1/matters/{code}"), ("get", "/api/v1/forms/{key}"),
          ("post", "/api/v1/case-status")}  # the applicant asks with the case number and query code


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                yield path, method, operation


def test_the_bearer_scheme_is_declared_and_public_operations_say_so(client):
    spec = client.get("/api/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearerAuth": []}]
    for path, method, operation in _operations(spec):
        if (method, path) in PUBLIC:
            assert operation["security"] == [], path
            assert "401" not in operation["responses"]
        else:
            assert "security" not in operation, path  # the global bearer requirement applies
            assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_every_4xx_is_the_error_body(client):
    spec = client.get("/api/openapi.json").json
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "details"}
    responses = spec["components"]["responses"]
    for path, method, operation in _operations(spec):
        assert "400" in operation["responses"], (method, path)
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
        for status, response in operation["responses"].items():
            if status.startswith("4") or status == "default":
                name = response["$ref"].rsplit("/", 1)[-1]
                schema = responses[name]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_uploads_document_their_multipart_body(client):
    spec = client.get("/api/openapi.json").json
    for path in ("/api/v1/process-definitions", "/api/v1/forms"):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert body["properties"]["file"]["items"] == {"type": "string", "format": "binary"}
        assert body["required"] == ["file"]
