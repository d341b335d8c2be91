"""Errors outside DRF (an unknown URL, a plain view that fails) are problem details, never Django's pages.

Through the real server with DEBUG on, see test_serving.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import Client

from notifications_project.launcher import BASE_DIR

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.notifications_project.serving_urls")]


def test_a_view_that_raises_is_a_500_problem_without_the_traceback(caplog) -> None:
    response = Client(raise_request_exception=False).get("/test-only/fails")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Internal Server Error"
    assert b"secret detail" not in response.content
    assert any("secret detail" in str(record.exc_info) for record in caplog.records)


@pytest.mark.parametrize("path", ["/no/such/page", "/notifications/api/v1/no-such-endpoint"])
def test_an_unknown_url_is_a_404_problem_without_the_url_patterns(path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert b"notifications/api/v1/orders" not in response.content


def test_debug_in_the_environment_never_turns_on_djangos_debug_mode() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DJANGO_SETTINGS_MODULE": "notifications_project.settings",
        "DEBUG": "true",
        "SECRET_KEY": "x",
    }
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"

    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"
