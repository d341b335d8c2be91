from __future__ import annotations

from typing import Any

import pytest

from orders.registry.database import DatabaseRegistry
from orders.registry.models import Organization, OrganizationContact, Person
from orders.registry.services import ContactsFileError, RowError, contacts_import, contacts_parse

pytestmark = pytest.mark.django_db

HEADER = "kind,identifier,name,mobile_numbers,email_addresses,reserved"


def _csv(*rows: str, header: str = HEADER) -> list[str]:
    return [line + "\n" for line in (header, *rows)]


def test_import_creates_persons_and_organizations_with_normalised_addresses() -> None:
    result = contacts_import(
        lines=_csv(
            "person,01017012345,Ola Nordmann,99315000,ola@example.no,false",
            "person,03037012345,Per Reservert,,,true",
            "organization,987654321,Demo AS,004790000002;+47 400 00 000,post@demo.no;varsel@demo.no,false",
        )
    )

    assert (result.persons, result.organizations, result.errors) == (2, 1, [])
    ola = Person.objects.get(national_identity_number="01017012345")
    assert (ola.name, ola.mobile_number, ola.email_address, ola.reserved) == (
        "Ola Nordmann",
        "+4799315000",
        "ola@example.no",
        False,
    )
    assert Person.objects.get(national_identity_number="03037012345").reserved is True
    demo = DatabaseRegistry().organizations(["987654321"])["987654321"]
    assert demo.name == "Demo AS"
    assert demo.email_addresses == ("post@demo.no", "varsel@demo.no")
    assert demo.mobile_numbers == ("+4790000002", "+4740000000")


def test_reimporting_updates_entries_and_replaces_organization_address_lists() -> None:
    contacts_import(
        lines=_csv(
            "person,01017012345,Ola Nordmann,99315000,ola@example.no,false",
            "organization,987654321,Demo AS,+4790000002,post@demo.no;gammel@demo.no,false",
            "organization,912345678,Other AS,,other@other.no,false",
        )
    )

    result = contacts_import(
        lines=_csv(
            "person,01017012345,Ola Nordmann,,ola.ny@example.no,true",
            "organization,987654321,Demo Holding AS,,ny@demo.no,false",
        )
    )

    assert result.errors == []
    ola = Person.objects.get(national_identity_number="01017012345")
    assert (ola.mobile_number, ola.email_address, ola.reserved) == ("", "ola.ny@example.no", True)
    organizations = DatabaseRegistry().organizations(["987654321", "912345678"])
    assert organizations["987654321"].name == "Demo Holding AS"
    assert organizations["987654321"].email_addresses == ("ny@demo.no",)
    assert organizations["987654321"].mobile_numbers == ()
    # An organization the second file does not name keeps its addresses.
    assert organizations["912345678"].email_addresses == ("other@other.no",)
    assert Person.objects.count() == 1
    assert Organization.objects.count() == 2


def test_import_is_a_handful_of_statements_however_many_rows(django_assert_max_num_queries: Any) -> None:
    rows = [f"person,{n:011d},Person {n},,p{n}@example.no,false" for n in range(1, 501)]
    rows += [f"organization,{n:09d},Org {n},99315000,a@o{n}.no;b@o{n}.no,false" for n in range(1, 101)]

    with django_assert_max_num_queries(20):
        result = contacts_import(lines=_csv(*rows))

    assert (result.persons, result.organizations) == (500, 100)
    assert OrganizationContact.objects.count() == 300


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "company,987654321,X,,,false",
            "kind must be 'person', 'organization' or 'selfidentified', not 'company'",
        ),
        ("person,0101701234,X,,,false", "the national identity number must be exactly 11 digits"),
        ("person,0101701234a,X,,,false", "the national identity number must be exactly 11 digits"),
        ("organization,98765432,X,,,false", "the organization number must be exactly 9 digits"),
        ("person,01017012345,X,81549300,,false", "'81549300' is not a valid mobile number"),
        ("person,01017012345,X,+4750000004,,false", "'+4750000004' is not a valid mobile number"),
        ("person,01017012345,X,,not-an-address,false", "'not-an-address' is not a valid email address"),
        ("person,01017012345,X,,,yes", "reserved must be 'true' or 'false', not 'yes'"),
        (
            "person,01017012345,X,99315000;40000001,,false",
            "a person has at most one mobile number, this row has 2",
        ),
        (
            "person,01017012345,X,,a@example.no;b@example.no,false",
            "a person has at most one email address, this row has 2",
        ),
        ("organization,987654321,X,,,true", "an organization cannot be reserved against digital contact"),
        ("person,01017012345,X,,", "expected 6 columns, found 5"),
        ("person,01017012345,X,,,false,extra", "expected 6 columns, found 7"),
        (f"person,01017012345,{'x' * 201},,,false", "the name is longer than 200 characters"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_the_rest_is_imported(row: str, message: str) -> None:
    result = contacts_import(lines=_csv("person,02027012345,Kari,,kari@example.no,false", row))

    assert len(result.errors) == 1
    assert result.errors[0].line == 3
    assert message in result.errors[0].message
    assert list(Person.objects.values_list("national_identity_number", flat=True)) == ["02027012345"]
    assert not Organization.objects.exists()


def test_every_problem_of_a_row_is_reported_together() -> None:
    parsed = contacts_parse(lines=_csv("person,123,X,81549300,nope,maybe"))

    assert len(parsed.errors) == 1
    problems = parsed.errors[0].message.split("; ")
    assert len(problems) == 4


def test_a_second_row_for_the_same_entry_is_rejected_and_the_first_kept() -> None:
    result = contacts_import(
        lines=_csv(
            "person,01017012345,First,,,false",
            "organization,01017012,Not a person,,,false",
            "person,01017012345,Second,,,false",
        )
    )

    assert RowError(4, "person 01017012345 is already on line 2") in result.errors
    assert Person.objects.get().name == "First"


def test_line_numbers_count_physical_lines_blank_lines_and_quoted_line_breaks() -> None:
    lines = _csv(
        "",
        'person,01017012345,"Ola\nNordmann",,,false',
        "person,bad,X,,,false",
    )
    # "" plus the quoted line break: the bad row starts on line 5 of the file.
    parsed = contacts_parse(lines="".join(lines).splitlines(keepends=True))

    assert parsed.errors == [RowError(5, "the national identity number must be exactly 11 digits, not 'bad'")]
    assert parsed.persons[0].name == "Ola\nNordmann"


def test_columns_may_come_in_any_order_and_reserved_may_be_empty() -> None:
    result = contacts_import(
        lines=_csv(
            "01017012345,person,Ola,,,",
            header="identifier,kind,name,email_addresses,mobile_numbers,reserved",
        )
    )

    assert result.errors == []
    assert Person.objects.get().reserved is False


def test_addresses_in_a_row_are_deduplicated() -> None:
    contacts_import(
        lines=_csv("organization,987654321,Demo AS,99315000;+4799315000,a@demo.no;A@demo.no; a@demo.no,false")
    )

    assert sorted(OrganizationContact.objects.values_list("kind", "address")) == [
        ("email", "a@demo.no"),
        ("sms", "+4799315000"),
    ]


@pytest.mark.parametrize(
    "lines",
    [[], ["kind,identifier,name\n"], ["kind,identifier,name,mobile_numbers,email_addresses,reserved,x\n"]],
    ids=["empty", "missing columns", "extra column"],
)
def test_a_file_without_the_expected_header_is_refused_as_a_whole(lines: list[str]) -> None:
    with pytest.raises(ContactsFileError, match="header|empty"):
        contacts_import(lines=lines)


def test_dry_run_validates_without_writing() -> None:
    result = contacts_import(lines=_csv("person,01017012345,Ola,,,false", "person,x,Y,,,false"), dry_run=True)

    assert (result.persons, len(result.errors)) == (1, 1)
    assert not Person.objects.exists()


def test_importing_twice_in_one_transaction_works() -> None:
    # The temporary tables are dropped at the end of each import, not only at commit.
    contacts_import(lines=_csv("organization,987654321,Demo AS,,a@demo.no,false"))
    contacts_import(lines=_csv("organization,987654321,Demo AS,,b@demo.no,false"))

    assert list(OrganizationContact.objects.values_list("address", flat=True)) == ["b@demo.no"]
