"""The demo registry: `import_contacts --demo --if-empty`, as the embedded default runs it at every start."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.api import examples
from orders.registry.database import DatabaseRegistry
from orders.registry.models import Organization, OrganizationContact, Person

pytestmark = pytest.mark.django_db

# What the embedded default runs at start-up.
LAUNCHER_ARGS = ("--demo", "--if-empty")
IMPORTED = (
    "Imported demo contacts: 5 person(s), 3 organization(s), 1 self-identified user(s); 0 row(s) rejected."
)


def _run(*args: str, verbosity: int = 1) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_contacts", *args, verbosity=verbosity, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _registry_rows() -> list[tuple[Any, ...]]:
    return [
        *Person.objects.order_by("id").values_list(
            "id",
            "national_identity_number",
            "name",
            "mobile_number",
            "email_address",
            "reserved",
            "updated_at",
        ),
        *Organization.objects.order_by("id").values_list("id", "organization_number", "name", "updated_at"),
        *OrganizationContact.objects.order_by("id").values_list("id", "organization_id", "kind", "address"),
    ]


def test_an_empty_registry_gets_the_demo_contacts_with_the_api_examples_persons() -> None:
    out, err = _run(*LAUNCHER_ARGS)

    assert err == ""
    assert out.strip() == IMPORTED
    registry = DatabaseRegistry()
    person = registry.persons(["11876995923"])["11876995923"]
    assert person.reserved
    assert person.name
    assert person.mobile_number is not None
    assert person.email_address is not None
    organization = registry.organizations(["311000179"])["311000179"]
    assert organization.name
    assert len(organization.email_addresses) == 1
    assert len(organization.mobile_numbers) == 1
    # The entries of demo-contacts.csv come along.
    assert registry.organizations(["987654321"])["987654321"].name == "Demo AS"


def test_every_person_and_organization_the_api_examples_name_is_in_the_demo_registry() -> None:
    _run(*LAUNCHER_ARGS)
    named: dict[str, set[str]] = {"nationalIdentityNumber": set(), "organizationNumber": set()}
    for example in [*examples.SMS_ORDER_REQUESTS, *examples.GENERIC_ORDER_REQUESTS]:
        for recipient in example.value["recipients"]:
            for key, identifiers in named.items():
                if key in recipient:
                    identifiers.add(recipient[key])
    assert "11876995923" in named["nationalIdentityNumber"]
    assert "311000179" in named["organizationNumber"]

    registry = DatabaseRegistry()
    assert set(registry.persons(sorted(named["nationalIdentityNumber"]))) == named["nationalIdentityNumber"]
    assert set(registry.organizations(sorted(named["organizationNumber"]))) == named["organizationNumber"]


def test_a_registry_with_a_person_is_left_untouched() -> None:
    Person.objects.create(national_identity_number="11876995923", name="Operator's own", reserved=False)
    before = _registry_rows()

    out, err = _run(*LAUNCHER_ARGS)

    assert (out, err) == ("", "")
    assert _registry_rows() == before


def test_a_registry_with_only_an_organization_is_left_untouched() -> None:
    Organization.objects.create(organization_number="311000179", name="Operator's own")
    before = _registry_rows()

    out, _ = _run(*LAUNCHER_ARGS, verbosity=2)

    assert out.strip() == "Demo contacts not imported: the contact registry already has entries."
    assert _registry_rows() == before


def test_a_restart_imports_nothing_again_and_keeps_the_operators_edits() -> None:
    _run(*LAUNCHER_ARGS)
    Person.objects.filter(national_identity_number="11876995923").update(name="Edited", reserved=False)
    after_first_start = _registry_rows()

    out, err = _run(*LAUNCHER_ARGS)

    assert (out, err) == ("", "")
    assert _registry_rows() == after_first_start
    assert Person.objects.count() == 5
    assert Organization.objects.count() == 3


def test_without_if_empty_the_demo_entries_are_imported_again_over_edits() -> None:
    _run(*LAUNCHER_ARGS)
    Person.objects.filter(national_identity_number="11876995923").update(reserved=False)

    out, _ = _run("--demo")

    assert out.strip() == IMPORTED
    assert Person.objects.get(national_identity_number="11876995923").reserved
    assert Person.objects.count() == 5


def test_nothing_is_imported_when_the_registry_is_an_external_register(settings: Any) -> None:
    settings.NOTIFICATIONS_REGISTRY_BACKEND = "http"

    quiet, _ = _run(*LAUNCHER_ARGS)
    out, _ = _run("--demo")

    assert quiet == ""
    assert out.strip() == (
        "Demo contacts not imported: the contact registry is an external register (http backend)."
    )
    assert not Person.objects.exists()
    assert not Organization.objects.exists()


def test_dry_run_validates_the_demo_files_and_imports_nothing() -> None:
    out, _ = _run(*LAUNCHER_ARGS, "--dry-run")

    assert out.strip() == (
        "Valid demo contacts: 5 person(s), 3 organization(s), 1 self-identified user(s); 0 row(s) rejected."
    )
    assert not Person.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Give either a CSV file or --demo."),
        (("contacts.csv", "--demo"), "Give either a CSV file or --demo."),
        (("contacts.csv", "--if-empty"), "--if-empty goes with --demo."),
    ],
)
def test_the_source_must_be_exactly_one_of_a_file_and_the_demo(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert not Person.objects.exists()
