"""Signing in and out of browser sessions, and ``/limits``: each caller's limits and usage.

``POST /auth/login`` takes an API key (JSON ``{"api_key": …}`` or a form field) and answers with
the session cookie and the CSRF token that state-changing requests must echo. ``/auth/oidc/login``
sends the browser to the issuer (authorization code + PKCE); ``/auth/oidc/callback`` comes back
with the code, and opens the session. The PKCE verifier, state and nonce wait in a short-lived
HttpOnly cookie: they are bound to the browser that started, as the flow requires.
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sdgcube.app.errors import error_response
from sdgcube.app.jobs_routes import caller_of
from sdgcube.auth.audit import AuditEvent, AuditLog
from sdgcube.auth.authenticator import Authenticator, Credentials
from sdgcube.auth.identity import Identity
from sdgcube.auth.policy import FAMILIES
from sdgcube.auth.sessions import COOKIE, OpenedSession, SessionStore
from sdgcube.errors import InvalidRequest, SdgcubeError, Unauthenticated
from sdgcube.settings import Settings

if TYPE_CHECKING:
    from sdgcube.app.access import Gate

__all__ = ["SignIn", "audit_route", "auth_routes", "limits_route"]

_LOGIN_COOKIE = "sdgcube_oidc_login"
_LOGIN_MAX_AGE_S = 600


@dataclass(frozen=True)
class SignIn:
    """What signing in needs: the settings (cookie flags, URLs), the authenticator and sessions."""

    settings: Settings
    authenticator: Authenticator
    sessions: SessionStore
    audit: AuditLog

    @property
    def secure(self) -> bool:
        return self.settings.base_url.startswith("https://")

    def session_response(self, identity: Identity, body: Response | None = None) -> Response:
        opened: OpenedSession = self.sessions.open(identity)
        event = AuditEvent("session.login", identity.user, identity.via, key_id=identity.key_id)
        self.audit.record(event)
        response = body or JSONResponse(
            {"user": identity.user, "role": identity.role, "groups": list(identity.groups),
             "csrf_token": opened.csrf, "expires": opened.expires.isoformat()}
        )  # fmt: skip
        max_age = int(self.settings.auth.session_hours * 3600)
        response.set_cookie(COOKIE, opened.token, max_age=max_age, path="/", httponly=True,
                            samesite="lax", secure=self.secure)  # fmt: skip
        return response


async def _key_login(request: Request, sign_in: SignIn) -> Response:
    try:
        key = await _posted_key(request)
        identity = await run_in_threadpool(sign_in.authenticator.identify, Credentials(api_key=key))
        return await run_in_threadpool(sign_in.session_response, identity)
    except SdgcubeError as exc:
        return error_response(exc)


async def _posted_key(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media == "application/json":
        body: Any = await request.json()
        key = body.get("api_key") if isinstance(body, dict) else None
    elif media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        key = (await request.form()).get("api_key")
    else:
        raise InvalidRequest("sign in with a JSON or form body holding api_key")
    if not isinstance(key, str) or not key:
        raise InvalidRequest("api_key is missing")
    return key


async def _logout(request: Request, sign_in: SignIn) -> Response:
    token = request.cookies.get(COOKIE)
    if token is not None:
        await run_in_threadpool(sign_in.sessions.close, token)
        user = caller_of(request).identity.user
        await run_in_threadpool(sign_in.audit.record, AuditEvent("session.logout", user))
    response = JSONResponse({"signed_in": False})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=sign_in.secure)
    return response


async def _session(request: Request, sign_in: SignIn) -> Response:
    """Who the browser is signed in as, and the CSRF token its scripts must send."""
    token = request.cookies.get(COOKIE)
    try:
        found = await run_in_threadpool(sign_in.sessions.find, token) if token else None
    except Unauthenticated:
        found = None
    if found is None:
        return JSONResponse({"signed_in": False})
    identity = found.identity
    return JSONResponse({"signed_in": True, "user": identity.user, "role": identity.role,
                         "groups": list(identity.groups), "csrf_token": found.csrf})  # fmt: skip


def _same_site_path(value: str | None) -> str:
    """Only a path on this server: an open redirect would hand the session to another site."""
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


async def _oidc_login(request: Request, sign_in: SignIn) -> Response:
    from sdgcube.auth.oidc import OidcLogin

    redirect_uri = f"{sign_in.settings.base_url}/auth/oidc/callback"
    try:
        start = await run_in_threadpool(OidcLogin(sign_in.settings.auth.oidc).start, redirect_uri)
    except SdgcubeError as exc:
        return error_response(exc)
    pending = {"state": start.state, "verifier": start.code_verifier, "nonce": start.nonce,
               "next": _same_site_path(request.query_params.get("next"))}  # fmt: skip
    response = RedirectResponse(start.url, status_code=302)
    response.set_cookie(_LOGIN_COOKIE, base64.urlsafe_b64encode(json.dumps(pending).encode()).decode(),
                        max_age=_LOGIN_MAX_AGE_S, path="/auth/oidc", httponly=True, samesite="lax",
                        secure=sign_in.secure)  # fmt: skip
    return response


async def _oidc_callback(request: Request, sign_in: SignIn) -> Response:
    from sdgcube.auth.oidc import OidcLogin

    try:
        pending = json.loads(base64.urlsafe_b64decode(request.cookies.get(_LOGIN_COOKIE, "")))
        state, code = request.query_params.get("state"), request.query_params.get("code")
        if not isinstance(pending, dict) or not code or state != pending.get("state"):
            raise Unauthenticated("the sign-in was not started here, or has expired: start again")
        login = OidcLogin(sign_in.settings.auth.oidc)
        redirect_uri = f"{sign_in.settings.base_url}/auth/oidc/callback"
        finish = functools.partial(login.finish, code, code_verifier=pending["verifier"],
                                   nonce=pending["nonce"], redirect_uri=redirect_uri)  # fmt: skip
        claims = await run_in_threadpool(finish)
    except (ValueError, KeyError):
        return error_response(Unauthenticated("the sign-in was not started here: start again"))
    except SdgcubeError as exc:
        return error_response(exc)
    identity = sign_in.authenticator.claims_identity(claims)
    target = RedirectResponse(_same_site_path(pending.get("next")), status_code=303)
    response = await run_in_threadpool(sign_in.session_response, identity, target)
    response.delete_cookie(_LOGIN_COOKIE, path="/auth/oidc")
    return response


def auth_routes(sign_in: SignIn) -> list[Route]:
    def bound(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            response: Response = await handler(request, sign_in)
            return response

        return endpoint

    routes = [
        Route("/auth/login", bound(_key_login), methods=["POST"]),
        Route("/auth/logout", bound(_logout), methods=["POST"]),
        Route("/auth/session", bound(_session)),
    ]
    if "oidc" in sign_in.settings.auth.mode:
        routes += [Route("/auth/oidc/login", bound(_oidc_login)),
                   Route("/auth/oidc/callback", bound(_oidc_callback))]  # fmt: skip
    return routes


def limits_route(settings: Settings, gate: Gate | None) -> Route:
    """``/limits``: the caller's identity, quotas and rate limits with what is used of each."""
    from sdgcube.app.access import counter_key
    from sdgcube.auth.quotas import JobUsage, job_usage, limits_document

    async def limits(request: Request) -> Response:
        caller = caller_of(request)
        if gate is None:
            document = limits_document(caller.identity, caller.quotas, {}, JobUsage(0, 0), FAMILIES,
                                       server_limits=settings.limits)  # fmt: skip
            return JSONResponse(document)
        client = request.client.host if request.client else ""
        rates = await run_in_threadpool(gate.limiter.usage, counter_key(caller.identity, client))
        jobs = await run_in_threadpool(job_usage, gate.jobs.engine, caller.identity.user)
        document = limits_document(
            caller.identity, caller.quotas, rates, jobs, FAMILIES, server_limits=settings.limits
        )
        return JSONResponse(document)

    return Route("/limits", limits)


def audit_route(audit: AuditLog) -> Route:
    """``/audit?limit=&user=&action=``: the audit log, newest first (admins only: `Gate`)."""

    async def events(request: Request) -> Response:
        params = request.query_params
        try:
            limit = int(params.get("limit", "100"))
            found = await run_in_threadpool(functools.partial(
                audit.read, limit=limit, user=params.get("user"), action=params.get("action")))  # fmt: skip
        except ValueError:
            return error_response(InvalidRequest("limit must be a whole number"))
        except SdgcubeError as exc:
            return error_response(exc)
        return JSONResponse({"events": [
            {"at": e.at.isoformat() if e.at else None, "action": e.action, "user": e.user,
             "key_id": e.key_id, "target": e.target, "outcome": e.outcome, "detail": e.detail}
            for e in found]})  # fmt: skip

    return Route("/audit", events)
