"""sdgcube's own routes for accounts in the OpenAPI document, and how callers authenticate: what
pygeoapi generates knows neither."""

from __future__ import annotations

from typing import Any

from sdgcube.settings import AuthSettings

__all__ = ["add_access"]


def _json(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


_EXCEPTION = _json("an OGC API exception (401, 403, 404, 429, …)")


def _paths() -> dict[str, Any]:
    job_id = {"name": "jobId", "in": "path", "required": True, "schema": {"type": "string"}}
    login_body = {
        "type": "object",
        "required": ["api_key"],
        "properties": {"api_key": {"type": "string"}},
    }
    sharing_body = {"type": "object", "additionalProperties": False, "properties": {
        "groups": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "public": {"type": "boolean"}}}  # fmt: skip
    return {
        "/limits": {"get": {"summary": "The caller's identity, quotas and rate limits, with their usage",
                            "operationId": "getLimits", "tags": ["access"],
                            "responses": {"200": _json("limits and usage"), "default": _EXCEPTION}}},
        "/audit": {"get": {"summary": "The audit log, newest first (admins)", "operationId": "getAudit",
                           "tags": ["access"], "parameters": [
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
                               {"name": "user", "in": "query", "schema": {"type": "string"}},
                               {"name": "action", "in": "query", "schema": {"type": "string"}}],
                           "responses": {"200": _json("audit events"), "default": _EXCEPTION}}},
        "/auth/session": {"get": {"summary": "Who the session cookie signs in, and its CSRF token",
                                  "operationId": "getSession", "tags": ["access"],
                                  "responses": {"200": _json("the session"), "default": _EXCEPTION}}},
        "/auth/login": {"post": {"summary": "Open a browser session with an API key", "operationId": "login",
                                 "tags": ["access"], "requestBody": {"required": True, "content": {
                                     "application/json": {"schema": login_body}}},
                                 "responses": {"200": _json("the session and its CSRF token"),
                                               "default": _EXCEPTION}}},
        "/auth/logout": {"post": {"summary": "End the browser session", "operationId": "logout",
                                  "tags": ["access"],
                                  "responses": {"200": _json("signed out"), "default": _EXCEPTION}}},
        "/jobs/{jobId}/sharing": {"post": {"summary": "Share a job and its results with groups or everyone",
                                           "operationId": "shareJob", "tags": ["server"], "parameters": [job_id],
                                           "requestBody": {"required": True, "content": {
                                               "application/json": {"schema": sharing_body}}},
                                           "responses": {"200": _json("the job's status, shared"),
                                                         "default": _EXCEPTION}}},
    }  # fmt: skip


def add_access(document: dict[str, Any], auth: AuthSettings) -> dict[str, Any]:
    """The document with the account routes, and the security schemes of the modes that are on."""
    routes = _paths()
    if auth.open:  # no sessions without accounts
        routes = {path: item for path, item in routes.items() if not path.startswith("/auth/")}
    document.setdefault("paths", {}).update(routes)
    schemes: dict[str, Any] = {}
    if "keys" in auth.mode:
        schemes["apiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    if auth.mode != ("anonymous",):
        schemes["bearer"] = {"type": "http", "scheme": "bearer",
                             "description": "an API key, or an access token from the OIDC issuer"}  # fmt: skip
    if schemes:
        document.setdefault("components", {}).setdefault("securitySchemes", {}).update(schemes)
        document["security"] = [{name: []} for name in schemes]
    return document
