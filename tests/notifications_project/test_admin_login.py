"""Admin login throttling (django-axes) and the cookie and header settings of production."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
PASSWORD = "correct horse battery staple"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def staff() -> None:
    get_user_model().objects.create_user("operator", password=PASSWORD, is_staff=True)


def _login(
    password: str,
    *,
    address: str = "203.0.113.7",
    username: str = "operator",
    forwarded_for: str | None = None,
) -> int:
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    response = Client(REMOTE_ADDR=address, headers=headers).post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"}
    )
    return response.status_code


def test_a_correct_password_logs_in(staff: None) -> None:
    assert _login(PASSWORD) == 302


def test_after_five_failures_even_the_correct_password_is_refused_with_429(staff: None, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login("wrong") == 200  # the form again, with its error
    assert _login("wrong") == 429

    assert _login(PASSWORD) == 429


def test_the_lockout_ends_after_the_cool_off_time(staff: None, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login("wrong")

    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=1)):
        assert _login(PASSWORD) == 302


def test_the_lockout_is_per_username_and_address(staff: None, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login("wrong")

    # The same account from another address, and another account from the same address, still log in.
    assert _login(PASSWORD, address="198.51.100.9") == 302
    get_user_model().objects.create_user("support", password=PASSWORD, is_staff=True)
    assert _login(PASSWORD, username="support") == 302


def test_a_success_before_the_limit_resets_the_count(staff: None, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login("wrong")
    assert _login(PASSWORD) == 302

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login("wrong") == 200


PROXY = "10.0.0.5"


@pytest.fixture
def behind_proxy(settings) -> None:
    settings.NOTIFICATIONS_TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.NOTIFICATIONS_TRUSTED_PROXIES = ["10.0.0.0/8"]


def test_behind_a_trusted_proxy_one_client_locks_only_itself(
    staff: None, behind_proxy: None, settings
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login("wrong", address=PROXY, forwarded_for="203.0.113.7")

    assert _login(PASSWORD, address=PROXY, forwarded_for="203.0.113.7") == 429
    # Another client through the same proxy is not locked out with it.
    assert _login(PASSWORD, address=PROXY, forwarded_for="198.51.100.9") == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_addresses_a_client_writes_left_of_the_proxys_entry_are_ignored(
    staff: None, behind_proxy: None, settings
) -> None:
    """The proxy appends the address it saw; whatever the client sent itself stands left of it."""
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login("wrong", address=PROXY, forwarded_for=f"192.0.2.{attempt}, 203.0.113.7, 10.0.0.9")

    assert _login(PASSWORD, address=PROXY, forwarded_for="192.0.2.200, 203.0.113.7") == 429


def test_a_direct_client_forging_the_header_is_counted_by_its_own_address(
    staff: None, behind_proxy: None, settings
) -> None:
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login("wrong", address="203.0.113.7", forwarded_for=f"198.51.100.{attempt}")

    assert _login(PASSWORD, address="203.0.113.7", forwarded_for="198.51.100.200") == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_without_configuration_the_header_is_ignored(staff: None, settings) -> None:
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login("wrong", address=PROXY, forwarded_for=f"198.51.100.{attempt}")

    assert _login(PASSWORD, address=PROXY, forwarded_for="198.51.100.200") == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}


def _production_setting(*names: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DEBUG="false",
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="notifications.example.org",
        DJANGO_SETTINGS_MODULE="notifications_project.settings",
    )
    code = f"from django.conf import settings; print('|'.join(repr(getattr(settings, n)) for n in {names!r}))"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1].split("|")


def test_production_cookies_are_secure_host_only_and_short_lived() -> None:
    assert _production_setting(
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
        "SESSION_COOKIE_AGE",
    ) == ["True", "True", "True", "'__Host-sessionid'", "'__Host-csrftoken'", "28800"]


def test_production_sends_the_security_headers() -> None:
    assert _production_setting(
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS",
        "SECURE_REFERRER_POLICY",
    ) == ["True", "31536000", "True", "'DENY'", "'same-origin'"]


def test_the_clean_up_action_deletes_only_expired_attempts(settings) -> None:
    """axes' own action answered 500 on the admin page; ours deletes what the cool-off time has passed."""
    admin_user = get_user_model().objects.create_superuser("root", password=PASSWORD)
    old = AccessAttempt.objects.create(
        username="old", ip_address="203.0.113.1", user_agent="", failures_since_start=1
    )
    AccessAttempt.objects.filter(pk=old.pk).update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(minutes=1)
    )
    recent = AccessAttempt.objects.create(
        username="recent", ip_address="203.0.113.2", user_agent="", failures_since_start=1
    )
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/axes/accessattempt/",
        {"action": "cleanup_expired_attempts", "_selected_action": [old.pk, recent.pk]},
    )
    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["recent"]
