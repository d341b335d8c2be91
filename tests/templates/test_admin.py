"""Stored templates in the admin: the list, versions side by side and the preview, read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from templates.models import StoredTemplate
from templates.store import TemplateContent, template_archive, template_create, template_update

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.orders.admin_support"]  # staff clients of each group

TEMPLATE_LIST = reverse("admin:notification_templates_storedtemplate_changelist")


def html_template() -> StoredTemplate:
    version = template_create(
        creator="ttd",
        type="Email",
        content=TemplateContent(
            name="Appointment", subject="On ((date))", body="<p>Old ((name))</p>", content_type="Html"
        ),
    )
    template_update(
        template_id=version.template_id,
        creator="ttd",
        content=TemplateContent(
            name="Appointment v2",
            subject="On ((date))",
            body='<p>New ((name))</p><script>alert("x")</script>',
            content_type="Html",
        ),
    )
    return StoredTemplate.objects.get(id=version.template_id)


def test_support_sees_the_list_with_the_current_names(support_client) -> None:
    template = html_template()
    sms = template_create(creator="nav", type="Sms", content=TemplateContent(name="Kort", body="Hei ((x))"))
    template_archive(template_id=sms.template_id, creator="nav")

    page = support_client.get(TEMPLATE_LIST).content.decode()

    assert "Appointment v2" in page
    assert "Kort" in page
    assert str(template.id) in page
    archived_only = support_client.get(f"{TEMPLATE_LIST}?archived=yes").content.decode()
    assert "Kort" in archived_only
    assert "Appointment v2" not in archived_only


def test_the_page_shows_versions_side_by_side_and_a_sandboxed_preview(support_client) -> None:
    template = html_template()

    response = support_client.get(
        reverse("admin:notification_templates_storedtemplate_change", args=[template.id])
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Version 2") < page.index("Version 1")  # newest first, one column each
    assert "&lt;p&gt;Old ((name))&lt;/p&gt;" in page  # every version's body, escaped as text
    assert "Appointment v2" in page
    # The Html body in a frame without scripts, placeholders shown as [name].
    assert '<iframe sandbox srcdoc="&lt;p&gt;New [name]&lt;/p&gt;&lt;script&gt;' in page
    assert "<script>alert" not in page
    assert "On [date]" in page


def test_an_sms_preview_shows_encoding_and_parts(support_client) -> None:
    version = template_create(
        creator="ttd", type="Sms", content=TemplateContent(name="Kort", body="Hei ((x))")
    )

    page = support_client.get(
        reverse("admin:notification_templates_storedtemplate_change", args=[version.template_id])
    ).content.decode()

    assert "Hei [x]" in page
    # [ and ] are GSM-7 extension characters: two septets each, so 9 of 160 are used.
    assert "GSM-7, 1 part(s), 151 characters left in the last part" in page


def test_nobody_changes_templates_in_the_admin(superuser_client) -> None:
    template = html_template()

    assert superuser_client.get(reverse("admin:notification_templates_storedtemplate_add")).status_code == 403
    delete = reverse("admin:notification_templates_storedtemplate_delete", args=[template.id])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    assert StoredTemplate.objects.filter(id=template.id).exists()


def test_staff_without_a_group_do_not_see_templates(staff_without_group_client) -> None:
    assert staff_without_group_client.get(TEMPLATE_LIST).status_code == 403
