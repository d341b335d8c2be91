"""A 400 lists at most 100 errors (MAX_LISTED_ERRORS) and says what it left out, whatever the request."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from core.problems import MAX_LISTED_ERRORS
from tests.orders.api.conftest import API

pytestmark = pytest.mark.django_db

GOOD = {"mobileNumber": "+4799999999"}
BAD = {"mobileNumber": "not a number"}


def _post(client: APIClient, body: object) -> object:
    return client.post(f"{API}/orders/sms", json.dumps(body), content_type="application/json")


def test_many_bad_recipients_list_the_first_100_and_the_rest_is_not_checked(api_client: APIClient) -> None:
    """100,000 bad recipients once answered 25 MB of errors after seconds of work."""
    response = _post(api_client, {"body": "Hei", "recipients": [BAD] * 1000})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == MAX_LISTED_ERRORS + 1
    assert "recipients[99].mobileNumber" in errors
    assert errors[""] == ["The 900 recipients after recipients[99] were not checked."]


def test_errors_beyond_the_limit_are_counted(api_client: APIClient) -> None:
    """A recipient with two bad fields gives two errors: with body missing 201 found, 100 listed."""
    recipient = {"nationalIdentityNumber": "1", "emailAddress": "x" * 1000}

    response = _post(api_client, {"recipients": [recipient] * 100})

    errors = response.json()["errors"]
    assert len(errors) == MAX_LISTED_ERRORS + 1
    # body's own error is one of those left out: the recipients come first in the request's fields.
    assert errors[""] == ["101 more errors are not listed."]


KINDS = st.sampled_from([GOOD, BAD, {"nationalIdentityNumber": "1", "mobileNumber": ""}, 7])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # Around and well past the limit: hypothesis alone would keep lists short.
    pattern=st.integers(50, 400).flatmap(lambda n: st.lists(KINDS, min_size=n, max_size=n)),
    body=st.sampled_from([{}, {"body": "Hei"}, {"body": 5, "sendersReference": 5}]),
)
def test_any_request_lists_at_most_100_errors_and_notes_the_rest(
    api_client: APIClient, pattern: list[object], body: dict[str, object]
) -> None:
    response = _post(api_client, {**body, "recipients": pattern})

    if response.status_code != 400:
        return
    errors = response.json()["errors"]
    listed = [path for path in errors if path]
    assert len(listed) <= MAX_LISTED_ERRORS
    if sum(item != GOOD for item in pattern) > MAX_LISTED_ERRORS:
        # Each bad recipient is at least one error: some were left out, and the answer says so.
        assert len(listed) == MAX_LISTED_ERRORS
        assert errors[""]
