"""Shared fixtures: trusted signing keys, tokens and an authenticated API client.

Two key pairs, as in production: the identity provider's (bearer tokens) and the platform's (platform
access tokens). ``make_token(platform=True)`` signs with the platform key, anything else with the
identity provider's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from core.auth import key_set, platform_key_set
from core.tokens import generate_rsa_key, mint_token, private_pem, public_jwk

# skip_guard: in CI, a skipped test fails the run unless tests/allowed_skips.toml lists it.
# pytester: runs pytest inside a test (tests/test_skip_guard.py).
pytest_plugins = ["pytester", "tests.skip_guard"]

TEST_KID = "test-key-1"
PLATFORM_TEST_KID = "test-platform-key-1"
# The application owners whose platform tokens the tests trust; any other issuer is refused.
TRUSTED_PLATFORM_ISSUERS = ["ttd", "digdir", "nav"]


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return generate_rsa_key()


@pytest.fixture(scope="session")
def platform_signing_key() -> rsa.RSAPrivateKey:
    return generate_rsa_key()


@pytest.fixture(scope="session")
def jwks_file(tmp_path_factory: pytest.TempPathFactory, signing_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path_factory.mktemp("keys") / "jwks.json"
    path.write_text(json.dumps({"keys": [public_jwk(signing_key, TEST_KID)]}))
    return path


@pytest.fixture(scope="session")
def platform_jwks_file(
    tmp_path_factory: pytest.TempPathFactory, platform_signing_key: rsa.RSAPrivateKey
) -> Path:
    path = tmp_path_factory.mktemp("platform-keys") / "platform-jwks.json"
    path.write_text(json.dumps({"keys": [public_jwk(platform_signing_key, PLATFORM_TEST_KID)]}))
    return path


@pytest.fixture(autouse=True)
def _trust_test_keys(settings: Any, jwks_file: Path, platform_jwks_file: Path) -> None:
    settings.NOTIFICATIONS_JWKS_FILE = str(jwks_file)
    settings.NOTIFICATIONS_PLATFORM_JWKS_FILE = str(platform_jwks_file)
    settings.NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS = list(TRUSTED_PLATFORM_ISSUERS)


@pytest.fixture
def make_token(signing_key: rsa.RSAPrivateKey, platform_signing_key: rsa.RSAPrivateKey) -> Callable[..., str]:
    pem = private_pem(signing_key)
    platform_pem = private_pem(platform_signing_key)

    def _make(**kwargs: Any) -> str:
        kwargs.setdefault("org", "ttd")
        if kwargs.get("platform"):
            kwargs.setdefault("kid", PLATFORM_TEST_KID)
            kwargs.setdefault("signing_key_pem", platform_pem)
        else:
            kwargs.setdefault("kid", TEST_KID)
            kwargs.setdefault("signing_key_pem", pem)
        return mint_token(**kwargs)

    return _make


@pytest.fixture
def api_client(make_token: Callable[..., str]) -> APIClient:
    """A client authenticated as service owner `ttd` with the create scope."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    return client


@pytest.fixture
def other_client(make_token: Callable[..., str]) -> APIClient:
    """A client authenticated as another service owner (`nav`)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(org='nav')}")
    return client


def _reset_key_cache() -> None:
    key_set.forget()
    platform_key_set.forget()


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    _reset_key_cache()
    yield
    _reset_key_cache()
