"""Self-identified users in the contact registry: the database lookup, the CSV import and the admin."""

from __future__ import annotations

import io
from tempfile import NamedTemporaryFile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.urls import reverse

from orders.audit import AuditAction, AuditEntry
from orders.registry.base import ExternalIdentityContact
from orders.registry.database import DatabaseRegistry
from orders.registry.models import SelfIdentifiedUser
from orders.registry.services import contacts_import

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.orders.admin_support"]

SI = "urn:altinn:person:legacy-selfidentified:"
HEADER = "kind,identifier,name,mobile_numbers,email_addresses,reserved\n"
USERS = reverse("admin:orders_selfidentifieduser_changelist")
ADD = reverse("admin:orders_selfidentifieduser_add")


def test_the_database_registry_finds_users_by_any_username_urn_without_case() -> None:
    SelfIdentifiedUser.objects.create(
        username="ola", mobile_number="+4799315000", email_address="ola@example.no"
    )
    SelfIdentifiedUser.objects.create(username="kari", email_address="kari@example.no")
    asked = [
        f"{SI}OLA",
        "urn:altinn:username:ola",
        "urn:altinn:party:username:kari",
        f"{SI}nobody",
        "urn:altinn:person:idporten-email:ola@example.no",  # carries its address: never looked up
        "not-a-urn",
    ]

    found = DatabaseRegistry().external_identities(asked)

    assert found == {
        f"{SI}OLA": ExternalIdentityContact(f"{SI}OLA", "+4799315000", "ola@example.no"),
        "urn:altinn:username:ola": ExternalIdentityContact(
            "urn:altinn:username:ola", "+4799315000", "ola@example.no"
        ),
        "urn:altinn:party:username:kari": ExternalIdentityContact(
            "urn:altinn:party:username:kari", None, "kari@example.no"
        ),
    }
    assert DatabaseRegistry().external_identities([]) == {}


def test_the_database_refuses_a_username_not_in_lower_case_and_a_number_not_in_e164() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        SelfIdentifiedUser.objects.create(username="Ola")
    with pytest.raises(IntegrityError), transaction.atomic():
        SelfIdentifiedUser.objects.create(username="ola", mobile_number="99315000")


def test_the_import_adds_and_updates_self_identified_users_in_lower_case() -> None:
    result = contacts_import(
        lines=io.StringIO(HEADER + "selfidentified, Ola.Selvid ,Ola,99315000,ola@example.no,\n")
    )
    assert (result.self_identified, result.persons, result.errors) == (1, 0, [])
    result = contacts_import(
        lines=io.StringIO(HEADER + "SelfIdentified,ola.selvid,Ola S,,ny@example.no,false\n")
    )
    assert result.self_identified == 1
    assert list(
        SelfIdentifiedUser.objects.values_list("username", "name", "mobile_number", "email_address")
    ) == [("ola.selvid", "Ola S", "", "ny@example.no")]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("selfidentified,,Ola,,ola@example.no,", "the username must be 1 to 200 characters"),
        ("selfidentified,ola,,,ola@example.no,true", "a self-identified user cannot be reserved"),
        (
            "selfidentified,ola,,+4799315000;+4799315001,,",
            "a self-identified user has at most one mobile number",
        ),
        (
            "selfidentified,ola,,,a@example.no;b@example.no,",
            "a self-identified user has at most one email address",
        ),
        ("selfidentified,ola,,12,,", "'12' is not a valid mobile number"),
        ("robot,ola,,,,", "kind must be 'person', 'organization' or 'selfidentified'"),
    ],
)
def test_a_bad_self_identified_row_is_rejected_with_its_line(row: str, message: str) -> None:
    result = contacts_import(lines=io.StringIO(HEADER + row + "\n"))

    assert result.self_identified == 0
    assert len(result.errors) == 1
    assert result.errors[0].line == 2
    assert message in result.errors[0].message
    assert not SelfIdentifiedUser.objects.exists()


def test_the_same_username_twice_in_a_file_is_reported_on_the_second_line() -> None:
    result = contacts_import(
        lines=io.StringIO(HEADER + "selfidentified,ola,,,a@example.no,\nselfidentified,OLA,,,b@example.no,\n")
    )
    assert [str(e) for e in result.errors] == ["line 3: self-identified user ola is already on line 2"]
    assert SelfIdentifiedUser.objects.get().email_address == "a@example.no"


def test_the_command_reports_self_identified_users() -> None:
    out = io.StringIO()
    with NamedTemporaryFile("w", suffix=".csv", encoding="utf-8") as file:
        file.write(HEADER + "selfidentified,ola,,,ola@example.no,\nselfidentified,kari,,bad,,\n")
        file.flush()
        with pytest.raises(CommandError):
            call_command("import_contacts", file.name, stdout=out, stderr=io.StringIO())
    assert (
        "Imported: 0 person(s), 0 organization(s), 1 self-identified user(s); 1 row(s) rejected."
        in out.getvalue()
    )


# --- Admin -------------------------------------------------------------------------------------------


def test_an_operator_adds_a_user_with_the_number_normalised_and_the_username_lower_cased(
    operator_client,
) -> None:
    response = operator_client.post(
        ADD,
        {
            "username": " Ola.Selvid ",
            "name": "Ola",
            "mobile_number": "993 15 000",
            "email_address": "ola@example.no",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user = SelfIdentifiedUser.objects.get()
    assert (user.username, user.mobile_number) == ("ola.selvid", "+4799315000")
    assert AuditEntry.objects.filter(action=AuditAction.REGISTRY_ADD).count() == 1


def test_the_admin_refuses_an_invalid_mobile_number_naming_the_field(operator_client) -> None:
    response = operator_client.post(ADD, {"username": "ola", "mobile_number": "12", "email_address": ""})

    assert response.status_code == 200
    assert "Enter a valid mobile number" in response.content.decode()
    assert not SelfIdentifiedUser.objects.exists()


def test_support_sees_but_cannot_add_and_search_is_by_exact_username_without_case(
    support_client, operator_client
) -> None:
    SelfIdentifiedUser.objects.create(username="ola.selvid")
    SelfIdentifiedUser.objects.create(username="ola")

    response = support_client.get(USERS, {"q": " OLA "})
    assert response.status_code == 200
    assert [u.username for u in response.context["cl"].result_list] == ["ola"]
    assert support_client.post(ADD, {"username": "kari"}).status_code == 403
    assert not SelfIdentifiedUser.objects.filter(username="kari").exists()


def test_the_admin_import_takes_self_identified_rows(operator_client) -> None:
    upload = SimpleUploadedFile("contacts.csv", (HEADER + "selfidentified,ola,,,ola@example.no,\n").encode())

    response = operator_client.post(reverse("admin:orders_person_import"), {"file": upload}, follow=True)

    assert response.status_code == 200
    assert "Imported: 0 person(s), 0 organization(s), 1 self-identified user(s); 0 row(s) rejected." in (
        response.content.decode()
    )
    assert SelfIdentifiedUser.objects.get().username == "ola"
    details = AuditEntry.objects.get(action=AuditAction.REGISTRY_IMPORT).details
    assert (details["persons"], details["self_identified_users"]) == (0, 1)
