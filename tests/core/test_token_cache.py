"""Remembered token verifications (core/token_cache.py) answer exactly as a full verification would."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from core.auth import key_set, platform_key_set, verify_token
from core.token_cache import VerifiedTokens, digest, remembered
from core.tokens import generate_rsa_key, mint_token, private_pem, public_jwk
from tests.conftest import TEST_KID

WHOAMI = "/notifications/api/v1/whoami"


def _get(token: str | None = None, *, platform: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if platform is not None:
        headers["HTTP_PLATFORMACCESSTOKEN"] = platform
    response = APIClient().get(WHOAMI, **headers)
    return response.status_code, response.json()


def _remembered(token: str, keys: Any = key_set) -> bool:
    return keys.verified.get(digest(token)) is not None


def test_a_verified_token_is_remembered_and_answers_the_same(make_token: Callable[..., str]) -> None:
    token = make_token(org="ttd", extra_claims={"sub": "user-1"})

    first = _get(token)
    assert _remembered(token)
    assert _get(token) == first == (200, first[1])
    assert first[1]["creator"] == "ttd"
    # The claims from memory are the claims of a full verification, and a copy callers may not spoil.
    claims = verify_token(token)
    claims["urn:altinn:org"] = "nav"
    assert verify_token(token) == jwt.decode(token, options={"verify_signature": False})


def test_a_remembered_token_still_expires_at_its_exp(make_token: Callable[..., str]) -> None:
    with time_machine.travel(1_900_000_000, tick=False):
        token = make_token(expires_in=60)
        assert _get(token)[0] == 200
        assert _remembered(token)
    with time_machine.travel(1_900_000_059, tick=False):
        assert _get(token)[0] == 200
    with time_machine.travel(1_900_000_060, tick=False):
        status, body = _get(token)
    assert status == 401
    assert body["detail"] == "The token has expired."


def test_a_lowered_leeway_applies_to_remembered_tokens(make_token: Callable[..., str], settings: Any) -> None:
    settings.NOTIFICATIONS_JWT_LEEWAY_SECONDS = 60
    token = make_token(expires_in=-1)
    assert _get(token)[0] == 200
    assert _remembered(token)

    settings.NOTIFICATIONS_JWT_LEEWAY_SECONDS = 0
    status, body = _get(token)
    assert status == 401
    assert body["detail"] == "The token has expired."


def test_a_remembered_token_is_not_valid_before_its_nbf(
    make_token: Callable[..., str], settings: Any
) -> None:
    settings.NOTIFICATIONS_JWT_LEEWAY_SECONDS = 60
    with time_machine.travel(1_900_000_000, tick=False):
        token = make_token(extra_claims={"nbf": 1_900_000_030})
        assert _get(token)[0] == 200
        assert _remembered(token)
    with time_machine.travel(1_900_000_000 - 31, tick=False):
        status, body = _get(token)
    assert status == 401
    assert body["detail"] == "The token is not yet valid."


def _write_jwks(path: Path, *keys: tuple[rsa.RSAPrivateKey, str]) -> None:
    path.write_text(json.dumps({"keys": [public_jwk(key, kid) for key, kid in keys]}))


def test_a_key_removed_from_the_set_stops_its_remembered_tokens_at_the_reload(
    settings: Any, tmp_path: Path
) -> None:
    kept, removed = generate_rsa_key(), generate_rsa_key()
    jwks = tmp_path / "jwks.json"
    _write_jwks(jwks, (kept, "kept"), (removed, "removed"))
    settings.NOTIFICATIONS_JWKS_FILE = str(jwks)
    by_removed = mint_token(org="ttd", signing_key_pem=private_pem(removed), kid="removed")
    by_kept = mint_token(org="ttd", signing_key_pem=private_pem(kept), kid="kept")
    assert _get(by_removed)[0] == _get(by_kept)[0] == 200
    assert _remembered(by_removed)
    assert _remembered(by_kept)

    _write_jwks(jwks, (kept, "kept"))  # another size: the key set reloads on its next use

    status, body = _get(by_removed)
    assert status == 401
    assert body["detail"] == "The token was signed by an unknown key."
    assert not _remembered(by_removed)
    assert _get(by_kept)[0] == 200


def test_a_kid_given_to_another_key_stops_the_old_keys_remembered_tokens(
    settings: Any, tmp_path: Path
) -> None:
    old, new = generate_rsa_key(), generate_rsa_key()
    jwks = tmp_path / "jwks.json"
    _write_jwks(jwks, (old, "k1"))
    settings.NOTIFICATIONS_JWKS_FILE = str(jwks)
    token = mint_token(org="ttd", signing_key_pem=private_pem(old), kid="k1")
    assert _get(token)[0] == 200

    _write_jwks(jwks, (new, "k1"))
    key_set.forget()  # a rewrite within the file's timestamp resolution and of the same size

    status, body = _get(token)
    assert status == 401
    assert body["detail"] == "The token is invalid."


def test_a_tampered_signature_is_not_served_from_memory(
    make_token: Callable[..., str], signing_key: rsa.RSAPrivateKey
) -> None:
    token = make_token(org="ttd")
    assert _get(token)[0] == 200
    assert _remembered(token)
    header_and_payload, _, signature = token.rpartition(".")

    other = mint_token(org="ttd", signing_key_pem=private_pem(generate_rsa_key()), kid=TEST_KID)
    resigned = f"{header_and_payload}.{other.rpartition('.')[2]}"
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 1
    flipped = f"{header_and_payload}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"

    for tampered in (resigned, flipped, token + "A", token[:-1]):
        if tampered == token:
            continue
        status, body = _get(tampered)
        assert status == 401, tampered
        assert body["detail"] in {"The token is invalid.", "The token is malformed."}
        assert not _remembered(tampered)


def test_a_remembered_token_of_one_kind_does_not_pass_as_the_other(make_token: Callable[..., str]) -> None:
    bearer = make_token(org="ttd")
    platform = make_token(org="digdir", platform=True)
    assert _get(bearer)[0] == 200
    assert _get(platform=platform)[0] == 200
    assert _remembered(bearer, key_set)
    assert _remembered(platform, platform_key_set)

    status, body = _get(platform)
    assert status == 401
    assert body["detail"] == "The token was signed by an unknown key."
    status, body = _get(platform=bearer)
    assert status == 401
    assert body["detail"] == "The token was signed by an unknown key."
    assert not _remembered(platform, key_set)
    assert not _remembered(bearer, platform_key_set)


def test_failures_are_not_remembered(make_token: Callable[..., str]) -> None:
    for token in (make_token(expires_in=-5), make_token(kid="no-such-key"), "not.a.token"):
        assert _get(token)[0] == 401
    assert len(key_set.verified) == 0


def test_scope_and_issuer_are_checked_on_every_request(make_token: Callable[..., str], settings: Any) -> None:
    token = make_token(org="ttd", extra_claims={"iss": "idp-a"})
    assert _get(token)[0] == 200
    assert _remembered(token)

    settings.NOTIFICATIONS_JWT_ISSUERS = ["idp-b"]
    status, body = _get(token)
    assert status == 401
    assert body["detail"] == "The token's issuer is not trusted."


def test_the_memory_is_bounded_least_recently_used_first_out() -> None:
    tokens = VerifiedTokens(max_entries=2)
    entry = remembered({"exp": 10}, None, jwt.PyJWK.from_dict(public_jwk(generate_rsa_key(), "k")))
    tokens.put(b"a", entry)
    tokens.put(b"b", entry)
    assert tokens.get(b"a") is entry  # now the most recently used
    tokens.put(b"c", entry)

    assert len(tokens) == 2
    assert tokens.get(b"b") is None
    assert tokens.get(b"a") is entry
    assert tokens.get(b"c") is entry
