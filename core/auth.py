"""Authentication of service owners by JWT: bearer tokens and platform access tokens.

Two kinds of token, as in the service we replace, each verified only against its own trusted key set:

* ``Authorization: Bearer <JWT>`` — issued by the identity provider, verified against
  ``NOTIFICATIONS_JWKS_FILE``. Needs the create scope (``scope`` or ``urn:altinn:scope``, space-separated);
  the creator is the ``urn:altinn:org`` claim. It must not carry ``urn:altinn:app``. Where configured, its
  ``iss`` must be one of ``NOTIFICATIONS_JWT_ISSUERS`` and its ``aud`` include ``NOTIFICATIONS_JWT_AUDIENCE``.
* ``PlatformAccessToken: <JWT>`` — issued by an application owner's app through the platform, verified
  against ``NOTIFICATIONS_PLATFORM_JWKS_FILE``. Its ``iss`` must be in
  ``NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS`` and is the creator; it must name the application in
  ``urn:altinn:app`` and must not carry ``urn:altinn:org`` or a scope. When present it decides the creator
  even if a bearer token is also sent (both must then be valid).

The claims each kind must not carry keep the kinds apart even if one key were trusted for both; a system
check also refuses that configuration. Without a platform key set, platform tokens are refused.

Missing or invalid tokens, and a creator claim no creator column can hold, give 401; a valid bearer token
without the scope or without an org gives 403.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core import checks
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.token_cache import Verified, VerifiedTokens, digest, remembered

if TYPE_CHECKING:
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# Only asymmetric algorithms: this rules out "alg: none" and HS256 signed with a public key.
ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]

ORG_CLAIM = "urn:altinn:org"
APP_CLAIM = "urn:altinn:app"
SCOPE_CLAIMS = ("scope", "urn:altinn:scope")
# Claims that only the other kind of token carries: their presence means the token is of that kind.
PLATFORM_ONLY_CLAIMS = frozenset({APP_CLAIM})
BEARER_ONLY_CLAIMS = frozenset({ORG_CLAIM, *SCOPE_CLAIMS})

# The creator is stored in CharField(max_length=100) columns (orders, chains, feeds, ...); a test holds
# every such column to at least this length. Org codes are short ASCII names such as "ttd" or "digdir".
CREATOR_MAX_LENGTH = 100
_CREATOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class ServiceOwner:
    """The authenticated caller: the creator (org) and what its token allows."""

    org: str | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    platform: bool = False
    # The token's `sub`, when it has one: who (not only which organisation) called, for audit entries.
    subject: str | None = None

    is_authenticated = True
    is_anonymous = False

    @property
    def can_create(self) -> bool:
        return self.platform or settings.NOTIFICATIONS_CREATE_SCOPE in self.scopes


class KeySet:
    """A trusted JWKS named by a setting, reloaded when its file changes (keys rotate without a restart)."""

    def __init__(self, setting: str, description: str) -> None:
        self.setting = setting
        self.description = description
        self._lock = threading.Lock()
        self._signature: tuple[str, int, int] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        # Tokens verified by these keys (core/token_cache.py): valid only while their key object is current.
        self.verified = VerifiedTokens()

    @property
    def path(self) -> Path | None:
        value = str(getattr(settings, self.setting, "") or "")
        return Path(value) if value else None

    def forget(self) -> None:
        """Drop the cached keys, so the file is read again on the next use."""
        with self._lock:
            self._signature = None
            self._keys = {}
        self.verified.clear()

    def keys(self, *, report_missing: bool = True) -> dict[str, jwt.PyJWK]:
        """The usable keys by kid; empty when the set is not configured, missing or unreadable."""
        # The setting's text and os.stat, not self.path: this runs on every authenticated request.
        path = str(getattr(settings, self.setting, "") or "")
        if not path:
            return {}
        try:
            stat = os.stat(path)
        except OSError:
            if report_missing:
                logger.error("%s %s is missing; every token of that kind is refused", self.description, path)
            return {}
        signature = (path, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if signature != self._signature:
                self._keys = self._load(Path(path))
                self._signature = signature
            return self._keys

    def get(self, kid: str | None) -> jwt.PyJWK | None:
        keys = self.keys()
        if kid is None:
            # A token without kid is accepted only when the key set has exactly one key.
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid)

    def _load(self, path: Path) -> dict[str, jwt.PyJWK]:
        try:
            document = json.loads(path.read_text())
            entries = document.get("keys", []) if isinstance(document, dict) else None
        except (OSError, ValueError):
            entries = None
        if not isinstance(entries, list):
            logger.error("%s %s is not a JWKS; every token of that kind is refused", self.description, path)
            return {}
        keys: dict[str, jwt.PyJWK] = {}
        for entry in entries:
            kid = entry.get("kid", "") if isinstance(entry, dict) else ""
            try:
                key = jwt.PyJWK.from_dict(entry)
            except (jwt.PyJWTError, AttributeError, TypeError, ValueError):
                logger.warning("ignoring unusable key %r in the %s", kid, self.description)
                continue
            keys[str(kid)] = key
        return keys


key_set = KeySet("NOTIFICATIONS_JWKS_FILE", "trusted key set")
platform_key_set = KeySet("NOTIFICATIONS_PLATFORM_JWKS_FILE", "trusted platform key set")


def verify_token(token: str, keys: KeySet = key_set) -> dict[str, Any]:
    """Return the claims of ``token`` signed by a key of ``keys``, or raise AuthenticationFailed.

    A token this process verified before is answered from ``keys.verified`` (core/token_cache.py) while
    the key that verified it is still in the set and its time claims hold; anything else is verified in
    full, and only a success is remembered.
    """
    token_digest = digest(token)
    known = keys.verified.get(token_digest)
    if known is not None:
        if keys.get(known.kid) is known.key:
            _check_times(known)
            return dict(known.claims)
        keys.verified.discard(token_digest)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise exceptions.AuthenticationFailed("The token is malformed.") from exc
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise exceptions.AuthenticationFailed("The token's algorithm is not accepted.")
    kid = header.get("kid")
    lookup = kid if isinstance(kid, str) or kid is None else str(kid)
    key = keys.get(lookup)
    if key is None:
        raise exceptions.AuthenticationFailed("The token was signed by an unknown key.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm_name or algorithm],
            options={"require": ["exp"], "verify_aud": False},
            # No skew by default, as the reference: an expired token is refused at once.
            leeway=settings.NOTIFICATIONS_JWT_LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError as exc:
        raise exceptions.AuthenticationFailed("The token has expired.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise exceptions.AuthenticationFailed("The token is not yet valid.") from exc
    except jwt.PyJWTError as exc:
        raise exceptions.AuthenticationFailed("The token is invalid.") from exc
    keys.verified.put(token_digest, remembered(claims, lookup, key))
    return dict(claims)


def _check_times(known: Verified) -> None:
    """A remembered token's ``exp``, ``nbf`` and ``iat`` now, as ``jwt.decode`` checks them."""
    now = time.time()
    leeway = settings.NOTIFICATIONS_JWT_LEEWAY_SECONDS
    if known.expires <= now - leeway:
        raise exceptions.AuthenticationFailed("The token has expired.")
    if known.not_before is not None and known.not_before > now + leeway:
        raise exceptions.AuthenticationFailed("The token is not yet valid.")


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    raw = claims.get("scope") or claims.get("urn:altinn:scope") or ""
    if isinstance(raw, list):
        return frozenset(str(item) for item in raw)
    return frozenset(str(raw).split())


def _creator(value: Any, claim: str) -> str | None:
    """The creator named by ``claim``: None when absent or empty, 401 when no creator column can hold it."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > CREATOR_MAX_LENGTH or not _CREATOR.fullmatch(value):
        raise exceptions.AuthenticationFailed(
            f"The token's {claim} claim is not an organisation code "
            f"(letters, digits, '.', '_', '-'; at most {CREATOR_MAX_LENGTH} characters)."
        )
    return value


def _check_issuer_and_audience(claims: dict[str, Any]) -> None:
    """A bearer token's ``iss`` and ``aud``, where the operator configured them (NOTIFICATIONS_JWT_*)."""
    issuers = settings.NOTIFICATIONS_JWT_ISSUERS
    if issuers and claims.get("iss") not in issuers:
        raise exceptions.AuthenticationFailed("The token's issuer is not trusted.")
    audience = settings.NOTIFICATIONS_JWT_AUDIENCE
    if audience:
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if audience not in audiences:
            raise exceptions.AuthenticationFailed("The token is not meant for this service (aud).")


def _bearer_owner(token: str) -> ServiceOwner:
    claims = verify_token(token, key_set)
    if PLATFORM_ONLY_CLAIMS & claims.keys():
        raise exceptions.AuthenticationFailed("A platform access token is not accepted as a bearer token.")
    _check_issuer_and_audience(claims)
    subject = claims.get("sub")
    return ServiceOwner(
        org=_creator(claims.get(ORG_CLAIM), ORG_CLAIM),
        scopes=_scopes(claims),
        subject=subject[:CREATOR_MAX_LENGTH] if isinstance(subject, str) and subject else None,
    )


def _platform_creator(token: str) -> str | None:
    if platform_key_set.path is None:
        raise exceptions.AuthenticationFailed("Platform access tokens are not accepted here.")
    claims = verify_token(token, platform_key_set)
    if BEARER_ONLY_CLAIMS & claims.keys():
        raise exceptions.AuthenticationFailed("A bearer token is not accepted as a platform access token.")
    app = claims.get(APP_CLAIM)
    if not isinstance(app, str) or not app.strip():
        raise exceptions.AuthenticationFailed(f"The platform access token does not name its {APP_CLAIM}.")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or issuer not in settings.NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS:
        raise exceptions.AuthenticationFailed("The platform access token's issuer is not trusted.")
    return _creator(issuer, "iss")


class ServiceOwnerAuthentication(BaseAuthentication):
    """DRF authentication from the bearer token and/or the platform access token."""

    def authenticate(self, request: Request) -> tuple[ServiceOwner, str] | None:
        # From META: request.headers would first copy every header of the request into a new mapping.
        meta = request._request.META
        platform_token = meta.get("HTTP_PLATFORMACCESSTOKEN")
        authorization = meta.get("HTTP_AUTHORIZATION", "")
        bearer: str | None = None
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
            bearer = value.strip()
        if platform_token is None and bearer is None:
            return None
        # A bearer token sent along with a platform token must be valid too: no bad credential is ignored.
        bearer_owner = _bearer_owner(bearer) if bearer is not None else None
        if platform_token is not None:
            org = _platform_creator(platform_token.strip())
            scopes = bearer_owner.scopes if bearer_owner else frozenset()
            return ServiceOwner(org=org, scopes=scopes, platform=True), platform_token
        assert bearer_owner is not None
        assert bearer is not None
        return bearer_owner, bearer

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


class IsSupportAdmin(BasePermission):
    """Allows a bearer token with the support scope (``NOTIFICATIONS_SUPPORT_SCOPE``), with or without an
    organisation: support reads across creators, so the create scope alone is not enough."""

    message = "The token lacks the scope altinn:notifications.support.admin."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return isinstance(user, ServiceOwner) and settings.NOTIFICATIONS_SUPPORT_SCOPE in user.scopes


class HasComposedEmailScope(IsServiceOwner):
    """A service owner whose bearer token has the composed email scope, as in the reference: the create
    scope and platform access tokens do not allow composed emails, and this scope allows nothing else."""

    message = (
        "The token lacks the scope altinn:serviceowner/notifications.composedemail.create or the "
        "organisation claim (platform access tokens are not accepted here)."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not isinstance(user, ServiceOwner) or user.platform:
            return False
        return settings.NOTIFICATIONS_COMPOSED_EMAIL_SCOPE in user.scopes and bool(user.org)


def creator_of(request: Request) -> str:
    """The creator (organisation) of an authenticated request."""
    user = request.user
    assert isinstance(user, ServiceOwner)
    assert user.org
    return user.org


def _public_key_bytes(key: jwt.PyJWK) -> bytes:
    material: Any = key.key
    if isinstance(material, bytes):
        return material
    if hasattr(material, "public_key"):  # a private key in the set: compare its public half
        material = material.public_key()
    public: bytes = material.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public


def check_key_sets(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check: no key is trusted for both kinds of token, and every trusted issuer can be a creator."""
    messages: list[checks.CheckMessage] = []
    # Every management command runs the checks: a key set not created yet is not worth an error there.
    bearer_keys = {_public_key_bytes(key) for key in key_set.keys(report_missing=False).values()}
    platform_keys = platform_key_set.keys(report_missing=False).items()
    shared = [kid for kid, key in platform_keys if _public_key_bytes(key) in bearer_keys]
    if shared:
        messages.append(
            checks.Error(
                "A key is trusted both for bearer tokens and for platform access tokens.",
                hint=f"Give the platform its own key pair (shared in the platform set: {sorted(shared)}).",
                obj="NOTIFICATIONS_PLATFORM_JWKS_FILE",
                id="notifications.E001",
            )
        )
    for issuer in settings.NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS:
        if len(issuer) > CREATOR_MAX_LENGTH or not _CREATOR.fullmatch(issuer):
            messages.append(
                checks.Warning(
                    f"Trusted platform issuer {issuer!r} is not an org code; its tokens are refused.",
                    obj="NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS",
                    id="notifications.W002",
                )
            )
    return messages
