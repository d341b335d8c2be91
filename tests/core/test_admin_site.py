"""The kernel's admin site and list filters, on their own: no app's panel, any model's index."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from core.admin.filters import distinct_values
from core.admin_site import OpsAdminSite
from orders.models import Order
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_the_site_shows_djangos_index_until_an_app_sets_its_panel(rf):
    site = OpsAdminSite(name="bare")
    request = rf.get("/admin/")
    request.user = User.objects.create_user(username="staff", is_staff=True, is_superuser=True)

    plain = site.index(request)

    assert plain.template_name == "admin/index.html"
    assert "dashboard" not in plain.context_data

    seen = []

    def panel(panel_request):
        seen.append(panel_request)
        return {"dashboard": "numbers"}

    site.index_panel(template="admin/some_panel.html", context=panel)
    with_panel = site.index(request, extra_context={"title": "Given"})

    assert with_panel.template_name == "admin/some_panel.html"
    assert with_panel.context_data["dashboard"] == "numbers"
    assert with_panel.context_data["title"] == "Given"
    assert seen == [request]


def test_distinct_values_reads_each_value_once_in_order_up_to_the_limit():
    assert distinct_values(Order, "creator", 10) == []
    for creator in ("nav", "ttd", "skd", "nav", "ttd"):
        OrderFactory(creator=creator)
    assert distinct_values(Order, "creator", 10) == ["nav", "skd", "ttd"]
    assert distinct_values(Order, "creator", 2) == ["nav", "skd"]


def test_distinct_values_refuses_a_name_that_is_not_a_column():
    with pytest.raises(ValueError, match="recipients"):
        distinct_values(Order, "recipients", 10)
