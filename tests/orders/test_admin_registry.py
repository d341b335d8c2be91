"""The contact registry in the admin: masked NINs, audited edits, the CSV import, permissions."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from orders.audit import AuditAction, AuditEntry, AuditOutcome
from orders.registry.models import Organization, OrganizationContact, Person

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.orders.admin_support"]  # staff clients of each group

PERSONS = reverse("admin:orders_person_changelist")
ORGANIZATIONS = reverse("admin:orders_organization_changelist")
IMPORT = reverse("admin:orders_person_import")
NIN = "01017012345"


def person(nin: str = NIN, **kwargs) -> Person:
    kwargs.setdefault("name", "Ola Nordmann")
    kwargs.setdefault("mobile_number", "+4799315000")
    return Person.objects.create(national_identity_number=nin, **kwargs)


def person_url(p: Person) -> str:
    return reverse("admin:orders_person_change", args=[p.pk])


def test_person_list_masks_the_nin_for_everyone(operator_client):
    person()
    page = operator_client.get(PERSONS).content.decode()
    assert NIN not in page
    assert "********345" in page


def test_person_page_shows_the_nin_only_to_users_with_the_permission(support_client, operator_client):
    p = person()
    assert NIN not in support_client.get(person_url(p)).content.decode()
    assert NIN in operator_client.get(person_url(p)).content.decode()


@pytest.mark.parametrize("query", ["", f"?q={NIN}", "?reserved__exact=1"])
def test_person_list_takes_the_same_queries_with_few_or_many_persons(support_client, query, count_queries_of):
    person()
    with count_queries_of() as small:
        support_client.get(PERSONS + query)
    for n in range(40):
        person(f"{n:011d}")
    with count_queries_of() as large:
        assert support_client.get(PERSONS + query).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries) <= 7


def test_person_search_is_by_exact_nin(support_client):
    person()
    person("02027012345", name="Kari Nordmann")
    response = support_client.get(PERSONS, {"q": "020 270 12345"})
    assert [p.name for p in response.context["cl"].result_list] == ["Kari Nordmann"]


def test_operator_edits_a_person_and_the_change_is_audited(operator_client, operator):
    p = person()
    response = operator_client.post(
        person_url(p),
        {
            "national_identity_number": NIN,
            "name": "Ola Nordmann",
            "mobile_number": "+4799315001",
            "email_address": "",
            "reserved": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    p.refresh_from_db()
    assert (p.mobile_number, p.reserved) == ("+4799315001", True)
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.outcome, entry.target_id) == (
        operator,
        AuditAction.REGISTRY_CHANGE,
        AuditOutcome.DONE,
        str(p.pk),
    )
    assert NIN not in str(entry.details)


def test_operator_adds_and_deletes_an_organization_with_its_contacts_audited(operator_client):
    response = operator_client.post(
        reverse("admin:orders_organization_add"),
        {
            "organization_number": "910012345",
            "name": "Testbedrift AS",
            "contacts-TOTAL_FORMS": "2",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-kind": "email",
            "contacts-0-address": "post@testbedrift.no",
            "contacts-1-kind": "sms",
            "contacts-1-address": "+4799315000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    organization = Organization.objects.get()
    assert sorted(organization.contacts.values_list("kind", "address")) == [
        ("email", "post@testbedrift.no"),
        ("sms", "+4799315000"),
    ]
    delete = reverse("admin:orders_organization_delete", args=[organization.pk])
    assert operator_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Organization.objects.exists()
    assert not OrganizationContact.objects.exists()
    assert list(AuditEntry.objects.order_by("id").values_list("action", "target_id")) == [
        (AuditAction.REGISTRY_ADD, str(organization.pk)),
        (AuditAction.REGISTRY_DELETE, str(organization.pk)),
    ]


def test_bulk_deleting_persons_writes_one_audit_entry_each(operator_client):
    people = [person(), person("02027012345")]
    response = operator_client.post(
        PERSONS,
        {"action": "delete_selected", "_selected_action": [p.pk for p in people], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Person.objects.exists()
    assert sorted(AuditEntry.objects.values_list("target_id", flat=True)) == sorted(str(p.pk) for p in people)


def test_support_may_look_but_not_edit(support_client):
    p = person()
    assert support_client.get(person_url(p)).status_code == 200
    response = support_client.post(
        person_url(p),
        {"national_identity_number": NIN, "name": "Changed", "mobile_number": "", "email_address": ""},
    )
    assert response.status_code == 403
    assert support_client.get(reverse("admin:orders_person_add")).status_code == 403
    p.refresh_from_db()
    assert p.name == "Ola Nordmann"
    assert not AuditEntry.objects.exists()


CSV = (
    "kind,identifier,name,mobile_numbers,email_addresses,reserved\n"
    "person,01017012345,Ola Nordmann,+4799315000,ola@example.no,false\n"
    "person,123,Too Short,,,false\n"
    "organization,910012345,Testbedrift AS,+4799315000;40000001,post@testbedrift.no,\n"
    "person,02027012345,Kari Nordmann,not-a-number,,false\n"
)


def upload(text: str = CSV) -> SimpleUploadedFile:
    return SimpleUploadedFile("contacts.csv", text.encode("utf-8-sig"), content_type="text/csv")


def test_csv_import_imports_good_rows_and_lists_bad_ones_by_line(operator_client, operator):
    response = operator_client.post(IMPORT, {"file": upload()})
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 person(s) and 1 organization(s) valid; 2 row(s) rejected." in page
    errors = [(e.line, e.message) for e in response.context["errors_shown"]]
    assert [line for line, _ in errors] == [3, 5]
    assert Person.objects.get().national_identity_number == NIN
    assert Organization.objects.get().contacts.count() == 3
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.outcome) == (
        operator,
        AuditAction.REGISTRY_IMPORT,
        AuditOutcome.DONE,
    )
    assert entry.details == {"file": "contacts.csv", "persons": 1, "organizations": 1, "rejected_rows": 2}


def test_csv_import_dry_run_changes_nothing(operator_client):
    response = operator_client.post(IMPORT, {"file": upload(), "dry_run": "on"})
    assert "Valid: 1 person(s), 1 organization(s); 2 row(s) rejected." in response.content.decode()
    assert not Person.objects.exists()
    assert not AuditEntry.objects.exists()


def test_csv_import_with_a_bad_header_imports_nothing_and_says_why(operator_client):
    response = operator_client.post(IMPORT, {"file": upload("who,what\nx,y\n")})
    assert response.status_code == 200
    assert not Person.objects.exists()
    assert AuditEntry.objects.get().outcome == AuditOutcome.FAILED
    assert response.context["result"] is None


def test_import_link_and_page_are_for_operators_only(support_client, operator_client):
    assert IMPORT in operator_client.get(PERSONS).content.decode()
    assert IMPORT not in support_client.get(PERSONS).content.decode()
    assert support_client.get(IMPORT).status_code == 403
    assert support_client.post(IMPORT, {"file": upload()}).status_code == 403
    assert not Person.objects.exists()


def test_organization_search_is_by_exact_number(support_client):
    Organization.objects.create(organization_number="910012345", name="A")
    Organization.objects.create(organization_number="910012346", name="B")
    response = support_client.get(ORGANIZATIONS, {"q": "910012346"})
    assert [o.name for o in response.context["cl"].result_list] == ["B"]
