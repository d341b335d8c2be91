"""Development signing keys and token minting (for `issue_token`, the embedded default and tests).

Production trusts a JWKS published by the identity provider and never signs tokens itself.
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


def ensure_dev_keys(jwks_file: Path, signing_key_file: Path) -> None:
    """Create a development key pair and a JWKS trusting it, unless both already exist."""
    if jwks_file.exists() and signing_key_file.exists():
        return
    signing_key_file.parent.mkdir(parents=True, exist_ok=True)
    jwks_file.parent.mkdir(parents=True, exist_ok=True)
    key = generate_rsa_key()
    signing_key_file.write_bytes(private_pem(key))
    signing_key_file.chmod(0o600)
    jwks_file.write_text(json.dumps({"keys": [public_jwk(key, DEV_KID)]}, indent=2))


def mint_token(
    *,
    org: str | None,
    scopes: list[str] | None = None,
    platform: bool = False,
    expires_in: int = 3600,
    signing_key_pem: bytes | None = None,
    kid: str = DEV_KID,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """Sign a service-owner token (bearer) or a platform access token with the development key."""
    if signing_key_pem is None:
        signing_key_pem = Path(settings.NOTIFICATIONS_JWT_SIGNING_KEY_FILE).read_bytes()
    now = int(time.time())
    claims: dict[str, Any] = {"iat": now, "nbf": now, "exp": now + expires_in, "jti": str(uuid.uuid4())}
    if platform:
        if org:
            claims["iss"] = org
        claims["urn:altinn:app"] = "platform.notifications"
    else:
        claims["iss"] = "notifications-dev"
        if org:
            claims["urn:altinn:org"] = org
        claims["scope"] = " ".join(scopes if scopes is not None else [settings.NOTIFICATIONS_CREATE_SCOPE])
    if extra_claims:
        claims.update(extra_claims)
    return jwt.encode(claims, signing_key_pem, algorithm="RS256", headers={"kid": kid})
