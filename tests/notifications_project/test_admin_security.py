"""The admin is the only door to operations (retry, cancel, re-apply, import), and it opens only for staff.

Every admin route is read from the URL resolver, so a button or view added later is checked too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.notifications_project.routes import Route, all_routes

pytestmark = pytest.mark.django_db

# Routes the admin serves to anybody: its login page, and logging out.
OPEN_TO_ANYONE = {"login", "logout"}
# What a staff member without any permission may still see: the (empty) index, their own password form.
OPEN_TO_ANY_STAFF = OPEN_TO_ANYONE | {"index", "password_change", "password_change_done", "jsi18n"}
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def _admin_routes() -> list[Route]:
    routes = [route for route in all_routes() if route.route.startswith("admin/")]
    assert len(routes) > 20
    return routes


def _path(route: Route) -> str:
    """A concrete path; regex routes (the admin's app index and catch-all) get their named groups filled."""
    if route.route.startswith("admin/^") or "(?P<" in route.route:
        filled = _REGEX_GROUP.sub(lambda m: "orders" if m["name"] == "app_label" else "x", route.route)
        return "/" + filled.replace("^", "").replace("$", "")
    return route.path(object_id="1", content_type_id="1")


def _is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/admin/login/")


def _refused(client: Client, skip: set[str], allowed: set[int], within_admin: bool = False) -> list[str]:
    failures = []
    for route in _admin_routes():
        if route.name in skip:
            continue
        path = _path(route)
        for method in ("get", "post"):
            response = getattr(client, method)(path, {"action": "retry_selected", "_selected_action": ["1"]})
            # Staff are sent back to the index for a missing object, or on to the change page (checked as
            # a route of its own).
            to_index = (
                within_admin and response.status_code == 302 and response["Location"].startswith("/admin/")
            )
            if not (_is_login_redirect(response) or response.status_code in allowed or to_index):
                failures.append(f"{method.upper()} {path} ({route.name}): {response.status_code}")
    return failures


def test_every_admin_route_sends_an_anonymous_visitor_to_the_login_page() -> None:
    failures = _refused(Client(), OPEN_TO_ANYONE, allowed=set())
    assert not failures, "\n".join(failures)


def test_every_admin_route_sends_a_logged_in_user_who_is_not_staff_to_the_login_page() -> None:
    user = get_user_model().objects.create_user("citizen", password="x" * 20, is_staff=False)
    client = Client()
    client.force_login(user)

    failures = _refused(client, OPEN_TO_ANYONE, allowed=set())

    assert not failures, "\n".join(failures)


def test_staff_without_permissions_can_reach_no_model_page_and_no_operation() -> None:
    user = get_user_model().objects.create_user("new-staff", password="x" * 20, is_staff=True)
    client = Client()
    client.force_login(user)

    # 403 (no permission), 404 or back to the index (nothing to show), 405 (no such method); never a
    # page or a change.
    failures = _refused(client, OPEN_TO_ANY_STAFF, allowed={403, 404, 405}, within_admin=True)

    assert not failures, "\n".join(failures)
