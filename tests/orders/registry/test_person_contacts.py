"""Organization contact points tied to a person: kept apart from the organization's own addresses."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from orders.registry import get_user_contact_registry
from orders.registry.base import OrganizationUserContacts, RegistryUnavailable, UserContact
from orders.registry.database import DatabaseRegistry
from orders.registry.http import UNIT_CONTACTS_PATH, HttpRegistry
from orders.registry.models import Organization, OrganizationContact
from orders.registry.services import contacts_import
from tests.orders.registry.test_http import FakeRegister, _send
from tests.orders.registry.test_http import register as register  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

HEADER = "kind,identifier,name,mobile_numbers,email_addresses,reserved,person\n"


def _organization_with_people() -> Organization:
    organization = Organization.objects.create(organization_number="311000179", name="Eksempelbedrift AS")
    OrganizationContact.objects.create(organization=organization, kind="email", address="post@org.no")
    OrganizationContact.objects.create(
        organization=organization, kind="email", address="ida@org.no", national_identity_number="05057012345"
    )
    OrganizationContact.objects.create(
        organization=organization, kind="sms", address="+4791234568", national_identity_number="05057012345"
    )
    OrganizationContact.objects.create(
        organization=organization, kind="sms", address="+4791234569", user_id=20002
    )
    return organization


def test_the_organizations_own_addresses_leave_out_the_persons() -> None:
    _organization_with_people()
    [found] = DatabaseRegistry().organizations(["311000179"]).values()
    assert found.email_addresses == ("post@org.no",)
    assert found.mobile_numbers == ()
    assert found.person_contacts == ()


def test_persons_contact_points_are_listed_per_person() -> None:
    _organization_with_people()
    found = get_user_contact_registry().organization_user_contacts(["311000179", "987654321"], "svc")
    assert found == {
        "311000179": OrganizationUserContacts(
            organization_number="311000179",
            party_id=None,
            contacts=(
                UserContact(None, "05057012345", "ida@org.no", "+4791234568"),
                UserContact(20002, None, None, "+4791234569"),
            ),
        )
    }
    assert DatabaseRegistry().organization_user_contacts([], "svc") == {}


def test_the_database_refuses_a_person_nin_that_is_not_11_digits() -> None:
    organization = Organization.objects.create(organization_number="311000179")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganizationContact.objects.create(
            organization=organization, kind="email", address="a@b.no", national_identity_number="123"
        )


def test_the_import_reads_the_person_column() -> None:
    result = contacts_import(
        lines=io.StringIO(
            HEADER
            + "organization,311000179,Eksempelbedrift AS,+4791234567,post@org.no,false,\n"
            + "organization,311000179,Ida Innsyn,+4791234568,ida@org.no;post@org.no,false,05057012345\n"
            + "organization,311000179,Ida Innsyn,,,false,05057012345\n"
            + "organization,311000179,Tor,,tor@org.no,false,0606\n"
            + "person,01017012345,Ola,,,false,05057012345\n"
        )
    )
    assert [str(e).split(":")[0] for e in result.errors] == ["line 4", "line 5", "line 6"]
    assert "already on line 3" in str(result.errors[0])
    assert "11 digits" in str(result.errors[1])
    assert "only for organization rows" in str(result.errors[2])
    assert result.organizations == 1
    organization = Organization.objects.get(organization_number="311000179")
    assert organization.name == "Eksempelbedrift AS"  # not the person's name
    stored = set(organization.contacts.values_list("address", "national_identity_number"))
    # post@org.no is both the organization's and Ida's: it stays the organization's own.
    assert stored == {
        ("+4791234567", None),
        ("post@org.no", None),
        ("+4791234568", "05057012345"),
        ("ida@org.no", "05057012345"),
    }


def test_a_persons_row_alone_creates_the_organization_without_a_name_and_keeps_an_existing_name() -> None:
    contacts_import(
        lines=io.StringIO(HEADER + "organization,311000179,Ida Innsyn,,ida@org.no,false,05057012345\n")
    )
    assert Organization.objects.get().name == ""
    Organization.objects.update(name="Eksempelbedrift AS")
    contacts_import(
        lines=io.StringIO(HEADER + "organization,311000179,Ida Innsyn,,ida@org.no,false,05057012345\n")
    )
    assert Organization.objects.get().name == "Eksempelbedrift AS"


def test_the_old_header_without_the_person_column_still_imports() -> None:
    result = contacts_import(
        lines=io.StringIO(
            "kind,identifier,name,mobile_numbers,email_addresses,reserved\n"
            "organization,311000179,Eksempelbedrift AS,,post@org.no,false\n"
        )
    )
    assert result.errors == []
    assert result.organizations == 1


def test_the_demo_example_organization_has_two_contact_persons() -> None:
    call_command("import_contacts", "--demo", stdout=io.StringIO())
    [own] = DatabaseRegistry().organizations(["311000179"]).values()
    assert own.email_addresses == ("post@eksempelbedrift.example.no",)
    people = DatabaseRegistry().organization_user_contacts(["311000179"], "example-service")["311000179"]
    assert {c.national_identity_number for c in people.contacts} == {"05057012345", "06067012345"}


# --- HTTP registry: units/contactpoint/lookup --------------------------------------------------------


@pytest.fixture
def http_registry(register: FakeRegister) -> Iterator[HttpRegistry]:  # noqa: F811
    client = HttpRegistry(base_url=register.url, timeout_seconds=0.5)
    yield client
    client.close()


def test_the_http_registry_asks_units_contactpoint_lookup_and_maps_persons(
    register: FakeRegister,  # noqa: F811
    http_registry: HttpRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = {
        "contactPointsList": [
            {
                "organizationNumber": "311000179",
                "partyId": 50001,
                "userContactPoints": [
                    {
                        "userId": 20001,
                        "nationalIdentityNumber": "05057012345",
                        "email": " ida@org.no ",
                        "mobileNumber": "91234568",
                    },
                    {"userId": None, "nationalIdentityNumber": None, "email": "nobody@org.no"},
                    {"userId": 20002, "email": None, "mobileNumber": None},
                ],
            },
            {"organizationNumber": "999999999", "partyId": 1, "userContactPoints": [{"userId": 3}]},
        ]
    }
    register.broken[UNIT_CONTACTS_PATH] = lambda handler: _send(handler, 200, json.dumps(answer).encode())

    found = http_registry.organization_user_contacts(["311000179"], "example-service")

    [(path, body, _)] = register.requests
    assert (path, body) == (
        UNIT_CONTACTS_PATH,
        {"organizationNumbers": ["311000179"], "resourceId": "example-service"},
    )
    assert found == {
        "311000179": OrganizationUserContacts(
            organization_number="311000179",
            party_id=50001,
            contacts=(
                UserContact(20001, "05057012345", "ida@org.no", "+4791234568"),
                UserContact(20002, None, None, None),
            ),
        )
    }


@pytest.mark.parametrize("status", [503, 404])
def test_the_http_registrys_person_lookup_failing_is_registry_unavailable(
    register: FakeRegister,
    http_registry: HttpRegistry,
    status: int,  # noqa: F811
) -> None:
    register.broken[UNIT_CONTACTS_PATH] = lambda handler: _send(handler, status, b"{}")
    with pytest.raises(RegistryUnavailable):
        http_registry.organization_user_contacts(["311000179"], "svc")


def test_a_malformed_person_lookup_is_registry_unavailable(
    register: FakeRegister, http_registry: HttpRegistry
) -> None:  # noqa: F811
    register.broken[UNIT_CONTACTS_PATH] = lambda handler: _send(
        handler,
        200,
        b'{"contactPointsList": [{"organizationNumber": "311000179", '
        b'"userContactPoints": [{"userId": "x"}]}]}',
    )
    with pytest.raises(RegistryUnavailable, match="malformed"):
        http_registry.organization_user_contacts(["311000179"], "svc")
