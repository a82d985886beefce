"""OpenID Connect against a real provider on a loopback port (tests/oidc_issuer.py): bearer tokens
checked against its published keys, and the browser sign-in with PKCE end to end."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from sdgcube.auth.oidc import Claims, LoginStart, OidcLogin, TokenVerifier
from sdgcube.errors import ConfigError, Unauthenticated
from sdgcube.settings import OidcSettings
from tests.oidc_issuer import LocalIssuer, SigningKey

REDIRECT = "http://127.0.0.1:9/auth/callback"  # never followed: the test reads the Location


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        yield running


def _settings(issuer: LocalIssuer, /, **changes: Any) -> OidcSettings:
    fields: dict[str, Any] = {
        "issuer": issuer.url,
        "audience": issuer.audience,
        "roles_claim": "realm_access.roles",
        "client_id": issuer.client_id,
    }
    return OidcSettings(**{**fields, **changes})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _forged(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None) -> str:
    """A JWT signed by hand: HMAC-SHA256 with ``secret``, or no signature at all."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = b"" if secret is None else hmac.digest(secret, signing_input.encode(), "sha256")
    return f"{signing_input}.{_b64(signature)}"


def test_a_valid_token_names_the_user_their_roles_and_groups(issuer: LocalIssuer) -> None:
    token = issuer.token("ana", ["analyst", "publisher"], ["/ministry", "/unit-7"])

    claims = TokenVerifier(_settings(issuer)).verify(token)

    assert claims == Claims("ana", ("analyst", "publisher"), ("/ministry", "/unit-7"))


def test_claims_come_from_the_configured_names(issuer: LocalIssuer) -> None:
    token = issuer.token(extra={"preferred_username": "ana.m", "roles": "viewer", "team": ["x"]})
    settings = _settings(
        issuer, user_claim="preferred_username", roles_claim="roles", groups_claim="team"
    )

    claims = TokenVerifier(settings).verify(token)

    assert claims == Claims("ana.m", ("viewer",), ("x",))  # a lone role as a string: one role


def test_a_token_without_roles_or_groups_has_none(issuer: LocalIssuer) -> None:
    token = issuer.token(roles=[], extra={"groups": None})
    claims = TokenVerifier(_settings(issuer, roles_claim="nowhere.roles")).verify(token)
    assert claims == Claims("ana", (), ())


def _expired(issuer: LocalIssuer) -> str:
    return issuer.token(expires_in=-120)  # beyond the default 60 s of skew


def _no_subject(issuer: LocalIssuer) -> str:
    payload = issuer.claims()
    del payload["sub"]
    return issuer.sign(payload)


def _roles_not_names(issuer: LocalIssuer) -> str:
    return issuer.sign(issuer.claims(extra={"realm_access": {"roles": [{"name": "admin"}]}}))


def _alg_none(issuer: LocalIssuer) -> str:
    return _forged({"alg": "none", "typ": "JWT", "kid": issuer.key.kid}, issuer.claims(), None)


def _hs256_with_public_key(issuer: LocalIssuer) -> str:
    # The classic confusion attack: the published key used as an HMAC secret.
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.key.kid}
    return _forged(header, issuer.claims(), issuer.key.public_pem)


def _tampered(issuer: LocalIssuer) -> str:
    header, _, signature = issuer.token().split(".")
    payload = _b64(json.dumps(issuer.claims(roles=["admin"])).encode())
    return f"{header}.{payload}.{signature}"


REFUSED: list[tuple[str, Callable[[LocalIssuer], str], str]] = [
    ("expired", _expired, "the token has expired"),
    ("audience", lambda i: i.token(audience="another-api"), "for another audience"),
    ("issuer", lambda i: i.token(extra={"iss": "http://127.0.0.1:1"}), "from another issuer"),
    ("other key", lambda i: i.token(signed_by="other"), "signature does not verify"),
    ("tampered", _tampered, "signature does not verify"),
    ("alg none", _alg_none, "'none', which this server refuses"),
    ("HS256 public key", _hs256_with_public_key, "'HS256', which this server refuses"),
    ("not yet valid", lambda i: i.token(extra={"nbf": time.time() + 600}), "not valid yet"),
    ("issued later", lambda i: i.token(extra={"iat": time.time() + 600}), "not valid yet"),
    ("no expiry", lambda i: i.sign({**i.claims(), "exp": None}), "no 'exp' claim"),
    ("no subject", _no_subject, "no 'sub' claim"),
    ("roles not names", _roles_not_names, "is not a list of names"),
    ("garbage", lambda i: "not.a.jwt", "not a well-formed JWT"),
    ("empty", lambda i: "", "not a well-formed JWT"),
]


@pytest.mark.parametrize(("make", "reason"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_a_bad_token_is_refused_with_the_reason_and_without_the_token(
    issuer: LocalIssuer, make: Callable[[LocalIssuer], str], reason: str
) -> None:
    token = make(issuer)
    with pytest.raises(Unauthenticated, match=reason) as refused:
        TokenVerifier(_settings(issuer)).verify(token)
    assert not token or token not in str(refused.value)


def test_the_same_token_passes_with_the_right_audience(issuer: LocalIssuer) -> None:
    # The audience case above fails for its audience alone: the same kind of token, for us, passes.
    token = issuer.token(audience="another-api")
    assert TokenVerifier(_settings(issuer, audience="another-api")).verify(token).user == "ana"


@pytest.mark.parametrize(("skew", "accepted"), [(60.0, True), (0.0, False)])
def test_clock_skew_lets_a_just_expired_token_through(
    issuer: LocalIssuer, skew: float, accepted: bool
) -> None:
    token = issuer.token(expires_in=-30)
    verifier = TokenVerifier(_settings(issuer, clock_skew_s=skew))
    if accepted:
        assert verifier.verify(token).user == "ana"
    else:
        with pytest.raises(Unauthenticated, match="expired"):
            verifier.verify(token)


def test_tokens_from_a_rotated_key_verify_and_withdrawn_keys_stop() -> None:
    with LocalIssuer() as issuer:
        verifier = TokenVerifier(_settings(issuer))
        old = issuer.token()
        assert verifier.verify(old).user == "ana"

        issuer.rotate(keep_old=False)
        assert verifier.verify(issuer.token(sub="bea")).user == "bea"  # new kid: one refetch

        assert issuer.requests["jwks"] == 2
        with pytest.raises(Unauthenticated, match="does not publish"):
            verifier.verify(old)


def test_unknown_keys_refetch_once_per_cooldown() -> None:
    with LocalIssuer() as issuer:
        verifier = TokenVerifier(_settings(issuer), refetch_cooldown_s=60)
        verifier.verify(issuer.token())
        stranger = SigningKey.make()
        forged = jwt.encode(issuer.claims(), stranger.private, "RS256", {"kid": stranger.kid})

        for _ in range(3):
            with pytest.raises(Unauthenticated, match="does not publish"):
                verifier.verify(forged)

        assert issuer.requests["jwks"] == 2  # the first fetch, then one forced by the unknown kid


def test_many_threads_share_one_discovery_and_key_set() -> None:
    with LocalIssuer() as issuer:
        verifier = TokenVerifier(_settings(issuer))
        tokens = [issuer.token(f"user-{n}") for n in range(32)]

        with ThreadPoolExecutor(8) as pool:
            users = [claims.user for claims in pool.map(verifier.verify, tokens)]

        assert users == [f"user-{n}" for n in range(32)]
        assert issuer.requests["discovery"] == 1
        assert issuer.requests["jwks"] == 1


@pytest.mark.parametrize("jwks_from", ["discovery", "settings"])
def test_an_unreachable_issuer_is_said_so(jwks_from: str) -> None:
    with LocalIssuer() as issuer:
        token = issuer.token()
        settings = _settings(
            issuer, jwks_url=f"{issuer.url}/jwks" if jwks_from == "settings" else None
        )
        verifier = TokenVerifier(settings)  # built while the issuer runs: no call made
    assert issuer.requests == {"discovery": 0, "jwks": 0, "token": 0}

    with pytest.raises(Unauthenticated, match="the issuer cannot be reached"):
        verifier.verify(token)


def test_requests_waiting_on_a_failing_issuer_fail_at_once() -> None:
    with LocalIssuer() as issuer:
        issuer.jwks_failing = True
        verifier = TokenVerifier(_settings(issuer))
        token = issuer.token()
        for _ in range(3):
            with pytest.raises(Unauthenticated, match="the issuer cannot be reached"):
                verifier.verify(token)

        assert issuer.requests["jwks"] == 1


def test_known_keys_outlive_a_short_outage_of_the_issuer() -> None:
    with LocalIssuer() as issuer:
        # Lifespan 0: every verify asks the issuer for its keys again.
        verifier = TokenVerifier(_settings(issuer), keys_lifespan_s=0)
        verifier.verify(issuer.token())
        token = issuer.token(sub="bea")

    assert verifier.verify(token).user == "bea"


def test_an_unknown_key_during_an_outage_does_not_lock_out_known_ones() -> None:
    with LocalIssuer() as issuer:
        verifier = TokenVerifier(_settings(issuer))
        verifier.verify(issuer.token())
        known = issuer.token(sub="bea")
        stranger = SigningKey.make()
        unknown = jwt.encode(issuer.claims(), stranger.private, "RS256", {"kid": stranger.kid})

    with pytest.raises(Unauthenticated, match="the issuer cannot be reached"):
        verifier.verify(unknown)  # the refetch it forces fails
    assert verifier.verify(known).user == "bea"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"issuer": None}, "issuer URL"),
        ({"audience": None}, "audience"),
        ({"algorithms": ["RS256", "HS256"]}, "'HS256' is not allowed"),
        ({"algorithms": ["none"]}, "'none' is not allowed"),
        ({"algorithms": ["RS999"]}, "unknown OIDC signature algorithm"),
        ({"algorithms": []}, "no OIDC signature algorithm"),
    ],
)
def test_a_verifier_needs_a_safe_configuration(
    issuer: LocalIssuer, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        TokenVerifier(_settings(issuer, **changes))


@pytest.mark.parametrize("missing", ["issuer", "client_id"])
def test_browser_sign_in_needs_an_issuer_and_a_client_id(issuer: LocalIssuer, missing: str) -> None:
    with pytest.raises(ConfigError, match="client id"):
        OidcLogin(_settings(issuer, **{missing: None}))


def _authorize(start: LoginStart) -> dict[str, str]:
    """Follow the browser's first hop; the issuer's redirect carries the code and the state."""
    response = httpx.get(start.url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def test_browser_sign_in_with_pkce_names_who_signed_in(issuer: LocalIssuer) -> None:
    issuer.next_login = {"sub": "ana", "roles": ["analyst"], "groups": ["/ministry"]}
    login = OidcLogin(_settings(issuer))

    start = login.start(REDIRECT)
    query = parse_qs(urlsplit(start.url).query)
    back = _authorize(start)

    assert back["state"] == start.state
    assert query["code_challenge_method"] == ["S256"]
    assert start.code_verifier not in start.url  # only its hash travels through the browser
    claims = login.finish(
        back["code"], code_verifier=start.code_verifier, nonce=start.nonce, redirect_uri=REDIRECT
    )
    assert claims == Claims("ana", ("analyst",), ("/ministry",))


def _finish(login: OidcLogin, start: LoginStart, code: str, **changes: str) -> Claims:
    values = {"code_verifier": start.code_verifier, "nonce": start.nonce, "redirect_uri": REDIRECT}
    return login.finish(code, **{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"code_verifier": "a-verifier-the-issuer-never-saw-hashed-0123456789"}, "refused"),
        ({"redirect_uri": "http://127.0.0.1:9/elsewhere"}, "refused"),
        ({"nonce": "another-sign-in"}, "nonce"),
    ],
    ids=["code verifier", "redirect uri", "nonce"],
)
def test_a_sign_in_that_does_not_match_its_start_is_refused(
    issuer: LocalIssuer, changes: dict[str, Any], reason: str
) -> None:
    issuer.next_login = {"sub": "ana"}
    login = OidcLogin(_settings(issuer))
    start = login.start(REDIRECT)
    code = _authorize(start)["code"]

    with pytest.raises(Unauthenticated, match=reason):
        _finish(login, start, code, **changes)


def test_a_code_is_good_once(issuer: LocalIssuer) -> None:
    issuer.next_login = {"sub": "ana"}
    login = OidcLogin(_settings(issuer))
    start = login.start(REDIRECT)
    code = _authorize(start)["code"]

    assert _finish(login, start, code).user == "ana"
    with pytest.raises(Unauthenticated, match="refused the sign-in: invalid_grant"):
        _finish(login, start, code)


@pytest.mark.parametrize(("secret", "accepted"), [("s3cret", True), ("wrong", False)])
def test_a_confidential_client_sends_its_secret(secret: str, accepted: bool) -> None:
    with LocalIssuer(client_secret="s3cret") as issuer:
        issuer.next_login = {"sub": "ana"}
        login = OidcLogin(_settings(issuer, client_secret=secret))
        start = login.start(REDIRECT)
        code = _authorize(start)["code"]
        if accepted:
            assert _finish(login, start, code).user == "ana"
        else:
            with pytest.raises(Unauthenticated, match="invalid_client"):
                _finish(login, start, code)


def test_sign_in_with_an_unreachable_issuer_is_said_so() -> None:
    with LocalIssuer() as issuer:
        login = OidcLogin(_settings(issuer))
    with pytest.raises(Unauthenticated, match="the issuer cannot be reached"):
        login.start(REDIRECT)


def test_pkce_challenge_is_the_s256_of_the_verifier(issuer: LocalIssuer) -> None:
    start = OidcLogin(_settings(issuer)).start(REDIRECT)
    challenge = parse_qs(urlsplit(start.url).query)["code_challenge"][0]
    digest = hashlib.sha256(start.code_verifier.encode()).digest()
    assert challenge == _b64(digest)
    assert len({start.state, start.code_verifier, start.nonce}) == 3


def test_importing_the_module_leaves_pyjwt_and_httpx_unloaded() -> None:
    code = "import sys, sdgcube.auth.oidc; print(sorted({'jwt', 'httpx'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
