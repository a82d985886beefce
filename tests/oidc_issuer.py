"""A real OpenID Connect provider on a loopback port, for tests: discovery, a key set, an
authorization endpoint that approves whoever the test says is signing in, and a token endpoint
that checks the client, the redirect URI and the PKCE verifier like a real one.

    with LocalIssuer() as issuer:
        token = issuer.token(sub="ana", roles=["analyst"])
        issuer.next_login = {"sub": "ana", "roles": ["analyst"]}

Keys are RSA (2048 bits) made at start; ``rotate()`` signs with a new one from then on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

__all__ = ["LocalIssuer", "SigningKey"]


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def make(cls) -> SigningKey:
        return cls(
            secrets.token_hex(8), rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    @property
    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**data, "kid": self.kid, "alg": "RS256", "use": "sig"}

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    login: dict[str, Any]


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class LocalIssuer:
    """An OIDC provider served by uvicorn in a background thread on 127.0.0.1."""

    def __init__(
        self,
        *,
        audience: str = "sdgcube-api",
        client_id: str = "sdgcube",
        client_secret: str | None = None,
        roles_claim: str = "realm_access.roles",
    ) -> None:
        self.audience = audience
        self.client_id = client_id
        self.client_secret = client_secret
        self.roles_claim = roles_claim
        self.next_login: dict[str, Any] | None = None
        """The claims of whoever the next ``/authorize`` signs in (``sub``, ``roles``, ``groups``);
        unset, the issuer answers ``access_denied``."""
        self.keys = [SigningKey.make()]
        """Published in the key set; the last one signs."""
        self.requests: dict[str, int] = {"discovery": 0, "jwks": 0, "token": 0}
        self.jwks_failing = False
        """Set: ``/jwks`` answers 503, as an issuer in trouble would."""
        self._other: SigningKey | None = None
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The issuer identifier (the ``iss`` of its tokens)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def key(self) -> SigningKey:
        """The key that signs now."""
        return self.keys[-1]

    def rotate(self, *, keep_old: bool = True) -> SigningKey:
        """Sign with a new key from now on; ``keep_old=False`` withdraws the others."""
        new = SigningKey.make()
        self.keys = [*self.keys, new] if keep_old else [new]
        return new

    def claims(
        self,
        sub: str = "ana",
        roles: list[str] | tuple[str, ...] = ("analyst",),
        groups: list[str] | tuple[str, ...] = (),
        *,
        audience: str | None = None,
        expires_in: float = 300,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The claims ``token()`` signs: roles under ``roles_claim`` (dotted: nested objects)."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.url,
            "sub": sub,
            "aud": audience or self.audience,
            "iat": now,
            "exp": now + int(expires_in),
            "groups": list(groups),
        }
        *parents, leaf = self.roles_claim.split(".")
        place = payload
        for part in parents:
            place = place.setdefault(part, {})
        place[leaf] = list(roles)
        payload.update(extra or {})
        return payload

    def token(
        self,
        sub: str = "ana",
        roles: list[str] | tuple[str, ...] = ("analyst",),
        groups: list[str] | tuple[str, ...] = (),
        *,
        audience: str | None = None,
        expires_in: float = 300,
        signed_by: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A signed access token; ``signed_by="other"`` signs with a key the issuer does not
        publish (under the current key's ``kid``, as a forger would)."""
        payload = self.claims(
            sub, roles, groups, audience=audience, expires_in=expires_in, extra=extra
        )
        return self.sign(payload, signed_by=signed_by)

    def sign(self, payload: dict[str, Any], *, signed_by: str | None = None) -> str:
        key = self.key
        if signed_by == "other":
            self._other = self._other or SigningKey.make()
            key = SigningKey(self.key.kid, self._other.private)
        elif signed_by is not None:
            raise ValueError(f"signed_by is None or 'other', not {signed_by!r}")
        return jwt.encode(payload, key.private, algorithm="RS256", headers={"kid": key.kid})

    # --- the server ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        routes = [
            Route("/.well-known/openid-configuration", self._discovery),
            Route("/jwks", self._jwks),
            Route("/authorize", self._authorize),
            Route("/token", self._token, methods=["POST"]),
        ]
        config = uvicorn.Config(
            Starlette(routes=routes), log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local OIDC issuer did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._socket.close()

    async def _discovery(self, request: Request) -> Response:
        self.requests["discovery"] += 1
        return JSONResponse({
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
        })  # fmt: skip

    async def _jwks(self, request: Request) -> Response:
        self.requests["jwks"] += 1
        if self.jwks_failing:
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        return JSONResponse({"keys": [key.jwk for key in self.keys]})

    async def _authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != self.client_id or not query.get("redirect_uri"):
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        answer: dict[str, str] = {"state": query.get("state", "")}
        if self.next_login is None:
            answer["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._grants[code] = _Grant(
                    self.client_id, query["redirect_uri"], query.get("code_challenge", ""),
                    query.get("nonce"), dict(self.next_login),
                )  # fmt: skip
            answer["code"] = code
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode(answer)}", status_code=302)

    async def _token(self, request: Request) -> Response:
        self.requests["token"] += 1
        form = dict(parse_qsl((await request.body()).decode()))
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)  # a code is good once
        refusal = self._refusal(form, grant)
        if refusal is not None or grant is None:
            return JSONResponse({"error": refusal or "invalid_grant"}, status_code=400)
        login = dict(grant.login)
        sub = login.pop("sub", "ana")
        roles = login.pop("roles", ())
        groups = login.pop("groups", ())
        nonce = {"nonce": grant.nonce} if grant.nonce else {}
        id_token = self.token(sub, roles, groups, audience=self.client_id, extra={**login, **nonce})
        access_token = self.token(sub, roles, groups, extra=login)
        return JSONResponse({
            "access_token": access_token, "id_token": id_token,
            "token_type": "Bearer", "expires_in": 300,
        })  # fmt: skip

    def _refusal(self, form: dict[str, str], grant: _Grant | None) -> str | None:
        """The OAuth error code for a token request that must be refused, else None."""
        if form.get("grant_type") != "authorization_code":
            return "unsupported_grant_type"
        if form.get("client_id") != self.client_id:
            return "invalid_client"
        if self.client_secret is not None and form.get("client_secret") != self.client_secret:
            return "invalid_client"
        if grant is None or grant.client_id != form["client_id"]:
            return "invalid_grant"
        if form.get("redirect_uri") != grant.redirect_uri:
            return "invalid_grant"
        if _s256(form.get("code_verifier", "")) != grant.challenge:
            return "invalid_grant"
        return None
