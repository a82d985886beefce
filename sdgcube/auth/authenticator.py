"""Credentials → `Identity`: API keys, OpenID Connect bearer tokens and session cookies.

Bearer values that start with the API-key prefix are keys; other bearer values are JWTs from the
configured issuer. A caller who sends nothing is anonymous (the policy's ``anonymous_role``);
credentials that are sent but identify nobody are refused, never downgraded to anonymous: a
client with a revoked key must learn so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sdgcube.auth.accounts import key_identity
from sdgcube.auth.identity import ANONYMOUS_USER, Identity
from sdgcube.auth.policy import Policy
from sdgcube.auth.sessions import SessionStore, check_csrf
from sdgcube.errors import Unauthenticated
from sdgcube.settings import AuthSettings

if TYPE_CHECKING:
    from sdgcube.auth.accounts import AccountStore
    from sdgcube.auth.oidc import Claims, TokenVerifier

__all__ = ["KEY_PREFIX", "Authenticator", "Credentials", "choose_role"]

KEY_PREFIX = "sdgk_"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Credentials:
    """What one request carried; ``client`` is its address (anonymous callers count per address)."""

    method: str = "GET"
    bearer: str | None = None
    api_key: str | None = None
    session: str | None = None
    csrf: str | None = None
    client: str = ""

    @property
    def sent(self) -> bool:
        """Whether the request carried any credentials at all."""
        return any(value is not None for value in (self.bearer, self.api_key, self.session))


def choose_role(policy: Policy, roles: Sequence[str]) -> str:
    """Of the roles an issuer grants, the last one the policy lists (the file lists them from
    least to most able); none known: the anonymous role."""
    known = [name for name in policy.roles if name in roles]
    return known[-1] if known else policy.anonymous_role


class Authenticator:
    def __init__(
        self,
        settings: AuthSettings,
        policy: Policy,
        *,
        accounts: AccountStore | None,
        tokens: TokenVerifier | None,
        sessions: SessionStore,
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.accounts = accounts
        self.tokens = tokens
        self.sessions = sessions

    def identify(self, credentials: Credentials) -> Identity:
        bearer = credentials.bearer
        if bearer is not None and not bearer.startswith(KEY_PREFIX):
            return self._token(bearer)
        key = bearer or credentials.api_key
        if key is not None:
            return self._key(key)
        if credentials.session is not None:
            return self._session(credentials)
        return Identity(ANONYMOUS_USER, self.policy.anonymous_role)

    def _key(self, token: str) -> Identity:
        if self.accounts is None:
            raise Unauthenticated("this server does not take API keys: use a bearer token")
        return key_identity(*self.accounts.verify(token))

    def _token(self, token: str) -> Identity:
        if self.tokens is None:
            raise Unauthenticated("this server does not take bearer tokens: use an API key")
        return self.claims_identity(self.tokens.verify(token))

    def claims_identity(self, claims: Claims) -> Identity:
        return Identity(claims.user, choose_role(self.policy, claims.roles), claims.groups, "oidc")

    def _session(self, credentials: Credentials) -> Identity:
        assert credentials.session is not None
        found = self.sessions.find(credentials.session)
        if found.identity.key_id is not None and self.accounts is not None:
            self.accounts.check_active(found.identity.key_id)
        if credentials.method not in SAFE_METHODS:
            check_csrf(found.csrf, credentials.csrf)
        return found.identity
