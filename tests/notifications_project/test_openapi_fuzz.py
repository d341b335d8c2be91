"""Fuzzing the API from its own OpenAPI document with schemathesis: no 5xx, every response as documented.

The document is fetched from the running WSGI app (``/notifications/api/v1/openapi.json``), so every
operation in it is fuzzed, including ones added later. Requests carry a valid token of creator ``ttd``;
schemathesis generates valid and invalid parameters and bodies and checks each response against the
document (status code, content type, headers, body schema), plus its own checks (no server error,
invalid data refused, missing auth refused). Examples per operation are bounded so the run stays short;
``make soak`` sets ``FUZZ_CASES`` to generate at least that many cases over all operations.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from notifications_project.wsgi import application
from tests.faults.support import report
from tests.notifications_project.routes import OPENAPI_PATH

# Examples per operation and generation mode: enough to hit every field with wrong types, missing and
# extra values, and odd strings, while the whole run stays well under a minute.
MAX_EXAMPLES = 25


# Loaded when the module is collected (Django is set up by then; the document needs no database).
schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, application)
OPERATIONS = sum(1 for _ in schema.get_all_operations())
# `make soak`: enough examples per operation for FUZZ_CASES cases over all of them (each example a case).
MAX_EXAMPLES = max(MAX_EXAMPLES, math.ceil(int(os.environ.get("FUZZ_CASES") or 0) / OPERATIONS))
CASES: Counter[str] = Counter()  # cases run per operation, for the soak summary
# The examples phase (every example in the document) and the fuzzing phase (MAX_EXAMPLES generated valid
# and invalid requests per operation) run; the coverage phase, which walks every boundary of every field
# without a bound, would take minutes on the order requests.
schema.config.phases.coverage.enabled = False


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """As Django's test client does: a request must not close the connection of the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    case: schemathesis.Case, make_token: Callable[..., str], published: Any
) -> None:
    CASES[case.operation.label] += 1
    # Schemathesis fills the security schemes' headers with generated values; a valid token replaces them,
    # so the cases reach the operations (the missing-auth check still sends each one without a token).
    case.headers = {
        name: value
        for name, value in (case.headers or {}).items()
        if name.lower() not in ("authorization", "platformaccesstoken")
    }
    case.call_and_validate(
        headers={"Authorization": f"Bearer {make_token()}"},
        # "Schema-valid data is accepted" cannot hold for an order: a mobile number must be one that
        # libphonenumber knows, an EmailAndSms order needs both templates... rules JSON Schema cannot say.
        # Invalid data must still be refused (negative_data_rejection stays on).
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


@pytest.fixture(autouse=True, scope="module")
def _count_cases() -> Iterator[None]:
    yield
    report(
        "openapi_fuzz", cases=sum(CASES.values()), operations=len(CASES), examples_per_operation=MAX_EXAMPLES
    )


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Pipeline tasks are published to the broker (the network edge): recorded here, not run."""
    from notifications_project import celery_app

    names: list[str] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *args, **kwargs: names.append(name))
    return names
