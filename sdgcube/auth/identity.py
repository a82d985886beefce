"""The caller of one request, as every layer after authentication sees it."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from sdgcube.auth.policy import Quotas, Role

__all__ = ["ANONYMOUS_USER", "OPEN_CALLER", "OPEN_ROLE", "Caller", "Identity", "current_caller"]

ANONYMOUS_USER = "anonymous"
Via = Literal["open", "anonymous", "key", "oidc", "session"]


@dataclass(frozen=True)
class Identity:
    """A user (or nobody), the role the policy knows them by, and their groups.

    ``via`` says how they were identified: ``open`` when the server has authentication off (every
    caller is the same, unrestricted user), ``anonymous`` for a caller who sent no credentials."""

    user: str
    role: str
    groups: tuple[str, ...] = ()
    via: Via = "anonymous"
    key_id: str | None = None
    """The API key used (its public id, never the secret), for the audit log."""

    @property
    def signed_in(self) -> bool:
        return self.via not in ("open", "anonymous")


OPEN_ROLE = Role("open", read=("*",), execute=("*",), admin=True)
"""What every caller may do while authentication is off."""


@dataclass
class Caller:
    """One request's identity with its role and quotas, and what the job manager, called by
    pygeoapi with no way to pass it, learned while running: a refused quota the response must
    carry (its Retry-After)."""

    identity: Identity
    role: Role = OPEN_ROLE
    quotas: Quotas = field(default_factory=Quotas)
    refusal: Exception | None = None

    @property
    def admin(self) -> bool:
        return self.role.admin


OPEN_CALLER = Caller(Identity(ANONYMOUS_USER, OPEN_ROLE.name, via="open"))
"""Every caller while authentication is off, and the CLI's own jobs."""

current_caller: ContextVar[Caller | None] = ContextVar("sdgcube_caller", default=None)
"""Set by the access middleware for the request it lets through; pygeoapi's call into the job
manager runs in a copy of the request's context."""
