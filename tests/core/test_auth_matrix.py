"""The authentication contract on every API operation: each bad token on each route, read from the resolver.

A route added later is in the matrix without touching this file; a route that is public has to be named
in PUBLIC_ROUTES here, on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from core.auth import IsServiceOwner, IsSupportAdmin, ServiceOwnerAuthentication
from core.tokens import generate_rsa_key, mint_token, private_pem
from orders.models import Order, OrderStatus
from tests.factories import OrderFactory
from tests.notifications_project.routes import Route, all_routes, api_operations, openapi_document

# The only API routes anybody may call without a token: the OpenAPI document and its viewer.
PUBLIC_ROUTES = {"openapi-schema", "swagger-ui"}
PROBLEM = "application/problem+json"


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _claims(make_token: Callable[..., str]) -> dict[str, Any]:
    return jwt.decode(make_token(), options={"verify_signature": False})


def _alg_none(make_token: Callable[..., str], _: Any) -> str:
    header = _b64(json.dumps({"alg": "none", "kid": "test-key-1"}).encode())
    return f"{header.decode()}.{_b64(json.dumps(_claims(make_token)).encode()).decode()}."


def _hs256_with_public_key(make_token: Callable[..., str], signing_key: Any) -> str:
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "kid": "test-key-1", "typ": "JWT"}).encode())
    signing_input = header + b"." + _b64(json.dumps(_claims(make_token)).encode())
    signature = _b64(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


def _wrong_signature(make_token: Callable[..., str], _: Any) -> str:
    return mint_token(org="ttd", signing_key_pem=private_pem(generate_rsa_key()), kid="test-key-1")


# name -> (headers builder, expected status)
BAD_CREDENTIALS: dict[str, tuple[Callable[[Callable[..., str], Any], dict[str, str]], int]] = {
    "no token": (lambda make, key: {}, 401),
    "expired": (lambda make, key: {"HTTP_AUTHORIZATION": f"Bearer {make(expires_in=-120)}"}, 401),
    "not yet valid": (
        lambda make, key: {
            "HTTP_AUTHORIZATION": f"Bearer {make(extra_claims={'nbf': int(time.time()) + 600})}"
        },
        401,
    ),
    "wrong signature": (
        lambda make, key: {"HTTP_AUTHORIZATION": f"Bearer {_wrong_signature(make, key)}"},
        401,
    ),
    "alg none": (lambda make, key: {"HTTP_AUTHORIZATION": f"Bearer {_alg_none(make, key)}"}, 401),
    "HS256 signed with the public key": (
        lambda make, key: {"HTTP_AUTHORIZATION": f"Bearer {_hs256_with_public_key(make, key)}"},
        401,
    ),
    "unknown kid": (lambda make, key: {"HTTP_AUTHORIZATION": f"Bearer {make(kid='no-such-key')}"}, 401),
    "not a bearer token": (lambda make, key: {"HTTP_AUTHORIZATION": f"Basic {make()}"}, 401),
    "expired platform token": (
        lambda make, key: {"HTTP_PLATFORMACCESSTOKEN": make(org="digdir", platform=True, expires_in=-120)},
        401,
    ),
    "missing scope": (
        lambda make, key: {"HTTP_AUTHORIZATION": f"Bearer {make(scopes=['altinn:something.else'])}"},
        403,
    ),
    "missing org": (lambda make, key: {"HTTP_AUTHORIZATION": f"Bearer {make(org=None)}"}, 403),
    "platform token without iss": (
        lambda make, key: {"HTTP_PLATFORMACCESSTOKEN": make(org=None, platform=True)},
        401,
    ),
    "bearer token as platform token": (lambda make, key: {"HTTP_PLATFORMACCESSTOKEN": make()}, 401),
    "platform token as bearer token": (
        lambda make, key: {"HTTP_AUTHORIZATION": f"Bearer {make(platform=True)}"},
        401,
    ),
    "platform token from an untrusted issuer": (
        lambda make, key: {"HTTP_PLATFORMACCESSTOKEN": make(org="skd", platform=True)},
        401,
    ),
    "platform token without urn:altinn:app": (
        lambda make, key: {
            "HTTP_PLATFORMACCESSTOKEN": make(platform=True, extra_claims={"urn:altinn:app": None})
        },
        401,
    ),
    "platform token signed with the identity provider's key": (
        lambda make, key: {
            "HTTP_PLATFORMACCESSTOKEN": make(
                platform=True, signing_key_pem=private_pem(key), kid="test-key-1"
            )
        },
        401,
    ),
    "org claim no column can hold": (
        lambda make, key: {"HTTP_AUTHORIZATION": f"Bearer {make(org='x' * 200)}"},
        401,
    ),
}


def _protected_operations() -> list[tuple[str, Route]]:
    return [(method, route) for method, route in api_operations() if route.name not in PUBLIC_ROUTES]


def _call(client: APIClient, method: str, path: str, **headers: str) -> Any:
    # A body that is not even JSON: authentication must come first, so it is never looked at.
    if method in ("POST", "PUT", "PATCH"):
        return client.generic(method, path, "{not json", content_type="application/json", **headers)
    return client.generic(method, path, **headers)


def test_the_matrix_covers_every_operation_of_the_openapi_document() -> None:
    declared = {(method, route.template) for method, route in api_operations()}
    documented = {
        (method.upper(), path)
        for path, operations in openapi_document()["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert documented <= declared
    assert len(_protected_operations()) >= len(documented)


def test_only_the_schema_views_are_public_and_every_other_api_view_uses_our_auth() -> None:
    public = set()
    for _, route in api_operations():
        view = route.view_class
        permissions = (
            getattr(route.callback, "initkwargs", {}).get("permission_classes") or view.permission_classes
        )
        authentication = (
            getattr(route.callback, "initkwargs", {}).get("authentication_classes")
            or view.authentication_classes
        )
        if any(permission is AllowAny for permission in permissions):
            public.add(route.name)
            continue
        # A narrower rule (the composed email scope) is a kind of IsServiceOwner; the support lookups read
        # across creators with their own scope instead of the create scope.
        assert any(issubclass(permission, (IsServiceOwner, IsSupportAdmin)) for permission in permissions), (
            route.route
        )
        assert ServiceOwnerAuthentication in authentication, route.route
    assert public == PUBLIC_ROUTES


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_CREDENTIALS))
def test_every_protected_operation_refuses_bad_credentials_with_problem_details(
    case: str, make_token: Callable[..., str], signing_key: Any
) -> None:
    headers_for, expected = BAD_CREDENTIALS[case]
    operations = _protected_operations()
    assert operations
    failures = []
    for method, route in operations:
        response = _call(APIClient(), method, route.path(), **headers_for(make_token, signing_key))
        body = response.json() if response.content else {}
        if (response.status_code, response.get("Content-Type"), body.get("status")) != (
            expected,
            PROBLEM,
            expected,
        ):
            failures.append(f"{method} {route.path()}: {response.status_code} {response.content[:200]!r}")
        if expected == 401 and "WWW-Authenticate" not in response:
            failures.append(f"{method} {route.path()}: 401 without WWW-Authenticate")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_another_creators_order_is_not_found_on_every_operation_with_an_id(
    api_client: APIClient, other_client: APIClient
) -> None:
    with_id = [(method, route) for method, route in _protected_operations() if "id" in route.parameters]
    assert with_id
    checked = 0
    for method, route in with_id:
        order = OrderFactory(creator="ttd")
        path = route.path(id=str(order.id))
        foreign = _call(other_client, method, path)
        assert foreign.status_code == 404, f"{method} {path}: {foreign.status_code} {foreign.content[:200]!r}"
        assert Order.objects.get(id=order.id).status == OrderStatus.REGISTERED
        own = _call(api_client, method, path)
        if own.status_code != 404:
            # The id names the owner's order here: the 404 above is the creator scoping, not a miss.
            checked += 1
            assert str(order.id) not in foreign.content.decode()
    # Every v1 operation by order id (read, status, cancel, both notification lists, and their aliases).
    assert checked >= 10


def test_every_route_of_the_service_is_known_to_need_credentials_or_to_be_public() -> None:
    """Nothing that triggers work or changes state is reachable over HTTP except through these doors."""
    unknown = []
    for route in all_routes():
        if route.route.startswith("admin/"):
            continue  # the admin site; see test_admin_security
        if route.is_api and route.is_drf:
            continue  # the matrix above
        if route.name in {"health", "health-live", "webhook-twilio", "webhook-anymail", "metrics"}:
            continue  # read-only probes, and webhooks with their own credentials (test_webhooks)
        unknown.append(route.route)
    assert not unknown, f"routes with no known access rule: {unknown}"
