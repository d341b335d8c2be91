"""Authentication of service owners by JWT, verified against a trusted JWKS file.

Two headers are accepted, as in the service we replace:

* ``Authorization: Bearer <JWT>`` — needs the create scope (``scope`` or ``urn:altinn:scope``,
  space-separated); the creator is the ``urn:altinn:org`` claim.
* ``PlatformAccessToken: <JWT>`` — a platform token; the creator is its ``iss`` claim. When present it
  decides the creator even if a bearer token is also sent.

Missing or invalid tokens give 401; a valid token without the scope or without an org gives 403.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# Only asymmetric algorithms: this rules out "alg: none" and HS256 signed with a public key.
ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class ServiceOwner:
    """The authenticated caller: the creator (org) and what its token allows."""

    org: str | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    platform: bool = False

    is_authenticated = True
    is_anonymous = False

    @property
    def can_create(self) -> bool:
        return self.platform or settings.NOTIFICATIONS_CREATE_SCOPE in self.scopes


class _KeySet:
    """The trusted JWKS, reloaded when its file changes (so keys rotate without a restart)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._signature: tuple[str, float] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}

    def get(self, kid: str | None) -> jwt.PyJWK | None:
        path = Path(settings.NOTIFICATIONS_JWKS_FILE)
        try:
            signature = (str(path), path.stat().st_mtime)
        except OSError:
            logger.error("trusted key set %s is missing; every token is refused", path)
            return None
        with self._lock:
            if signature != self._signature:
                self._keys = self._load(path)
                self._signature = signature
            if kid is None:
                # A token without kid is accepted only when the key set has exactly one key.
                return next(iter(self._keys.values())) if len(self._keys) == 1 else None
            return self._keys.get(kid)

    @staticmethod
    def _load(path: Path) -> dict[str, jwt.PyJWK]:
        keys: dict[str, jwt.PyJWK] = {}
        for entry in json.loads(path.read_text()).get("keys", []):
            try:
                key = jwt.PyJWK.from_dict(entry)
            except jwt.PyJWTError:
                logger.warning("ignoring unusable key %s in the trusted key set", entry.get("kid"))
                continue
            keys[entry.get("kid", "")] = key
        return keys


key_set = _KeySet()


def verify_token(token: str) -> dict[str, Any]:
    """Return the claims of ``token`` or raise AuthenticationFailed."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise exceptions.AuthenticationFailed("The token is malformed.") from exc
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise exceptions.AuthenticationFailed("The token's algorithm is not accepted.")
    key = key_set.get(header.get("kid"))
    if key is None:
        raise exceptions.AuthenticationFailed("The token was signed by an unknown key.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm_name or algorithm],
            options={"require": ["exp"], "verify_aud": False},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError as exc:
        raise exceptions.AuthenticationFailed("The token has expired.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise exceptions.AuthenticationFailed("The token is not yet valid.") from exc
    except jwt.PyJWTError as exc:
        raise exceptions.AuthenticationFailed("The token is invalid.") from exc
    return claims


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    raw = claims.get("scope") or claims.get("urn:altinn:scope") or ""
    if isinstance(raw, list):
        return frozenset(str(item) for item in raw)
    return frozenset(str(raw).split())


class ServiceOwnerAuthentication(BaseAuthentication):
    """DRF authentication from the bearer token and/or the platform access token."""

    def authenticate(self, request: Request) -> tuple[ServiceOwner, str] | None:
        platform_token = request.headers.get("PlatformAccessToken")
        authorization = request.headers.get("Authorization", "")
        bearer: str | None = None
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
            bearer = value.strip()
        if platform_token is None and bearer is None:
            return None
        bearer_claims = verify_token(bearer) if bearer else {}
        if platform_token is not None:
            platform_claims = verify_token(platform_token.strip())
            issuer = platform_claims.get("iss")
            owner = ServiceOwner(
                org=str(issuer) if issuer else None, scopes=_scopes(bearer_claims), platform=True
            )
            return owner, platform_token
        org = bearer_claims.get("urn:altinn:org")
        assert bearer is not None
        return ServiceOwner(org=str(org) if org else None, scopes=_scopes(bearer_claims)), bearer

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing or bad.
        return 'Bearer realm="notifications"'


class IsServiceOwner(BasePermission):
    """Allows a caller with the create scope (or a platform token) and a known creator."""

    message = "The token lacks the notifications scope or the organisation claim."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not isinstance(user, ServiceOwner):
            return False
        return user.can_create and bool(user.org)


def creator_of(request: Request) -> str:
    """The creator (organisation) of an authenticated request."""
    user = request.user
    assert isinstance(user, ServiceOwner)
    assert user.org
    return user.org
