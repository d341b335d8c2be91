"""Bearer tokens and platform access tokens are two kinds of token that cannot stand in for each other.

Every kind of token is sent in every header (``Authorization: Bearer``, ``PlatformAccessToken``, both), and
the answer (200/401/403) and the resulting creator are checked on whoami. A bearer token is signed by the
identity provider and names its org in ``urn:altinn:org``; a platform token is signed by the platform,
its ``iss`` is a trusted application owner and it names the application in ``urn:altinn:app``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.checks import Error
from rest_framework.test import APIClient

from core.auth import check_key_sets
from core.tokens import generate_rsa_key, mint_token, private_pem, public_jwk
from orders.models import Order
from tests.conftest import PLATFORM_TEST_KID, TEST_KID

WHOAMI = "/notifications/api/v1/whoami"
API = "/notifications/api/v1"
PROBLEM = "application/problem+json"
SCOPE = "altinn:serviceowner/notifications.create"

TokenMaker = Callable[..., str]


def _idp_as_platform(make: TokenMaker, signing_key: Any, platform_key: Any) -> str:
    # A platform token's claims, signed with the identity provider's key (and kid).
    return make(org="ttd", platform=True, signing_key_pem=private_pem(signing_key), kid=TEST_KID)


def _platform_as_bearer(make: TokenMaker, signing_key: Any, platform_key: Any) -> str:
    # A bearer token's claims, signed with the platform's key (and kid).
    return make(org="ttd", signing_key_pem=private_pem(platform_key), kid=PLATFORM_TEST_KID)


# name -> token builder(make_token, idp key, platform key)
TOKENS: dict[str, Callable[[TokenMaker, Any, Any], str]] = {
    "bearer": lambda make, idp, plat: make(org="ttd"),
    "bearer without scope": lambda make, idp, plat: make(org="skd", scopes=["altinn:something.else"]),
    "bearer without org": lambda make, idp, plat: make(org=None),
    "bearer carrying urn:altinn:app": lambda make, idp, plat: make(
        org="ttd", extra_claims={"urn:altinn:app": "ttd/app"}
    ),
    "expired bearer": lambda make, idp, plat: make(org="ttd", expires_in=-120),
    "bearer signed with the platform key": _platform_as_bearer,
    "platform": lambda make, idp, plat: make(org="ttd", platform=True),
    "platform from untrusted issuer": lambda make, idp, plat: make(org="skd", platform=True),
    "platform without iss": lambda make, idp, plat: make(org=None, platform=True),
    "platform without urn:altinn:app": lambda make, idp, plat: make(
        org="ttd", platform=True, extra_claims={"urn:altinn:app": None}
    ),
    "platform with empty urn:altinn:app": lambda make, idp, plat: make(
        org="ttd", platform=True, extra_claims={"urn:altinn:app": ""}
    ),
    "platform carrying urn:altinn:org": lambda make, idp, plat: make(
        org="ttd", platform=True, extra_claims={"urn:altinn:org": "ttd"}
    ),
    "platform carrying a scope": lambda make, idp, plat: make(
        org="ttd", platform=True, extra_claims={"scope": SCOPE}
    ),
    "expired platform": lambda make, idp, plat: make(org="ttd", platform=True, expires_in=-120),
    "platform signed with the IdP key": _idp_as_platform,
}

# name -> {header: (status, creator on 200)}; "both" sends the same token in both headers.
EXPECTED: dict[str, dict[str, tuple[int, str | None]]] = {
    "bearer": {"bearer": (200, "ttd"), "platform": (401, None), "both": (401, None)},
    "bearer without scope": {"bearer": (403, None), "platform": (401, None), "both": (401, None)},
    "bearer without org": {"bearer": (403, None), "platform": (401, None), "both": (401, None)},
    "platform": {"bearer": (401, None), "platform": (200, "ttd"), "both": (401, None)},
}
ALWAYS_REFUSED = {"bearer": (401, None), "platform": (401, None), "both": (401, None)}


def _headers(token: str, where: str) -> dict[str, str]:
    headers = {}
    if where in ("bearer", "both"):
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if where in ("platform", "both"):
        headers["HTTP_PLATFORMACCESSTOKEN"] = token
    return headers


@pytest.mark.parametrize("where", ["bearer", "platform", "both"])
@pytest.mark.parametrize("kind", list(TOKENS))
def test_every_kind_of_token_in_every_header(
    kind: str,
    where: str,
    make_token: TokenMaker,
    signing_key: rsa.RSAPrivateKey,
    platform_signing_key: rsa.RSAPrivateKey,
) -> None:
    token = TOKENS[kind](make_token, signing_key, platform_signing_key)
    expected_status, expected_creator = EXPECTED.get(kind, ALWAYS_REFUSED)[where]

    response = APIClient().get(WHOAMI, **_headers(token, where))

    assert response.status_code == expected_status, response.content
    if expected_status == 200:
        assert response.json()["creator"] == expected_creator
        assert response.json()["platformAccessToken"] is (where == "platform")
    else:
        assert response["Content-Type"] == PROBLEM
        assert response.json()["status"] == expected_status


@pytest.mark.parametrize(
    ("bearer_kind", "platform_kind", "expected"),
    [
        # Both valid: the platform token decides the creator.
        ("bearer", "platform", (200, "ttd")),
        # The platform token carries the right to create, so a bearer token without the scope is no obstacle.
        ("bearer without scope", "platform", (200, "ttd")),
        # Either one invalid refuses the request.
        ("bearer", "platform from untrusted issuer", (401, None)),
        ("bearer", "platform signed with the IdP key", (401, None)),
        ("expired bearer", "platform", (401, None)),
        ("bearer signed with the platform key", "platform", (401, None)),
        # The same bearer token in both headers is the reproduction of the defect: never accepted.
        ("bearer", "bearer", (401, None)),
    ],
)
def test_a_bearer_and_a_platform_token_together(
    bearer_kind: str,
    platform_kind: str,
    expected: tuple[int, str | None],
    make_token: TokenMaker,
    signing_key: rsa.RSAPrivateKey,
    platform_signing_key: rsa.RSAPrivateKey,
) -> None:
    bearer = TOKENS[bearer_kind](make_token, signing_key, platform_signing_key)
    platform = TOKENS[platform_kind](make_token, signing_key, platform_signing_key)

    response = APIClient().get(
        WHOAMI, HTTP_AUTHORIZATION=f"Bearer {bearer}", HTTP_PLATFORMACCESSTOKEN=platform
    )

    assert response.status_code == expected[0], response.content
    if expected[0] == 200:
        assert response.json() == {
            "creator": expected[1],
            "scopes": sorted(jwt.decode(bearer, options={"verify_signature": False})["scope"].split()),
            "platformAccessToken": True,
        }


def test_a_bearer_token_without_the_scope_is_not_accepted_as_a_platform_token(
    make_token: TokenMaker,
) -> None:
    """The reported defect: 403 as a bearer token, but 200 (creator = its iss) as a platform token."""
    token = make_token(org="skd", scopes=["altinn:something.else"])

    as_bearer = APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}")
    as_platform = APIClient().get(WHOAMI, HTTP_PLATFORMACCESSTOKEN=token)

    assert as_bearer.status_code == 403
    assert as_platform.status_code == 401
    assert as_platform["Content-Type"] == PROBLEM


def _post_sms(**headers: str) -> Any:
    body = {"body": "x", "recipients": [{"mobileNumber": "+4799999999"}]}
    return APIClient().post(
        f"{API}/orders/sms", data=json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.django_db
def test_bearer_tokens_of_two_orgs_sent_as_platform_tokens_share_no_creator(make_token: TokenMaker) -> None:
    """Before the fix both became creator "notifications-dev" and read each other's orders."""
    skd = make_token(org="skd")
    nav = make_token(org="nav")

    placed = _post_sms(HTTP_PLATFORMACCESSTOKEN=skd)
    listed = APIClient().get(f"{API}/orders?sendersReference=x", HTTP_PLATFORMACCESSTOKEN=nav)

    assert placed.status_code == 401
    assert listed.status_code == 401
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_two_application_owners_with_platform_tokens_cannot_see_each_others_orders(
    make_token: TokenMaker,
) -> None:
    ttd = {"HTTP_PLATFORMACCESSTOKEN": make_token(org="ttd", platform=True)}
    digdir = {"HTTP_PLATFORMACCESSTOKEN": make_token(org="digdir", platform=True)}

    placed = _post_sms(**ttd)
    assert placed.status_code == 202, placed.content
    order_id = placed.json()["orderId"]

    assert Order.objects.get(id=order_id).creator == "ttd"
    assert APIClient().get(f"{API}/orders/{order_id}", **ttd).status_code == 200
    assert APIClient().get(f"{API}/orders/{order_id}", **digdir).status_code == 404
    assert APIClient().get(f"{API}/orders/{order_id}/status", **digdir).status_code == 404


def test_platform_tokens_are_refused_when_no_platform_key_set_is_configured(
    settings: Any, make_token: TokenMaker
) -> None:
    settings.NOTIFICATIONS_PLATFORM_JWKS_FILE = ""
    token = make_token(org="ttd", platform=True)

    response = APIClient().get(WHOAMI, HTTP_PLATFORMACCESSTOKEN=token)

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    # Bearer tokens are unaffected.
    assert APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {make_token()}").status_code == 200


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"iss": "https://idp.example/"}, 200),
        ({"iss": "https://idp.example/", "aud": "notifications"}, 200),
        ({"iss": "https://idp.example/", "aud": ["other", "notifications"]}, 200),
        ({"iss": "https://other-idp.example/", "aud": "notifications"}, 401),
        ({"aud": "notifications"}, 401),  # the development iss is not among the configured ones
        ({"iss": "https://idp.example/", "aud": "other-service"}, 401),
        ({"iss": "https://idp.example/", "aud": ["other-service"]}, 401),
    ],
)
def test_configured_bearer_issuers_and_audience_are_required(
    settings: Any, make_token: TokenMaker, claims: dict[str, Any], expected: int
) -> None:
    """A key set shared with other issuers or services lends none of their tokens to this one."""
    settings.NOTIFICATIONS_JWT_ISSUERS = ["https://idp.example/"]
    audience_checked = "aud" in claims
    settings.NOTIFICATIONS_JWT_AUDIENCE = "notifications" if audience_checked else ""

    response = APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {make_token(extra_claims=claims)}")

    assert response.status_code == expected
    if expected == 401:
        assert response["Content-Type"] == PROBLEM


def test_a_bearer_token_without_aud_is_refused_when_an_audience_is_configured(
    settings: Any, make_token: TokenMaker
) -> None:
    settings.NOTIFICATIONS_JWT_AUDIENCE = "notifications"

    assert APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {make_token()}").status_code == 401
    with_aud = make_token(extra_claims={"aud": "notifications"})
    assert APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {with_aud}").status_code == 200


def test_platform_tokens_are_refused_when_no_issuer_is_trusted(settings: Any, make_token: TokenMaker) -> None:
    settings.NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS = []

    response = APIClient().get(WHOAMI, HTTP_PLATFORMACCESSTOKEN=make_token(org="ttd", platform=True))

    assert response.status_code == 401


def test_a_rotated_platform_key_set_is_picked_up_without_restart(
    settings: Any, tmp_path: Path, make_token: TokenMaker
) -> None:
    new_key = generate_rsa_key()
    jwks = tmp_path / "platform-jwks.json"
    jwks.write_text(json.dumps({"keys": [public_jwk(new_key, "rotated-platform")]}))
    settings.NOTIFICATIONS_PLATFORM_JWKS_FILE = str(jwks)

    old = make_token(org="ttd", platform=True)
    new = mint_token(org="ttd", platform=True, signing_key_pem=private_pem(new_key), kid="rotated-platform")

    assert APIClient().get(WHOAMI, HTTP_PLATFORMACCESSTOKEN=old).status_code == 401
    assert APIClient().get(WHOAMI, HTTP_PLATFORMACCESSTOKEN=new).status_code == 200


@pytest.mark.parametrize("content", ["{not json", '{"keys": "nope"}', '["a list"]', ""])
def test_an_unreadable_key_set_refuses_tokens_with_401_not_500(
    settings: Any, tmp_path: Path, make_token: TokenMaker, content: str
) -> None:
    for name in ("NOTIFICATIONS_JWKS_FILE", "NOTIFICATIONS_PLATFORM_JWKS_FILE"):
        path = tmp_path / f"{name}.json"
        path.write_text(content)
        setattr(settings, name, str(path))

    bearer = APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    platform = APIClient().get(WHOAMI, HTTP_PLATFORMACCESSTOKEN=make_token(platform=True))

    assert (bearer.status_code, platform.status_code) == (401, 401)


def test_issue_token_mints_bearer_and_platform_tokens_with_their_own_keys(
    settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import call_command

    from core.tokens import ensure_dev_keys

    ensure_dev_keys(tmp_path / "jwks.json", tmp_path / "key.pem")
    ensure_dev_keys(tmp_path / "platform-jwks.json", tmp_path / "platform-key.pem", kid="dev-platform-key-1")
    settings.NOTIFICATIONS_JWKS_FILE = str(tmp_path / "jwks.json")
    settings.NOTIFICATIONS_JWT_SIGNING_KEY_FILE = str(tmp_path / "key.pem")
    settings.NOTIFICATIONS_PLATFORM_JWKS_FILE = str(tmp_path / "platform-jwks.json")
    settings.NOTIFICATIONS_PLATFORM_SIGNING_KEY_FILE = str(tmp_path / "platform-key.pem")

    call_command("issue_token", "--org", "skd", "--expires", "60")
    bearer = capsys.readouterr().out.strip()
    call_command("issue_token", "--platform", "--org", "ttd", "--expires", "60")
    platform = capsys.readouterr().out.strip()
    call_command("issue_token", "--platform", "--org", "digdir", "--app", "digdir/forms")
    custom_app = capsys.readouterr().out.strip()

    assert (
        jwt.decode(platform, options={"verify_signature": False})["urn:altinn:app"] == "ttd/notifications-dev"
    )
    assert jwt.decode(custom_app, options={"verify_signature": False})["urn:altinn:app"] == "digdir/forms"
    assert APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {bearer}").json()["creator"] == "skd"
    assert APIClient().get(WHOAMI, HTTP_PLATFORMACCESSTOKEN=platform).json()["creator"] == "ttd"
    assert APIClient().get(WHOAMI, HTTP_PLATFORMACCESSTOKEN=custom_app).json()["creator"] == "digdir"
    assert APIClient().get(WHOAMI, HTTP_PLATFORMACCESSTOKEN=bearer).status_code == 401
    assert APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {platform}").status_code == 401


def test_the_system_check_refuses_a_key_trusted_for_both_kinds(
    settings: Any, tmp_path: Path, signing_key: rsa.RSAPrivateKey
) -> None:
    shared = tmp_path / "platform-jwks.json"
    # Another kid and other JWK members, the same public key: still the same key.
    shared.write_text(
        json.dumps({"keys": [public_jwk(signing_key, "renamed"), public_jwk(generate_rsa_key(), "x")]})
    )
    settings.NOTIFICATIONS_PLATFORM_JWKS_FILE = str(shared)

    errors = check_key_sets(None)

    assert [error.id for error in errors] == ["notifications.E001"]
    assert isinstance(errors[0], Error)


def test_the_system_check_passes_with_separate_key_sets_or_without_platform_keys(settings: Any) -> None:
    assert check_key_sets(None) == []
    settings.NOTIFICATIONS_PLATFORM_JWKS_FILE = ""
    assert check_key_sets(None) == []


def test_the_system_check_is_registered(settings: Any, jwks_file: Path) -> None:
    from django.core.checks import run_checks

    settings.NOTIFICATIONS_PLATFORM_JWKS_FILE = str(jwks_file)

    assert "notifications.E001" in [message.id for message in run_checks()]


def test_the_embedded_default_generates_separate_development_keys_for_each_kind(tmp_path: Path) -> None:
    from notifications_project.launcher.run import dev_keys as _dev_keys
    from notifications_project.launcher.running_env import SHARED_ENV_KEYS

    env: dict[str, str] = {}
    _dev_keys(env, tmp_path / "keys")

    bearer_jwks = json.loads(Path(env["NOTIFICATIONS_JWKS_FILE"]).read_text())["keys"]
    platform_jwks = json.loads(Path(env["NOTIFICATIONS_PLATFORM_JWKS_FILE"]).read_text())["keys"]
    assert {key["n"] for key in bearer_jwks}.isdisjoint({key["n"] for key in platform_jwks})
    assert env["NOTIFICATIONS_JWT_SIGNING_KEY_FILE"] != env["NOTIFICATIONS_PLATFORM_SIGNING_KEY_FILE"]
    assert env["NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS"] == "ttd"
    assert set(env) <= set(SHARED_ENV_KEYS)


def test_the_embedded_default_keeps_the_operators_platform_keys_and_issuers(tmp_path: Path) -> None:
    from notifications_project.launcher.run import dev_keys as _dev_keys

    env = {"NOTIFICATIONS_PLATFORM_JWKS_FILE": "/etc/notifications/platform-jwks.json"}
    _dev_keys(env, tmp_path / "keys")

    assert env["NOTIFICATIONS_PLATFORM_JWKS_FILE"] == "/etc/notifications/platform-jwks.json"
    assert "NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS" not in env
    assert not (tmp_path / "keys" / "platform-jwks.json").exists()
    assert (tmp_path / "keys" / "jwks.json").exists()
