"""The stored-templates API: create, read, change (new versions), archive, per creator; and the preview."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from templates.models import StoredTemplate, StoredTemplateVersion

pytestmark = pytest.mark.django_db

API = "/notifications/api/v1"


def send(client: APIClient, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(f"{API}{path}", data=data, content_type="application/json")


def sms_template(**fields: Any) -> dict[str, Any]:
    return {
        "type": "Sms",
        "name": "Reminder",
        "body": "Hi $recipientName$, pay ((amount)) by ((date)).",
        **fields,
    }


def email_template(**fields: Any) -> dict[str, Any]:
    return {
        "type": "Email",
        "name": "Appointment",
        "subject": "Appointment on ((date))",
        "body": "<p>Dear ((name)), see you on ((date)).</p>",
        "contentType": "Html",
        **fields,
    }


def errors_of(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return dict(response.json()["errors"])


def created(client: APIClient, body: dict[str, Any]) -> dict[str, Any]:
    response = send(client, "post", "/templates", body)
    assert response.status_code == 201, response.content
    return dict(response.json())


# --- Create and read ---------------------------------------------------------------------------------


def test_an_sms_template_is_stored_as_version_1_with_its_fields(api_client: APIClient) -> None:
    response = send(api_client, "post", "/templates", sms_template(senderNumber="Etat"))

    assert response.status_code == 201
    body = response.json()
    assert response["Location"].endswith(f"/notifications/api/v1/templates/{body['id']}")
    assert body["type"] == "Sms"
    assert body["name"] == "Reminder"
    assert (body["version"], body["currentVersion"]) == (1, 1)
    assert body["personalisationFields"] == ["amount", "date"]
    assert body["senderNumber"] == "Etat"
    assert "subject" not in body
    assert "contentType" not in body
    row = StoredTemplate.objects.get(id=body["id"])
    assert (row.creator, row.type) == ("ttd", "Sms")
    assert send(api_client, "get", f"/templates/{body['id']}").json() == body


def test_an_email_template_keeps_subject_content_type_and_sender(api_client: APIClient) -> None:
    body = created(api_client, email_template(fromAddress="noreply@etat.no", subject="Line\nbreak ((date))"))

    assert body["subject"] == "Line break ((date))"
    assert body["contentType"] == "Html"
    assert body["fromAddress"] == "noreply@etat.no"
    assert body["personalisationFields"] == ["date", "name"]
    assert "senderNumber" not in body


def test_the_list_shows_the_current_version_of_each_template_newest_first(api_client: APIClient) -> None:
    first = created(api_client, sms_template(name="First"))
    second = created(api_client, email_template(name="Second"))
    send(api_client, "put", f"/templates/{first['id']}", sms_template(name="First, renamed"))

    listing = send(api_client, "get", "/templates").json()

    assert listing["count"] == 2
    assert [(t["id"], t["name"], t["version"]) for t in listing["templates"]] == [
        (second["id"], "Second", 1),
        (first["id"], "First, renamed", 2),
    ]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "x", "body": "y"}, "type", "The template type (Email or Sms) is required."),
        (sms_template(type="Fax"), "type", '"Fax" is not a valid value. Valid values: Email, Sms.'),
        (sms_template(name="  "), "name", "The template name cannot be empty."),
        (sms_template(body=""), "body", "The template body cannot be empty."),
        (sms_template(body=5), "body", "Must be a string."),
        (email_template(subject=None), "subject", "An email template needs a subject."),
        (sms_template(subject="Hi"), "subject", "Not allowed in an Sms template."),
        (sms_template(contentType="Html"), "contentType", "Not allowed in an Sms template."),
        (email_template(senderNumber="Etat"), "senderNumber", "Not allowed in an Email template."),
        (sms_template(senderNumber="not a valid sender!"), "senderNumber", None),
        (email_template(fromAddress="Name <a@b.no>"), "fromAddress", None),
        (sms_template(body="x" * 1601), "body", "Ensure this field has no more than 1600 characters."),
    ],
)
def test_a_bad_template_is_a_400_naming_the_field(
    api_client: APIClient, body: dict[str, Any], field: str, message: str | None
) -> None:
    errors = errors_of(send(api_client, "post", "/templates", body))

    assert field in errors
    if message:
        assert message in errors[field]
    assert not StoredTemplate.objects.exists()


# --- Versions --------------------------------------------------------------------------------------


def test_every_change_is_a_new_version_and_old_versions_stay_readable(api_client: APIClient) -> None:
    template = created(api_client, sms_template(body="Version one ((a))"))
    path = f"/templates/{template['id']}"

    changed = send(api_client, "put", path, {"name": "Reminder", "body": "Version two ((b))"})
    assert changed.status_code == 200
    assert (changed.json()["version"], changed.json()["personalisationFields"]) == (2, ["b"])

    same = send(api_client, "put", path, {"name": "Reminder", "body": "Version two ((b))", "type": "Sms"})
    assert same.json()["version"] == 2  # nothing changed: no new version

    versions = send(api_client, "get", f"{path}/versions").json()
    assert versions["count"] == 2
    assert [(v["version"], v["body"], v["currentVersion"]) for v in versions["versions"]] == [
        (1, "Version one ((a))", 2),
        (2, "Version two ((b))", 2),
    ]
    assert send(api_client, "get", f"{path}/versions/1").json()["body"] == "Version one ((a))"
    assert send(api_client, "get", f"{path}/versions/3").status_code == 404
    assert send(api_client, "get", f"{path}/versions/zero").status_code == 404  # not a version's path


def test_the_type_of_a_template_cannot_change(api_client: APIClient) -> None:
    template = created(api_client, sms_template())

    errors = errors_of(send(api_client, "put", f"/templates/{template['id']}", email_template()))

    assert errors["type"] == ["The type of a template cannot change; create a new template instead."]
    assert StoredTemplateVersion.objects.count() == 1


def test_versions_are_immutable_in_the_database(api_client: APIClient) -> None:
    created(api_client, sms_template())

    with pytest.raises(IntegrityError), transaction.atomic():
        StoredTemplateVersion.objects.update(body="changed behind the API's back")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM notification_templates_storedtemplateversion")
        assert cursor.fetchone()[0] == sms_template()["body"]


# --- Archive ---------------------------------------------------------------------------------------


def test_delete_archives_the_template(api_client: APIClient) -> None:
    template = created(api_client, sms_template())
    path = f"/templates/{template['id']}"

    assert send(api_client, "delete", path).status_code == 204

    assert send(api_client, "get", path).status_code == 404
    assert send(api_client, "get", f"{path}/versions").status_code == 404
    assert send(api_client, "get", "/templates").json() == {"count": 0, "templates": []}
    assert send(api_client, "put", path, sms_template()).status_code == 404
    assert send(api_client, "delete", path).status_code == 404
    row = StoredTemplate.objects.get(id=template["id"])
    assert row.archived_at is not None
    assert row.versions.count() == 1  # kept for the orders made from it


# --- Creators and tokens ---------------------------------------------------------------------------


def test_another_creators_template_is_not_found_anywhere(
    api_client: APIClient, other_client: APIClient
) -> None:
    template = created(api_client, sms_template())
    path = f"/templates/{template['id']}"

    for method, suffix, body in [
        ("get", "", None),
        ("put", "", sms_template(body="Taken over")),
        ("delete", "", None),
        ("get", "/versions", None),
        ("get", "/versions/1", None),
        ("post", "/preview", {"personalisation": {}}),
    ]:
        response = send(other_client, method, f"{path}{suffix}", body)
        assert response.status_code == 404, (method, suffix)
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["detail"] == "No template with this id was found."
    assert send(other_client, "get", "/templates").json()["count"] == 0
    assert StoredTemplate.objects.get(id=template["id"]).archived_at is None
    assert StoredTemplateVersion.objects.count() == 1


def test_a_non_uuid_id_is_a_400_problem(api_client: APIClient) -> None:
    assert errors_of(send(api_client, "get", "/templates/not-a-uuid")) == {
        "id": ["The template id must be a UUID."]
    }


def test_the_templates_api_needs_a_token_with_the_create_scope(make_token: Any) -> None:
    anonymous = APIClient()
    assert send(anonymous, "get", "/templates").status_code == 401
    assert send(anonymous, "post", "/templates", sms_template()).status_code == 401

    no_scope = APIClient()
    no_scope.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(scopes=['altinn:serviceowner/other'])}")
    assert send(no_scope, "get", "/templates").status_code == 403
    assert send(no_scope, "post", "/templates", sms_template()).status_code == 403
    assert not StoredTemplate.objects.exists()


def test_a_platform_token_manages_the_templates_of_its_issuer(make_token: Any) -> None:
    platform = APIClient()
    platform.credentials(HTTP_PLATFORMACCESSTOKEN=make_token(platform=True, org="ttd"))

    template = created(platform, sms_template())

    assert StoredTemplate.objects.get(id=template["id"]).creator == "ttd"


# --- Preview ---------------------------------------------------------------------------------------


def test_an_sms_preview_fills_in_the_values_and_counts_the_parts(api_client: APIClient) -> None:
    template = created(api_client, sms_template())

    response = send(
        api_client,
        "post",
        f"/templates/{template['id']}/preview",
        {"personalisation": {"amount": "NOK 100", "unknown": "x"}},
    )

    assert response.status_code == 200
    assert response.json() == {
        "templateId": template["id"],
        "version": 1,
        "type": "Sms",
        "body": "Hi $recipientName$, pay NOK 100 by ((date)).",
        "sms": {"encoding": "GSM-7", "partCount": 1, "charactersLeft": 160 - 44},
        "missingPersonalisation": ["date"],
        "unusedPersonalisation": ["unknown"],
    }


def test_an_sms_preview_reports_ucs2_and_several_parts(api_client: APIClient) -> None:
    template = created(api_client, sms_template(body="((text))"))

    preview = send(
        api_client, "post", f"/templates/{template['id']}/preview", {"personalisation": {"text": "ж" * 71}}
    ).json()

    assert preview["sms"] == {"encoding": "UCS-2", "partCount": 2, "charactersLeft": 2 * 67 - 71}
    assert preview["missingPersonalisation"] == []


def test_an_html_preview_escapes_every_value(api_client: APIClient) -> None:
    template = created(api_client, email_template())

    preview = send(
        api_client,
        "post",
        f"/templates/{template['id']}/preview",
        {"personalisation": {"name": '<script>alert("x")</script>', "date": 'Tom\'s "day" & night'}},
    ).json()

    assert preview["body"] == (
        "<p>Dear &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, see you on "
        "Tom&#x27;s &quot;day&quot; &amp; night.</p>"
    )
    assert preview["subject"] == 'Appointment on Tom\'s "day" & night'  # a subject is not HTML
    assert preview["contentType"] == "Html"
    assert "sms" not in preview


def test_a_plain_email_preview_leaves_values_as_they_are(api_client: APIClient) -> None:
    template = created(api_client, email_template(contentType="Plain"))

    preview = send(
        api_client, "post", f"/templates/{template['id']}/preview", {"personalisation": {"name": "<b>&"}}
    ).json()

    assert preview["body"].startswith("<p>Dear <b>&, see you on ((date))")
    assert preview["missingPersonalisation"] == ["date"]


def test_a_preview_of_an_older_version(api_client: APIClient) -> None:
    template = created(api_client, sms_template(body="One ((a))"))
    path = f"/templates/{template['id']}"
    send(api_client, "put", path, sms_template(body="Two ((a))"))

    assert (
        send(api_client, "post", f"{path}/preview?version=1", {"personalisation": {"a": "x"}}).json()["body"]
        == "One x"
    )
    assert (
        send(api_client, "post", f"{path}/preview", {"personalisation": {"a": "x"}}).json()["body"] == "Two x"
    )
    assert send(api_client, "post", f"{path}/preview?version=9", {}).status_code == 404
    assert errors_of(send(api_client, "post", f"{path}/preview?version=-1", {})) == {
        "version": ["The version must be a whole number of at least 1."]
    }


def test_a_preview_with_bad_values_is_a_400_naming_the_field(api_client: APIClient) -> None:
    template = created(api_client, sms_template())

    errors = errors_of(
        send(api_client, "post", f"/templates/{template['id']}/preview", {"personalisation": {"amount": 100}})
    )

    assert errors == {"personalisation.amount": ["Must be a string."]}
