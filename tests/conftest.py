"""Shared fixtures: trusted signing keys, tokens and an authenticated API client."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from notifications_project.auth import key_set
from notifications_project.tokens import generate_rsa_key, mint_token, private_pem, public_jwk

TEST_KID = "test-key-1"


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return generate_rsa_key()


@pytest.fixture(scope="session")
def jwks_file(tmp_path_factory: pytest.TempPathFactory, signing_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path_factory.mktemp("keys") / "jwks.json"
    path.write_text(json.dumps({"keys": [public_jwk(signing_key, TEST_KID)]}))
    return path


@pytest.fixture(autouse=True)
def _trust_test_keys(settings: Any, jwks_file: Path) -> Iterator[None]:
    settings.NOTIFICATIONS_JWKS_FILE = str(jwks_file)
    return


@pytest.fixture
def make_token(signing_key: rsa.RSAPrivateKey) -> Callable[..., str]:
    pem = private_pem(signing_key)

    def _make(**kwargs: Any) -> str:
        kwargs.setdefault("org", "ttd")
        kwargs.setdefault("kid", TEST_KID)
        return mint_token(signing_key_pem=pem, **kwargs)

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
    key_set._signature = None


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    _reset_key_cache()
    yield
    _reset_key_cache()
