"""Support lookups: a person's or an organization's notifications across creators, for the support scope
only, the identifier in a header, the period bounded, paged, and every call audited."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders.audit import AuditAction, AuditEntry, AuditOutcome
from orders.models import EmailStatus, Order, SmsStatus
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory
from tests.orders.future.conftest import FUTURE

pytestmark = pytest.mark.django_db

NIN_PATH = f"{FUTURE}/dashboard/recipients/notifications/nin"
ORG_PATH = f"{FUTURE}/dashboard/recipients/notifications/orgnumber"
SUPPORT_SCOPE = "altinn:notifications.support.admin"
NIN = "11876995923"
OTHER_NIN = "01017012345"
ORGNO = "311000179"


@pytest.fixture
def support_client(make_token: Callable[..., str]) -> APIClient:
    client = APIClient()
    token = make_token(org=None, scopes=[SUPPORT_SCOPE], extra_claims={"sub": "support-agent-7"})
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _order(creator: str, hours_ago: float, **fields: Any) -> Order:
    order: Order = OrderFactory(
        creator=creator, requested_send_time=timezone.now() - timedelta(hours=hours_ago), **fields
    )
    return order


def _sms(order: Order, **fields: Any) -> None:
    SmsNotificationFactory(order=order, status=SmsStatus.DELIVERED, **fields)


def _iso(hours_ago: float) -> str:
    return (timezone.now() - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")


def test_a_persons_notifications_of_every_creator_newest_first(support_client: APIClient) -> None:
    older = _order("ttd", 30, senders_reference="ref-old")
    _sms(older, recipient_national_identity_number=NIN, mobile_number="+4799999999")
    newer = _order("nav", 2, email=True, resource_id="urn:altinn:resource:r1")
    EmailNotificationFactory(
        order=newer,
        recipient_national_identity_number=NIN,
        to_address="ola@example.no",
        status=EmailStatus.FAILED_RECIPIENT_RESERVED,
    )
    _sms(_order("ttd", 1), recipient_national_identity_number=OTHER_NIN)  # someone else
    _sms(_order("ttd", 24 * 9), recipient_national_identity_number=NIN)  # before the default period

    response = support_client.get(NIN_PATH, HTTP_NATIONALIDENTITYNUMBER=NIN)

    assert response.status_code == 200, response.content
    body = response.json()
    assert [s["shipmentId"] for s in body] == [str(newer.id), str(older.id)]
    assert body[0] == {
        "shipmentId": str(newer.id),
        "creatorName": "nav",
        "resourceId": "urn:altinn:resource:r1",
        "sendersReference": body[0]["sendersReference"],
        "requestedSendTime": body[0]["requestedSendTime"],
        "notificationChannel": "Email",
        "notificationType": "Notification",
        "deliveryAttempts": [
            {
                "nationalIdentityNumber": NIN,
                "channel": "email",
                "emailAddress": "ola@example.no",
                "result": "Failed_RecipientReserved",
                "resultTime": body[0]["deliveryAttempts"][0]["resultTime"],
            }
        ],
    }
    assert body[1]["creatorName"] == "ttd"
    assert body[1]["deliveryAttempts"][0]["mobileNumber"] == "+4799999999"
    assert "Link" not in response


def test_an_organizations_notifications(support_client: APIClient) -> None:
    order = _order("ttd", 5)
    _sms(order, recipient_organization_number=ORGNO, mobile_number="+4799999998")
    _sms(_order("ttd", 5), recipient_organization_number="999999999")

    body = support_client.get(ORG_PATH, HTTP_ORGANIZATIONNUMBER=ORGNO).json()

    assert [s["shipmentId"] for s in body] == [str(order.id)]
    assert body[0]["deliveryAttempts"][0]["organizationNumber"] == ORGNO
    assert "nationalIdentityNumber" not in body[0]["deliveryAttempts"][0]


def test_the_period_bounds_the_requested_send_time(support_client: APIClient) -> None:
    inside = _order("ttd", 48)
    _sms(inside, recipient_national_identity_number=NIN)
    _sms(_order("ttd", 1), recipient_national_identity_number=NIN)

    response = support_client.get(
        NIN_PATH, {"from": _iso(72), "to": _iso(24)}, HTTP_NATIONALIDENTITYNUMBER=NIN
    )

    assert [s["shipmentId"] for s in response.json()] == [str(inside.id)]


def test_pages_follow_the_next_link_without_overlap(support_client: APIClient, settings: Any) -> None:
    orders = [_order("ttd", hours) for hours in (1, 2, 3, 4, 5)]
    for order in orders:
        _sms(order, recipient_national_identity_number=NIN)

    seen: list[str] = []
    response = support_client.get(NIN_PATH, {"pageSize": 2}, HTTP_NATIONALIDENTITYNUMBER=NIN)
    pages = 0
    while True:
        pages += 1
        assert response.status_code == 200, response.content
        seen += [s["shipmentId"] for s in response.json()]
        link = response.get("Link")
        if not link:
            break
        url, rel = link.split(";")
        assert rel.strip() == 'rel="next"'
        assert NIN not in url  # the identifier never goes into a URL
        url = url.strip("<> ").removeprefix(settings.NOTIFICATIONS_BASE_URI)
        response = support_client.get(url, HTTP_NATIONALIDENTITYNUMBER=NIN)

    assert pages == 3
    assert seen == [str(order.id) for order in orders]


# --- Refused ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "field", "message"),
    [
        (NIN_PATH, {}, "NationalIdentityNumber", "'NationalIdentityNumber' is required and cannot be empty"),
        (NIN_PATH, {"HTTP_NATIONALIDENTITYNUMBER": "1187699592"}, "NationalIdentityNumber", None),
        (NIN_PATH, {"HTTP_NATIONALIDENTITYNUMBER": "1187699592x"}, "NationalIdentityNumber", None),
        (ORG_PATH, {}, "OrganizationNumber", "'OrganizationNumber' is required and cannot be empty"),
        (ORG_PATH, {"HTTP_ORGANIZATIONNUMBER": "31100017"}, "OrganizationNumber", None),
    ],
)
def test_a_missing_or_invalid_identifier_header_is_a_400_naming_it(
    support_client: APIClient, path: str, headers: dict[str, str], field: str, message: str | None
) -> None:
    response = support_client.get(path, **headers)

    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "NOT-10001"
    assert list(problem["errors"]) == [field]
    if message:
        assert problem["errors"][field] == [message]


def test_the_identifier_in_the_query_string_is_not_taken(support_client: APIClient) -> None:
    response = support_client.get(NIN_PATH, {"NationalIdentityNumber": NIN})

    assert response.status_code == 400
    assert "NationalIdentityNumber" in response.json()["errors"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-01-01T00:00:00+01:00"}, "from", "The 'from' value must be UTC."),
        ({"to": "2026-01-01T00:00:00+01:00"}, "to", "The 'to' value must be UTC."),
        ({"from": "yesterday"}, "from", None),
        ({"from": _iso(2), "to": _iso(3)}, "from", "'from' must be earlier than 'to'."),
        ({"from": _iso(-5)}, "from", "'from' must not be in the future."),
        ({"to": _iso(-5)}, "to", "'to' must not be in the future."),
        ({"to": _iso(24 * 8)}, "to", "'to' must be later than the default 'from' (7 days ago)."),
        (
            {"from": _iso(24 * 40), "to": _iso(1)},
            "to",
            "The period from 'from' to 'to' must be at most 31 days.",
        ),
        ({"pageSize": "0"}, "pageSize", None),
        ({"pageSize": "501"}, "pageSize", None),
        ({"cursor": "not-a-cursor"}, "cursor", None),
    ],
)
def test_bad_query_parameters_are_a_400_naming_them(
    support_client: APIClient, params: dict[str, str], field: str, message: str | None
) -> None:
    response = support_client.get(NIN_PATH, params, HTTP_NATIONALIDENTITYNUMBER=NIN)

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors
    if message:
        assert errors[field] == [message]


def test_a_date_without_a_zone_is_not_utc(support_client: APIClient) -> None:
    response = support_client.get(NIN_PATH, {"from": "2026-01-01T00:00:00"}, HTTP_NATIONALIDENTITYNUMBER=NIN)

    assert response.json()["errors"] == {"from": ["The 'from' value must be UTC."]}


def test_only_the_support_scope_may_look_up(make_token: Callable[..., str], api_client: APIClient) -> None:
    _sms(_order("ttd", 1), recipient_national_identity_number=NIN)
    platform = APIClient()
    platform.credentials(HTTP_PLATFORMACCESSTOKEN=make_token(org="ttd", platform=True))

    for client in (api_client, platform):
        for path, header in (
            (NIN_PATH, "HTTP_NATIONALIDENTITYNUMBER"),
            (ORG_PATH, "HTTP_ORGANIZATIONNUMBER"),
        ):
            response = client.get(path, **{header: NIN if path == NIN_PATH else ORGNO})
            assert response.status_code == 403
            assert response.json()["code"] == "NOT-10004"
            assert NIN not in response.content.decode()
    assert APIClient().get(NIN_PATH, HTTP_NATIONALIDENTITYNUMBER=NIN).status_code == 401
    assert not AuditEntry.objects.exists()


# --- Audit ---------------------------------------------------------------------------------------------


def test_every_lookup_is_audited_and_logged_with_the_nin_masked(
    support_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    _sms(_order("ttd", 1), recipient_national_identity_number=NIN)
    caplog.set_level(logging.INFO, logger="orders.support")

    support_client.get(NIN_PATH, HTTP_NATIONALIDENTITYNUMBER=NIN)
    support_client.get(NIN_PATH, {"from": "garbage"}, HTTP_NATIONALIDENTITYNUMBER=NIN)
    support_client.get(ORG_PATH, HTTP_ORGANIZATIONNUMBER=ORGNO)

    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.action, e.outcome, e.target_id) for e in entries] == [
        (AuditAction.SUPPORT_LOOKUP, AuditOutcome.DONE, NIN),
        (AuditAction.SUPPORT_LOOKUP, AuditOutcome.REFUSED, NIN),
        (AuditAction.SUPPORT_LOOKUP, AuditOutcome.DONE, ORGNO),
    ]
    assert all("support-agent-7" in e.actor_username for e in entries)
    assert entries[0].details["shipments"] == 1
    assert entries[1].details["reason"] == "from"
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name == "orders.support")
    assert "********923" in logged
    assert NIN not in logged
    assert ORGNO in logged
