"""End to end through the API: POST an order, run the pipeline as the worker would, read the notifications."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from notifications_project import celery_app
from orders.registry.models import Organization, OrganizationContact, Person

pytestmark = pytest.mark.django_db

API = "/notifications/api/v1"


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, list[Any]]]:
    """Tasks published to the broker (the network edge), recorded instead of sent."""
    calls: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr(
        celery_app, "send_task", lambda name, args=None, **kwargs: calls.append((name, list(args or [])))
    )
    return calls


@pytest.fixture(autouse=True)
def _worker_tasks() -> None:
    """Register the tasks the way a worker does at start (autodiscovery of ``<app>.tasks``)."""
    celery_app.loader.import_default_modules()


def post(client: APIClient, path: str, body: Any) -> Any:
    return client.post(f"{API}{path}", data=json.dumps(body), content_type="application/json")


def run_published(published: list[tuple[str, list[Any]]], name: str) -> None:
    """Run the published messages of one task the way a worker would: by name, with their arguments."""
    for task_name, args in [call for call in published if call[0] == name]:
        published.remove((task_name, args))
        celery_app.tasks[task_name](*args)


def test_sms_order_for_an_organization_with_two_numbers_yields_two_personalised_notifications(
    api_client, published, django_capture_on_commit_callbacks, settings
):
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "anytime"  # the run command's default
    organization = Organization.objects.create(organization_number="311000001", name="Testbedrift AS")
    OrganizationContact.objects.create(organization=organization, kind="sms", address="+4799999991")
    OrganizationContact.objects.create(organization=organization, kind="sms", address="+4799999992")

    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api_client,
            "/orders/sms",
            {
                "body": "Hei $recipientName$, org.nr. $recipientNumber$",
                "recipients": [{"organizationNumber": "311000001"}],
                "sendersReference": "ref-e2e",
            },
        )
    assert response.status_code == 202, response.content
    order_id = response.json()["orderId"]
    assert published == [("dispatch.order_process", [order_id])]  # the fast path, after commit

    with django_capture_on_commit_callbacks(execute=True):
        run_published(published, "dispatch.order_process")
    assert published == [("dispatch.notifications_send", [])]  # sending is asked for after commit

    listing = api_client.get(f"{API}/orders/{order_id}/notifications/sms")
    assert listing.status_code == 200
    body = listing.json()
    assert (body["orderId"], body["sendersReference"], body["generated"], body["succeeded"]) == (
        order_id,
        "ref-e2e",
        2,
        0,
    )
    assert sorted(n["recipient"]["mobileNumber"] for n in body["notifications"]) == [
        "+4799999991",
        "+4799999992",
    ]
    assert {n["sendStatus"]["status"] for n in body["notifications"]} == {"New"}

    status = api_client.get(f"{API}/orders/{order_id}/status").json()
    assert status["processingStatus"]["status"] == "Processed"  # reported as itself


def test_email_order_for_a_reserved_person_completes_at_once_with_one_failed_notification(
    api_client, published, django_capture_on_commit_callbacks
):
    Person.objects.create(
        national_identity_number="01010112345", name="Ola", email_address="ola@example.no", reserved=True
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api_client,
            "/orders/email",
            {"subject": "S", "body": "B", "recipients": [{"nationalIdentityNumber": "01010112345"}]},
        )
    order_id = response.json()["orderId"]
    with django_capture_on_commit_callbacks(execute=True):
        run_published(published, "dispatch.order_process")

    body = api_client.get(f"{API}/orders/{order_id}/notifications/email").json()
    assert body["generated"] == 1
    (notification,) = body["notifications"]
    assert notification["sendStatus"]["status"] == "Failed_RecipientReserved"
    assert notification["succeeded"] is False
    assert published == []  # nothing to send
    status = api_client.get(f"{API}/orders/{order_id}/status").json()
    assert status["processingStatus"]["status"] == "Completed"
