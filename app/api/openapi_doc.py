"""The OpenAPI document /openapi.json serves (and `make contract` writes), made to say what the
server does: the bearer scheme on every route that checks the token, a 400 on every route that
reads a body (a body that is not JSON, or is cut short, is refused before validation), and one
error model for every 422 (`ErrorOut`: FastAPI's own validation errors and the routes' named
problems share the `{detail: [{loc, msg}]}` shape; FastAPI's default model requires a `type`
that the routes' problems do not carry). The document stays readable without the token: it
is the repository's contracts/openapi.json, no secret (README, "REST")."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.api.schemas.errors import MEANING

BEARER = "bearer"
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI) -> None:
    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            app.openapi_schema = honest(schema)
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def honest(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "SIGNALDESK_TOKEN, when the server has one (every route but /api/health then needs it)",
    }
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation["responses"]
            if "401" in responses:
                operation["security"] = [{BEARER: []}]
            if "requestBody" in operation:
                responses.setdefault("400", _error(400))
            if "422" in responses:
                responses["422"]["content"] = {"application/json": {"schema": ERROR_REF}}
    for name in FASTAPI_VALIDATION:
        components.get("schemas", {}).pop(name, None)
    return schema


def _error(code: int) -> dict[str, Any]:
    return {"description": MEANING[code], "content": {"application/json": {"schema": ERROR_REF}}}
