"""Helpers for the orders API tests: JSON requests, recorded task publishing, registry rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from notifications_project import celery_app
from orders.registry.models import Organization, OrganizationContact, Person

API = "/notifications/api/v1"


def post_json(client: APIClient, path: str, body: Any) -> Any:
    """POST ``body`` as JSON, exactly as a client would send it."""
    return client.post(f"{API}{path}", data=json.dumps(body), content_type="application/json")


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any]]]:
    """Tasks published to the broker (the network edge), recorded instead of sent."""
    calls: list[tuple[str, list[Any]]] = []

    def send_task(name: str, args: list[Any] | None = None, **kwargs: Any) -> None:
        calls.append((name, list(args or [])))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return calls


@pytest.fixture
def registry_person() -> Callable[..., Person]:
    def make(
        nin: str, *, reserved: bool = False, mobile: str = "", email: str = "", name: str = ""
    ) -> Person:
        return Person.objects.create(
            national_identity_number=nin,
            reserved=reserved,
            mobile_number=mobile,
            email_address=email,
            name=name,
        )

    return make


@pytest.fixture
def registry_organization() -> Callable[..., Organization]:
    def make(orgno: str, *, emails: tuple[str, ...] = (), mobiles: tuple[str, ...] = ()) -> Organization:
        organization = Organization.objects.create(organization_number=orgno, name=f"Org {orgno}")
        OrganizationContact.objects.bulk_create(
            [OrganizationContact(organization=organization, kind="email", address=a) for a in emails]
            + [OrganizationContact(organization=organization, kind="sms", address=m) for m in mobiles]
        )
        return organization

    return make
