"""OpenID Connect: bearer tokens (JWTs) checked against the issuer's published keys, and browser
sign-in through the authorization code flow with PKCE.

Nothing here touches the network until the first token or sign-in: the discovery document and the
key set are fetched then, once, and kept. PyJWT and httpx are imported inside the functions that
use them, because every command line call imports sdgcube and they cost a tenth of a second each.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sdgcube.errors import ConfigError, Unauthenticated

if TYPE_CHECKING:
    from jwt import PyJWK, PyJWKClient

    from sdgcube.settings import OidcSettings

__all__ = ["Claims", "LoginStart", "OidcLogin", "TokenVerifier"]

# Symmetric algorithms would let anyone holding the published (public) key sign tokens.
_FORBIDDEN_ALGORITHMS = ("none", "HS256", "HS384", "HS512")
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud"]
# After a failed first fetch, requests waiting for the keys fail at once for this long instead of
# each asking the issuer again: with a hung issuer they would otherwise wait their turn, in series.
_RETRY_AFTER_FAILURE_S = 1.0


@dataclass(frozen=True)
class Claims:
    """What a verified token says about its bearer."""

    user: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class LoginStart:
    """The first leg of a browser sign-in: where to send the browser, and the secrets the caller
    keeps (in the session) until the issuer sends the browser back."""

    url: str
    """The issuer's authorization endpoint, with every parameter of the request."""
    state: str
    """Echoed back by the issuer; the caller checks it against the one it kept (CSRF)."""
    code_verifier: str
    """The PKCE secret whose S256 hash went out as ``code_challenge``."""
    nonce: str
    """Must come back inside the ID token, which ties the token to this sign-in."""


class _Provider:
    """The issuer's discovery document, fetched on first use and kept."""

    def __init__(self, issuer: str, timeout_s: float) -> None:
        self.issuer = issuer
        self._timeout_s = timeout_s
        self._document: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def endpoint(self, name: str) -> str:
        """One URL of the discovery document (``jwks_uri``, ``token_endpoint``, …)."""
        value = self._metadata().get(name)
        if not isinstance(value, str) or not value:
            raise Unauthenticated(f"the issuer's discovery document has no {name}")
        return value

    def _metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._document is None:
                self._document = self._fetch()
            return self._document

    def _fetch(self) -> dict[str, Any]:
        import httpx

        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            response = httpx.get(url, timeout=self._timeout_s)
            response.raise_for_status()
            document = response.json()
        except httpx.HTTPError as error:
            raise Unauthenticated(f"the issuer cannot be reached: {error}") from error
        except ValueError as error:
            raise Unauthenticated("the issuer's discovery document is not JSON") from error
        # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was asked for,
        # or its keys could be someone else's.
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            raise Unauthenticated("the issuer's discovery document names another issuer")
        return document


class _SigningKeys:
    """The issuer's key set, refetched when it is older than ``lifespan_s`` or when a token names a
    key it lacks (the issuer rotated its keys).

    PyJWKClient refetches on an unknown ``kid`` too, but its cooldown starts at every fetch, so a
    key rotated in just after a routine fetch is refused for the whole cooldown. Here the cooldown
    only spaces out the refetches unknown keys force, which keeps a stream of made-up ``kid``s from
    turning each request into a call to the issuer."""

    def __init__(
        self,
        url: str | None,
        provider: _Provider,
        *,
        timeout_s: float,
        cooldown_s: float,
        lifespan_s: float,
    ) -> None:
        self._url = url
        self._provider = provider
        self._timeout_s = timeout_s
        self._cooldown_s = cooldown_s
        self._lifespan_s = lifespan_s
        self._client: PyJWKClient | None = None
        self._keys: list[PyJWK] | None = None
        self._fetched_at = 0.0
        self._forced_at = -float("inf")
        self._failure: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def key(self, kid: str | None) -> PyJWK:
        with self._lock:
            now = time.monotonic()
            failure = self._failure if self._keys is None else None
            if failure is not None and now - failure[0] < _RETRY_AFTER_FAILURE_S:
                raise Unauthenticated(failure[1])
            fresh = self._keys is None or now - self._fetched_at > self._lifespan_s
            if fresh:
                self._refresh(keep_on_failure=self._keys is not None)
            found = self._match(kid)
            if found is None and not fresh and now - self._forced_at >= self._cooldown_s:
                self._forced_at = now
                self._refresh(keep_on_failure=False)
                found = self._match(kid)
        if found is None:
            raise Unauthenticated("the token is signed with a key the issuer does not publish")
        return found

    def _match(self, kid: str | None) -> PyJWK | None:
        keys = self._keys or []
        if kid is None:
            # Some issuers leave ``kid`` out while they publish a single key.
            return keys[0] if len(keys) == 1 else None
        return next((key for key in keys if key.key_id == kid), None)

    def _refresh(self, *, keep_on_failure: bool) -> None:
        try:
            self._fetch(keep_on_failure=keep_on_failure)
        except Unauthenticated as error:
            self._failure = (time.monotonic(), str(error))
            raise
        self._failure = None

    def _fetch(self, *, keep_on_failure: bool) -> None:
        from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWTError

        try:
            if self._client is None:
                url = self._url or self._provider.endpoint("jwks_uri")
                # Caching is ours (see the class docstring); the client only fetches and parses.
                self._client = PyJWKClient(url, cache_jwk_set=False, timeout=self._timeout_s)
            jwk_set = self._client.get_jwk_set(refresh=True)
        except PyJWKClientConnectionError as error:
            if keep_on_failure:
                # A short outage of the issuer does not sign everyone out; ask again after the
                # cooldown rather than on every request.
                self._fetched_at = time.monotonic() - self._lifespan_s + self._cooldown_s
                return
            raise Unauthenticated(f"the issuer cannot be reached: {error}") from error
        except PyJWTError as error:
            raise Unauthenticated(f"the issuer's key set cannot be used: {error}") from error
        self._keys = [key for key in jwk_set.keys if key.public_key_use in ("sig", None)]
        self._fetched_at = time.monotonic()


def _checked_algorithms(algorithms: list[str]) -> list[str]:
    from jwt.algorithms import get_default_algorithms

    known = get_default_algorithms()
    for name in algorithms:
        if name in _FORBIDDEN_ALGORITHMS:
            raise ConfigError(
                f"OIDC algorithm {name!r} is not allowed: tokens must be signed with the issuer's "
                "private key (RS*, PS*, ES*, EdDSA)"
            )
        if name not in known:
            raise ConfigError(f"unknown OIDC signature algorithm {name!r}")
    if not algorithms:
        raise ConfigError("no OIDC signature algorithm is allowed")
    return list(algorithms)


class TokenVerifier:
    """Checks bearer tokens from one OpenID Connect issuer; safe to share between threads."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        timeout_s: float = 5.0,
        refetch_cooldown_s: float = 10.0,
        keys_lifespan_s: float = 300.0,
    ) -> None:
        """``timeout_s`` bounds each call to the issuer; ``refetch_cooldown_s`` is the least time
        between two key set fetches forced by tokens that name an unknown key;
        ``keys_lifespan_s`` is how long the key set is used before it is fetched again."""
        if not settings.issuer:
            raise ConfigError("OIDC needs an issuer URL (SDGCUBE_AUTH__OIDC__ISSUER)")
        if not settings.audience:
            # Without it, a token the issuer minted for any of its clients would be accepted.
            raise ConfigError(
                "OIDC needs the audience tokens are for (SDGCUBE_AUTH__OIDC__AUDIENCE)"
            )
        self.settings = settings
        self._algorithms = _checked_algorithms(settings.algorithms)
        self._provider = _Provider(settings.issuer, timeout_s)
        self._keys = _SigningKeys(
            settings.jwks_url,
            self._provider,
            timeout_s=timeout_s,
            cooldown_s=refetch_cooldown_s,
            lifespan_s=keys_lifespan_s,
        )

    def verify(self, token: str) -> Claims:
        """The claims of a valid token; :class:`Unauthenticated` with the reason otherwise."""
        return _claims(self.payload(token), self.settings)

    def payload(self, token: str) -> dict[str, Any]:
        """Every claim of a valid token (signature, issuer, audience and times checked)."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthenticated("the token is not a well-formed JWT") from error
        alg = header.get("alg")
        if alg not in self._algorithms:
            raise Unauthenticated(
                f"the token is signed with {str(alg)[:20]!r}, which this server refuses"
            )
        key = self._keys.key(header.get("kid"))
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.clock_skew_s,
                options={"require": [*_REQUIRED_CLAIMS, self.settings.user_claim]},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(_reason(error)) from error
        return payload


def _reason(error: Exception) -> str:
    """A short message for a refused token; never the token itself."""
    import jwt

    reasons: list[tuple[type[Exception], str]] = [
        (jwt.ExpiredSignatureError, "the token has expired"),
        (jwt.InvalidAudienceError, "the token is for another audience"),
        (jwt.InvalidIssuerError, "the token is from another issuer"),
        (jwt.ImmatureSignatureError, "the token is not valid yet"),
        (jwt.InvalidIssuedAtError, "the token's issue time is not valid"),
        (jwt.InvalidSignatureError, "the token's signature does not verify"),
        (jwt.InvalidAlgorithmError, "the token's algorithm does not match the issuer's key"),
        (jwt.DecodeError, "the token is not a well-formed JWT"),
    ]
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"the token has no {error.claim!r} claim"
    return next((text for kind, text in reasons if isinstance(error, kind)), "the token is invalid")


def _claim(payload: dict[str, Any], name: str) -> Any:
    """A claim by name, or by dotted path into nested objects (``realm_access.roles``); a name
    that itself holds dots (``https://example.org/roles``) wins over the path."""
    if name in payload:
        return payload[name]
    value: Any = payload
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _names(payload: dict[str, Any], name: str) -> tuple[str, ...]:
    value = _claim(payload, name)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise Unauthenticated(f"the token's {name!r} claim is not a list of names")


def _claims(payload: dict[str, Any], settings: OidcSettings) -> Claims:
    user = _claim(payload, settings.user_claim)
    if not isinstance(user, str) or not user:
        raise Unauthenticated(f"the token's {settings.user_claim!r} claim names nobody")
    return Claims(
        user=user,
        roles=_names(payload, settings.roles_claim),
        groups=_names(payload, settings.groups_claim),
    )


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcLogin:
    """Browser sign-in with the authorization code flow and PKCE (S256)."""

    def __init__(self, settings: OidcSettings, *, timeout_s: float = 5.0) -> None:
        if not settings.issuer or not settings.client_id:
            raise ConfigError(
                "browser sign-in needs the OIDC issuer and this server's client id "
                "(SDGCUBE_AUTH__OIDC__ISSUER, SDGCUBE_AUTH__OIDC__CLIENT_ID)"
            )
        self.settings = settings
        self._client_id = settings.client_id
        self._timeout_s = timeout_s
        # An ID token is addressed to the client that asked for it.
        id_tokens = settings.model_copy(update={"audience": settings.client_id})
        self._verifier = TokenVerifier(id_tokens, timeout_s=timeout_s)

    def start(self, redirect_uri: str) -> LoginStart:
        """Where to send the browser, and the secrets to keep until it comes back."""
        state, verifier, nonce = (secrets.token_urlsafe(32) for _ in range(3))
        query = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.scopes,
            "state": state,
            "code_challenge": _s256(verifier),
            "code_challenge_method": "S256",
            "nonce": nonce,
        }
        endpoint = self._verifier._provider.endpoint("authorization_endpoint")
        separator = "&" if "?" in endpoint else "?"
        url = f"{endpoint}{separator}{urlencode(query)}"
        return LoginStart(url=url, state=state, code_verifier=verifier, nonce=nonce)

    def finish(self, code: str, *, code_verifier: str, nonce: str, redirect_uri: str) -> Claims:
        """Trade the code the issuer sent back for an ID token, check it, and say who signed in.
        The caller has already compared the returned ``state`` with the one it kept."""
        payload = self._verifier.payload(self._id_token(code, code_verifier, redirect_uri))
        if not isinstance(payload.get("nonce"), str) or not secrets.compare_digest(
            payload["nonce"], nonce
        ):
            raise Unauthenticated("the ID token is not for this sign-in (nonce)")
        return _claims(payload, self.settings)

    def _id_token(self, code: str, code_verifier: str, redirect_uri: str) -> str:
        import httpx

        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self._client_id,
            "code_verifier": code_verifier,
        }
        if self.settings.client_secret is not None:  # client_secret_post
            form["client_secret"] = self.settings.client_secret.get_secret_value()
        endpoint = self._verifier._provider.endpoint("token_endpoint")
        try:
            response = httpx.post(endpoint, data=form, timeout=self._timeout_s)
        except httpx.HTTPError as error:
            raise Unauthenticated(f"the issuer cannot be reached: {error}") from error
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        if response.status_code != 200:
            refusal = answer.get("error_description") or answer.get("error") or response.status_code
            raise Unauthenticated(f"the issuer refused the sign-in: {refusal}")
        token = answer.get("id_token")
        if not isinstance(token, str):
            raise Unauthenticated("the issuer's answer holds no ID token")
        return token
