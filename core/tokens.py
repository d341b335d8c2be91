"""Development signing keys and token minting (for `issue_token`, the embedded default and tests).

Two development key pairs, as in production: the identity provider's signs bearer tokens, the platform's
signs platform access tokens. Production trusts the JWKS each publishes and never signs tokens itself.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from jwt.algorithms import RSAAlgorithm

DEV_KID = "dev-key-1"
DEV_PLATFORM_KID = "dev-platform-key-1"
DEV_BEARER_ISSUER = "notifications-dev"


def generate_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return jwk


def private_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_dev_keys(jwks_file: Path, signing_key_file: Path, *, kid: str = DEV_KID) -> None:
    """Create a development key pair and a JWKS trusting it, unless both already exist."""
    if jwks_file.exists() and signing_key_file.exists():
        return
    signing_key_file.parent.mkdir(parents=True, exist_ok=True)
    jwks_file.parent.mkdir(parents=True, exist_ok=True)
    key = generate_rsa_key()
    signing_key_file.write_bytes(private_pem(key))
    signing_key_file.chmod(0o600)
    jwks_file.write_text(json.dumps({"keys": [public_jwk(key, kid)]}, indent=2))


def mint_token(
    *,
    org: str | None,
    scopes: list[str] | None = None,
    platform: bool = False,
    app: str | None = None,
    expires_in: int = 3600,
    signing_key_pem: bytes | None = None,
    kid: str | None = None,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """Sign a bearer token (identity provider's key) or a platform access token (platform's key).

    A bearer token names ``org`` in ``urn:altinn:org`` with ``scopes``; a platform access token has ``org``
    as its ``iss`` and names ``app`` (default ``<org>/notifications-dev``) in ``urn:altinn:app``. Entries
    of ``extra_claims`` replace claims, and a None value leaves that claim out.
    """
    if signing_key_pem is None:
        key_file = (
            settings.NOTIFICATIONS_PLATFORM_SIGNING_KEY_FILE
            if platform
            else settings.NOTIFICATIONS_JWT_SIGNING_KEY_FILE
        )
        signing_key_pem = Path(key_file).read_bytes()
    if kid is None:
        kid = DEV_PLATFORM_KID if platform else DEV_KID
    now = int(time.time())
    claims: dict[str, Any] = {"iat": now, "nbf": now, "exp": now + expires_in, "jti": str(uuid.uuid4())}
    if platform:
        if org:
            claims["iss"] = org
        claims["urn:altinn:app"] = app or f"{org or 'unknown'}/notifications-dev"
    else:
        claims["iss"] = DEV_BEARER_ISSUER
        if org:
            claims["urn:altinn:org"] = org
        claims["scope"] = " ".join(scopes if scopes is not None else [settings.NOTIFICATIONS_CREATE_SCOPE])
    for name, value in (extra_claims or {}).items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, signing_key_pem, algorithm="RS256", headers={"kid": kid})
