"""Fixtures of the future API tests: JSON requests, recorded task publishing, registry rows, providers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from dispatch.providers import reset_providers
from tests.orders.api.conftest import API, post_json, published, registry_organization, registry_person

__all__ = ["API", "post_json", "published", "registry_organization", "registry_person"]

FUTURE = f"{API}/future"


def post_future(client: APIClient, path: str, body: Any) -> Any:
    """POST ``body`` as JSON to a future API path (``/orders``, ``/orders/instant/sms``)."""
    return post_json(client, f"/future{path}", body)


@pytest.fixture
def fresh_providers(settings: Any) -> Iterator[None]:
    """Providers built from this test's settings (the sandbox by default), closed afterwards."""
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "anytime"
    reset_providers()
    yield
    reset_providers()
