from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from orders.registry import get_registry
from orders.registry.base import OrganizationContacts, PersonContact
from orders.registry.database import DatabaseRegistry
from orders.registry.models import Organization, OrganizationContact, Person

pytestmark = pytest.mark.django_db


def _person(nin: str, **fields: Any) -> Person:
    return Person.objects.create(national_identity_number=nin, **fields)


def _organization(number: str, name: str, *, emails: list[str], mobiles: list[str]) -> Organization:
    organization = Organization.objects.create(organization_number=number, name=name)
    OrganizationContact.objects.bulk_create(
        [OrganizationContact(organization=organization, kind="email", address=a) for a in emails]
        + [OrganizationContact(organization=organization, kind="sms", address=m) for m in mobiles]
    )
    return organization


def test_get_registry_returns_the_database_backend_by_default() -> None:
    assert isinstance(get_registry(), DatabaseRegistry)


def test_persons_returns_contacts_of_found_persons_only() -> None:
    _person("01010112345", name="Ola Nordmann", mobile_number="+4799315000", email_address="ola@example.no")
    _person("02020212345", name="Kari Nordmann", reserved=True, email_address="kari@example.no")

    found = DatabaseRegistry().persons(["01010112345", "02020212345", "99999999999"])

    assert found == {
        "01010112345": PersonContact(
            national_identity_number="01010112345",
            name="Ola Nordmann",
            mobile_number="+4799315000",
            email_address="ola@example.no",
            reserved=False,
        ),
        "02020212345": PersonContact(
            national_identity_number="02020212345",
            name="Kari Nordmann",
            mobile_number=None,
            email_address="kari@example.no",
            reserved=True,
        ),
    }


def test_persons_without_contact_information_are_found_with_empty_addresses() -> None:
    _person("03030312345")

    found = DatabaseRegistry().persons(["03030312345"])

    assert found["03030312345"].mobile_number is None
    assert found["03030312345"].email_address is None
    assert found["03030312345"].name is None


def test_person_validation_normalises_the_mobile_number_typed_into_the_admin() -> None:
    person = Person(national_identity_number="01010112345", mobile_number=" 993 15 000 ")

    person.full_clean()

    assert person.mobile_number == "+4799315000"


@pytest.mark.parametrize("number", ["81549300", "+4750000004", "++4740000000"])
def test_person_validation_refuses_a_mobile_number_that_is_not_valid(number: str) -> None:
    person = Person(national_identity_number="01010112345", mobile_number=number)

    with pytest.raises(ValidationError) as caught:
        person.full_clean()

    assert "mobile_number" in caught.value.message_dict


def test_organization_contact_validation_normalises_numbers_and_checks_emails() -> None:
    organization = Organization.objects.create(organization_number="987654321")
    mobile = OrganizationContact(organization=organization, kind="sms", address="004740000000")
    email = OrganizationContact(organization=organization, kind="email", address="not-an-address")

    mobile.full_clean()
    with pytest.raises(ValidationError) as caught:
        email.full_clean()

    assert mobile.address == "+4740000000"
    assert "address" in caught.value.message_dict


def test_the_database_refuses_mobile_numbers_not_in_e164_form() -> None:
    organization = Organization.objects.create(organization_number="987654321")
    with transaction.atomic(), pytest.raises(IntegrityError):
        _person("01010112345", mobile_number="99315000")
    with transaction.atomic(), pytest.raises(IntegrityError):
        OrganizationContact.objects.create(organization=organization, kind="sms", address="99315000")
    # Emails are not numbers: the E.164 check applies to the sms kind only.
    OrganizationContact.objects.create(organization=organization, kind="email", address="post@demo.no")


def test_persons_with_no_identifiers_makes_no_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert DatabaseRegistry().persons([]) == {}


@pytest.mark.parametrize("count", [1, 50])
def test_persons_is_one_query_for_any_number_of_identifiers(
    count: int, django_assert_num_queries: Any
) -> None:
    nins = [f"{n:011d}" for n in range(1, count + 1)]
    Person.objects.bulk_create([Person(national_identity_number=nin, name=nin) for nin in nins])

    with django_assert_num_queries(1):
        found = DatabaseRegistry().persons([*nins, *nins, "99999999999"])

    assert set(found) == set(nins)


def test_organizations_returns_deduplicated_addresses_in_registered_order() -> None:
    _organization(
        "987654321",
        "Demo AS",
        emails=["post@demo.no", "faktura@demo.no", "POST@demo.no"],
        mobiles=["+4799315000", "+4740000001"],
    )

    found = DatabaseRegistry().organizations(["987654321", "123456789"])

    assert found == {
        "987654321": OrganizationContacts(
            organization_number="987654321",
            name="Demo AS",
            email_addresses=("post@demo.no", "faktura@demo.no"),
            mobile_numbers=("+4799315000", "+4740000001"),
        )
    }


def test_organizations_without_addresses_are_found_with_empty_lists() -> None:
    _organization("987654321", "", emails=[], mobiles=[])

    found = DatabaseRegistry().organizations(["987654321"])

    assert found["987654321"] == OrganizationContacts(
        organization_number="987654321", name=None, email_addresses=(), mobile_numbers=()
    )


@pytest.mark.parametrize("count", [1, 30])
def test_organizations_is_two_queries_for_any_number_of_identifiers(
    count: int, django_assert_num_queries: Any
) -> None:
    numbers = [f"{n:09d}" for n in range(1, count + 1)]
    for number in numbers:
        _organization(number, f"Org {number}", emails=[f"{number}@example.no"], mobiles=["+4799315000"])

    with django_assert_num_queries(2):
        found = DatabaseRegistry().organizations(numbers)

    assert {o.email_addresses for o in found.values()} == {(f"{n}@example.no",) for n in numbers}


def test_organizations_with_no_identifiers_makes_no_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert DatabaseRegistry().organizations([]) == {}


@pytest.mark.parametrize("nin", ["1234567890", "0101011234a", ""])
def test_the_database_refuses_a_national_identity_number_that_is_not_11_digits(nin: str) -> None:
    with pytest.raises(IntegrityError):
        _person(nin)


@pytest.mark.parametrize("number", ["12345678", "12345678a", ""])
def test_the_database_refuses_an_organization_number_that_is_not_9_digits(number: str) -> None:
    with pytest.raises(IntegrityError):
        Organization.objects.create(organization_number=number)
