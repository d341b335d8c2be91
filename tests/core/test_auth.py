"""The authentication contract, one rule per test."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from rest_framework.test import APIClient

from core.tokens import generate_rsa_key, mint_token, private_pem

WHOAMI = "/notifications/api/v1/whoami"


def _get(token: str | None = None, *, platform: str | None = None) -> tuple[int, dict, str]:
    client = APIClient()
    headers = {}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if platform is not None:
        headers["HTTP_PLATFORMACCESSTOKEN"] = platform
    response = client.get(WHOAMI, **headers)
    return response.status_code, response.json(), response["Content-Type"]


def test_valid_bearer_token_authenticates_as_its_org(make_token: Callable[..., str]) -> None:
    status, body, _ = _get(make_token(org="ttd"))
    assert status == 200
    assert body["creator"] == "ttd"
    assert body["platformAccessToken"] is False


def test_missing_token_is_401_problem_details() -> None:
    status, body, content_type = _get()
    assert status == 401
    assert content_type == "application/problem+json"
    assert body["status"] == 401


def test_expired_token_is_401(make_token: Callable[..., str]) -> None:
    status, body, _ = _get(make_token(expires_in=-120))
    assert status == 401
    assert "expired" in body["detail"]


def test_a_token_expired_a_second_ago_is_refused_without_clock_skew(make_token: Callable[..., str]) -> None:
    status, body, _ = _get(make_token(expires_in=-1))

    assert status == 401
    assert body["detail"] == "The token has expired."


def test_the_leeway_setting_widens_the_expiry(make_token: Callable[..., str], settings) -> None:
    settings.NOTIFICATIONS_JWT_LEEWAY_SECONDS = 60

    assert _get(make_token(expires_in=-1))[0] == 200
    assert _get(make_token(expires_in=-120))[0] == 401


def test_not_yet_valid_token_is_401(make_token: Callable[..., str]) -> None:
    import time

    status, body, _ = _get(make_token(extra_claims={"nbf": int(time.time()) + 600}))
    assert status == 401
    assert "not yet valid" in body["detail"]


def test_token_signed_by_unknown_key_is_401() -> None:
    other = private_pem(generate_rsa_key())
    status, _, _ = _get(mint_token(org="ttd", signing_key_pem=other, kid="test-key-1"))
    assert status == 401


def test_token_with_unknown_kid_is_401(make_token: Callable[..., str]) -> None:
    status, body, _ = _get(make_token(kid="no-such-key"))
    assert status == 401
    assert "unknown key" in body["detail"]


def test_alg_none_token_is_401(make_token: Callable[..., str]) -> None:
    claims = jwt.decode(make_token(), options={"verify_signature": False})
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "test-key-1"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    status, _, _ = _get(f"{header.decode()}.{body.decode()}.")
    assert status == 401


def test_hs256_signed_with_the_public_key_is_401(make_token: Callable[..., str], signing_key) -> None:
    claims = jwt.decode(make_token(), options={"verify_signature": False})
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "HS256", "kid": "test-key-1", "typ": "JWT"}).encode()
    )
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode())
    import hashlib
    import hmac

    signing_input = header.rstrip(b"=") + b"." + payload.rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
    status, _, _ = _get((signing_input + b"." + signature.rstrip(b"=")).decode())
    assert status == 401


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", ""])
def test_garbage_token_is_401(garbage: str) -> None:
    client = APIClient()
    response = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {garbage}")
    assert response.status_code == 401


def test_wrong_authorization_scheme_is_401(make_token: Callable[..., str]) -> None:
    response = APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"Basic {make_token()}")
    assert response.status_code == 401


def test_token_without_the_create_scope_is_403(make_token: Callable[..., str]) -> None:
    status, body, content_type = _get(make_token(scopes=["altinn:something.else"]))
    assert status == 403
    assert content_type == "application/problem+json"


def test_scope_in_urn_altinn_scope_claim_is_accepted(make_token: Callable[..., str]) -> None:
    token = make_token(
        scopes=[], extra_claims={"urn:altinn:scope": "x altinn:serviceowner/notifications.create"}
    )
    status, body, _ = _get(token)
    assert status == 200
    assert body["creator"] == "ttd"


def test_token_without_org_is_403(make_token: Callable[..., str]) -> None:
    status, _, _ = _get(make_token(org=None))
    assert status == 403


def test_platform_token_authenticates_with_iss_as_creator(make_token: Callable[..., str]) -> None:
    status, body, _ = _get(platform=make_token(org="digdir", platform=True))
    assert status == 200
    assert body == {"creator": "digdir", "scopes": [], "platformAccessToken": True}


def test_platform_token_decides_creator_over_bearer(make_token: Callable[..., str]) -> None:
    status, body, _ = _get(make_token(org="ttd"), platform=make_token(org="digdir", platform=True))
    assert status == 200
    assert body["creator"] == "digdir"


def test_expired_platform_token_is_401(make_token: Callable[..., str]) -> None:
    status, _, _ = _get(platform=make_token(org="digdir", platform=True, expires_in=-120))
    assert status == 401


def test_rotated_key_set_is_picked_up_without_restart(settings, tmp_path, make_token) -> None:
    from core.tokens import public_jwk

    new_key = generate_rsa_key()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public_jwk(new_key, "rotated")]}))
    settings.NOTIFICATIONS_JWKS_FILE = str(jwks)
    assert _get(make_token())[0] == 401
    token = mint_token(org="ttd", signing_key_pem=private_pem(new_key), kid="rotated")
    assert _get(token)[0] == 200


def test_issue_token_command_mints_a_token_the_service_accepts(settings, tmp_path, capsys) -> None:
    from django.core.management import call_command

    from core.tokens import ensure_dev_keys

    ensure_dev_keys(tmp_path / "jwks.json", tmp_path / "key.pem")
    settings.NOTIFICATIONS_JWKS_FILE = str(tmp_path / "jwks.json")
    settings.NOTIFICATIONS_JWT_SIGNING_KEY_FILE = str(tmp_path / "key.pem")
    call_command("issue_token", "--org", "skd", "--expires", "60")
    token = capsys.readouterr().out.strip()
    status, body, _ = _get(token)
    assert (status, body["creator"]) == (200, "skd")
