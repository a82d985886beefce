"""The one place every request is identified, held to the policy and counted against its rate
limit, before any route runs: tiles, maps, coverages, EDR, features, STAC, processes and jobs alike.

Collections a job published are as visible as the job (its owner, the groups it is shared with,
admins, everyone once public); others' results answer 404, as others' jobs do, so that their
existence does not leak. The job routes check ownership themselves (`jobs_routes`). What the
middleware decides is put in `current_caller` for the code pygeoapi calls (the job manager).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sdgcube.app.errors import error_response
from sdgcube.app.targets import OPEN_FAMILIES, Target, classify
from sdgcube.auth.audit import AuditEvent, AuditLog
from sdgcube.auth.authenticator import Authenticator, Credentials
from sdgcube.auth.identity import ANONYMOUS_USER, OPEN_CALLER, Caller, Identity, current_caller
from sdgcube.auth.policy import Policy, load_policy
from sdgcube.auth.sessions import COOKIE, CSRF_HEADER
from sdgcube.errors import (
    ConfigError,
    Forbidden,
    QuotaExceeded,
    Unauthenticated,
    UnknownCollection,
)
from sdgcube.processes.jobs import JobStore
from sdgcube.processes.services import Services
from sdgcube.settings import Settings

if TYPE_CHECKING:
    from sdgcube.auth.oidc import TokenVerifier
    from sdgcube.auth.quotas import RateLimiter, RateState

__all__ = ["OPEN_CALLER", "AccessMiddleware", "Gate"]

_LOG = logging.getLogger(__name__)
REFUSALS = (Unauthenticated, Forbidden, QuotaExceeded, UnknownCollection)
KEY_QUERY_FAMILIES = ("tiles", "maps")
"""Where an API key may come as ``?api_key=``: the map clients that cannot send headers."""


@dataclass(frozen=True)
class Admitted:
    caller: Caller
    rate: RateState | None


class Gate:
    """Identify, count, authorise: the decisions, with no ASGI in them."""

    def __init__(
        self,
        authenticator: Authenticator,
        policy: Policy,
        jobs: JobStore,
        limiter: RateLimiter,
        audit: AuditLog,
    ) -> None:
        self.authenticator = authenticator
        self.policy = policy
        self.jobs = jobs
        self.limiter = limiter
        self.audit = audit

    def caller(self, identity: Identity) -> Caller:
        role = self.policy.role(identity.role)
        return Caller(identity, role, self.policy.quotas(identity.user, identity.role))

    def admit(self, credentials: Credentials, target: Target, where: str) -> Admitted:
        """The caller, let through; a refusal is audited with whoever the caller turned out to be."""
        user = "?" if credentials.sent else ANONYMOUS_USER
        try:
            caller = self.caller(self._identify(credentials, target))
            identity = caller.identity
            user = identity.user
            counted = counter_key(identity, credentials.client)
            rate = self.limiter.hit(counted, target.family, caller.quotas.per_minute(target.family))
            self.authorise(caller, target)
        except REFUSALS as exc:
            self.audit.record(AuditEvent("request.denied", user, where, "denied", str(exc)))
            raise
        return Admitted(caller, rate)

    def _identify(self, credentials: Credentials, target: Target) -> Identity:
        """Stale credentials do not lock a caller out of the open routes: signing in again."""
        try:
            return self.authenticator.identify(credentials)
        except Unauthenticated:
            if target.family not in OPEN_FAMILIES:
                raise
            return Identity(ANONYMOUS_USER, self.policy.anonymous_role)

    def authorise(self, caller: Caller, target: Target) -> None:
        if target.family in OPEN_FAMILIES or caller.admin:
            return
        role = caller.role
        if target.family == "admin":
            _refuse(caller, "only an admin may read the audit log")
        if not (role.read or role.execute):
            _refuse(caller, f"the {role.name} role may not use {target.family}")
        for name in target.collections:
            self.check_read(caller, name)
        if target.process is not None and not role.may_execute(target.process):
            _refuse(caller, f"the {role.name} role may not run {target.process!r}")

    def may_read(self, caller: Caller, collection: str) -> bool:
        if caller.admin:
            return True
        job = self.jobs.result_job(collection)
        if job is not None:
            identity = caller.identity
            return job.visible_to(identity.user, identity.groups, admin=False)
        return caller.role.may_read(collection)

    def readable(self, caller: Caller, collections: list[str]) -> set[str]:
        """Which of ``collections`` the caller may read (one query for them all)."""
        if caller.admin:
            return set(collections)
        results = self.jobs.result_jobs(collections)
        identity = caller.identity
        return {
            name for name in collections
            if (results[name].visible_to(identity.user, identity.groups, admin=False)
                if name in results else caller.role.may_read(name))
        }  # fmt: skip

    def check_read(self, caller: Caller, collection: str) -> None:
        if self.may_read(caller, collection):
            return
        if self.jobs.result_job(collection) is not None:
            raise UnknownCollection(collection)
        _refuse(caller, f"the {caller.role.name} role may not read {collection!r}")


def counter_key(identity: Identity, client: str) -> str:
    """Whose rate limit a request counts against: anonymous callers each have their own."""
    return identity.user if identity.signed_in else f"{identity.user}@{client}"


def build_gate(services: Services) -> Gate | None:
    """The gate for the settings' authentication modes; None when authentication is off."""
    auth = services.settings.auth
    if auth.open:
        return None
    from sdgcube.auth.quotas import RateLimiter

    engine = services.cube.engine
    policy = load_policy(auth.policy_file)
    authenticator = Authenticator(
        auth, policy, accounts=services.accounts if "keys" in auth.mode else None,
        tokens=_verifier(services.settings) if "oidc" in auth.mode else None,
        sessions=services.sessions,
    )  # fmt: skip
    return Gate(authenticator, policy, services.jobs, RateLimiter(engine), services.audit)


def _verifier(settings: Settings) -> TokenVerifier:
    from sdgcube.auth.oidc import TokenVerifier

    if settings.auth.oidc.issuer is None:
        raise ConfigError("SDGCUBE_AUTH__MODE has oidc: set SDGCUBE_AUTH__OIDC__ISSUER")
    return TokenVerifier(settings.auth.oidc)


def _refuse(caller: Caller, message: str) -> None:
    if caller.identity.signed_in:
        raise Forbidden(message)
    raise Unauthenticated(f"{message}: sign in (an API key or a bearer token)")


def credentials(scope: Scope, target: Target, *, key_query: bool) -> tuple[Credentials, Scope]:
    """The request's credentials, and the scope without an ``api_key`` query parameter (which must
    reach neither the renderers nor their logs)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    scheme, _, bearer = headers.get("authorization", "").partition(" ")
    cookie = SimpleCookie(headers.get("cookie", ""))
    session = cookie[COOKIE].value if COOKIE in cookie else None
    api_key, scope = (
        _query_key(scope) if key_query and target.family in KEY_QUERY_FAMILIES else (None, scope)
    )
    client = scope.get("client") or ("", 0)
    found = Credentials(
        method=scope["method"], bearer=bearer.strip() or None if scheme.lower() == "bearer" else None,
        api_key=headers.get("x-api-key") or api_key, session=session,
        csrf=headers.get(CSRF_HEADER), client=str(client[0]),
    )  # fmt: skip
    return found, scope


def _query_key(scope: Scope) -> tuple[str | None, Scope]:
    from urllib.parse import parse_qsl, urlencode

    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    keys = [v for k, v in pairs if k == "api_key"]
    if not keys:
        return None, scope
    rest = urlencode([(k, v) for k, v in pairs if k != "api_key"]).encode("latin-1")
    return keys[0], {**scope, "query_string": rest}


class AccessMiddleware:
    """ASGI middleware: every HTTP request through `Gate.admit`, refusals as OGC exceptions
    (audited), `RateLimit-*` headers on what is let through."""

    def __init__(self, app: ASGIApp, gate: Gate | None, *, key_query: bool = True) -> None:
        self.app = app
        self.gate = gate
        self.key_query = key_query

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.gate is None:  # authentication off: everybody may do everything
            await self._run(OPEN_CALLER, None, scope, receive, send)
            return
        target = classify(scope["path"], scope.get("query_string", b"").decode("latin-1"))
        found, scope = credentials(scope, target, key_query=self.key_query)
        try:
            where = f"{scope['method']} {scope['path']}"
            admitted = await run_in_threadpool(self.gate.admit, found, target, where)
        except REFUSALS as exc:
            await error_response(exc)(scope, receive, send)
            return
        await self._run(admitted.caller, admitted.rate, scope, receive, send)

    async def _run(
        self, caller: Caller, rate: RateState | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        from sdgcube.auth.quotas import rate_headers

        extra = [(k.encode(), v.encode()) for k, v in rate_headers(rate).items()] if rate else []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        scope.setdefault("state", {})["caller"] = caller
        token = current_caller.set(caller)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current_caller.reset(token)
