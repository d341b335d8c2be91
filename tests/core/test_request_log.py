"""The request log line: one line per request, whatever the caller puts in its path or X-Request-ID."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PLAIN = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "notifications.request"]


@pytest.mark.parametrize("given_id", ["abc-123", "trace.7:span_9", "A" * 128])
def test_a_plain_request_id_is_kept(given_id: str) -> None:
    response = APIClient().get("/health", HTTP_X_REQUEST_ID=given_id)

    assert response["X-Request-ID"] == given_id


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(given_id=st.text(min_size=1, max_size=300).filter(lambda text: not PLAIN.fullmatch(text)))
def test_any_other_request_id_is_replaced_by_a_new_one(
    given_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Spaces, control characters, 'request_id=' look-alikes and long texts never reach a log or header."""
    header = given_id.encode("latin-1", "replace").decode("latin-1")  # what can travel in a header
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="notifications.request"):
        response = APIClient().get("/health", HTTP_X_REQUEST_ID=header)

    assert PLAIN.fullmatch(response["X-Request-ID"])
    assert response["X-Request-ID"] != header
    (line,) = _log_lines(caplog)
    assert line.count("request_id=") == 1
    assert "\n" not in line
    assert "\r" not in line


@pytest.mark.parametrize(
    "path", ["/health%0AGET%20/forged%20200", "/nope%0D%0Ainjected", "/x%00y", "/a%E2%80%A8b"]
)
def test_a_control_character_in_the_path_is_logged_escaped_on_one_line(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="notifications.request"):
        APIClient().get(path)

    (line,) = _log_lines(caplog)
    assert not re.search(r"[\x00-\x1f\u2028]", line)
    assert "\\x" in line


def test_an_order_registered_by_a_request_is_one_log_line_with_the_request(
    api_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"body": "Hello", "recipients": [{"mobileNumber": "+4799999999"}], "requestedSendTime": tomorrow}
    with caplog.at_level(logging.INFO):
        response = api_client.post(
            "/notifications/api/v1/orders/sms", body, format="json", HTTP_X_REQUEST_ID="req-1"
        )

    assert response.status_code == 202
    order_id = response.json()["orderId"]
    (record,) = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert record.name == "notifications.request"
    assert record.getMessage().startswith("POST /notifications/api/v1/orders/sms 202 ")
    assert record.getMessage().endswith(f"request_id=req-1 order {order_id} registered: Sms, 1 recipient(s)")
    assert (record.request_id, record.order_id, record.creator) == ("req-1", order_id, "ttd")  # type: ignore[attr-defined]


def test_an_event_outside_a_request_is_a_line_of_its_own(caplog: pytest.LogCaptureFixture) -> None:
    from core.middleware import log_with_request

    with caplog.at_level(logging.INFO, logger="orders.services"):
        log_with_request(
            logging.getLogger("orders.services"), "order %s registered", "x", extra={"order_id": "x"}
        )

    (record,) = caplog.records
    assert record.name == "orders.services"
    assert record.getMessage() == "order x registered"
    assert record.order_id == "x"  # type: ignore[attr-defined]
