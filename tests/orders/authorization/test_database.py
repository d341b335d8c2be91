"""The database authorization backend, the rights import and its command."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from orders.authorization import get_authorization
from orders.authorization.base import AccessQuestion
from orders.authorization.database import DatabaseAuthorization
from orders.authorization.models import ResourceRight
from orders.authorization.services import RightsFileError, rights_import

pytestmark = pytest.mark.django_db

HEADER = "organization_number,national_identity_number,user_id,resource_id,actions\n"
RESOURCE = "urn:altinn:resource:svc"


def ask(nin: str | None = None, user: int | None = None, org: str = "311000179") -> AccessQuestion:
    return AccessQuestion(org, None, user, nin)


def test_a_right_permits_its_person_its_action_on_its_resource_for_its_organization_only() -> None:
    ResourceRight.objects.create(
        organization_number="311000179", national_identity_number="05057012345", resource_id=RESOURCE
    )
    ResourceRight.objects.create(
        organization_number="311000179", user_id=20001, resource_id=RESOURCE, action="sign"
    )
    backend = DatabaseAuthorization()
    asked = [
        ask("05057012345"),
        ask("06067012345"),
        ask("05057012345", org="987654321"),
        ask(user=20001),
        ask("01017012345", user=20001),  # the user id matches though the NIN does not
    ]

    assert backend.permitted(asked, resource_id="svc", action="read") == {ask("05057012345")}
    assert backend.permitted(asked, resource_id="svc", action="sign") == {
        ask(user=20001),
        ask("01017012345", user=20001),
    }
    assert backend.permitted(asked, resource_id="other", action="read") == set()
    assert backend.permitted([], resource_id="svc", action="read") == set()


def test_the_default_backend_is_the_database(settings) -> None:
    assert settings.NOTIFICATIONS_AUTHORIZATION_BACKEND == "database"
    assert isinstance(get_authorization(), DatabaseAuthorization)


@pytest.mark.parametrize(
    "fields",
    [
        {"organization_number": "31100017", "national_identity_number": "05057012345"},
        {"organization_number": "311000179"},  # no person
        {"organization_number": "311000179", "national_identity_number": "0505701234"},
        {"organization_number": "311000179", "user_id": 1, "resource_id": "urn:altinn:resource: "},
        {"organization_number": "311000179", "user_id": 1, "resource_id": "svc"},
        {"organization_number": "311000179", "user_id": 1, "action": ""},
    ],
)
def test_the_database_refuses_a_malformed_right(fields) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ResourceRight.objects.create(**{"resource_id": RESOURCE, **fields})


def test_import_stores_rights_and_reports_bad_rows_by_line() -> None:
    text = HEADER + (
        "311000179,05057012345,,urn:altinn:resource:svc,read;write\n"
        "311000179,,20001,urn:altinn:resource:svc,read\n"
        "\n"
        "31100017,05057012345,,urn:altinn:resource:svc,read\n"
        "311000179,,,urn:altinn:resource:svc,read\n"
        "311000179,05057012345,,svc,read\n"
        "311000179,05057012345,,urn:altinn:resource:svc,\n"
        "311000179,05057012345,x,urn:altinn:resource:svc,read\n"
        "311000179,05057012345\n"
    )
    result = rights_import(lines=io.StringIO(text))

    assert result.rights == 3
    assert [error.split(":")[0] for error in result.errors] == [f"line {n}" for n in (5, 6, 7, 8, 9, 10)]
    assert "9 digits" in result.errors[0]
    assert "national identity number or a user id" in result.errors[1]
    assert "urn:altinn:resource:<id>" in result.errors[2]
    assert "at least one action" in result.errors[3]
    assert "whole number" in result.errors[4]
    assert "expected 5 columns" in result.errors[5]
    stored = set(ResourceRight.objects.values_list("national_identity_number", "user_id", "action"))
    assert stored == {("05057012345", None, "read"), ("05057012345", None, "write"), (None, 20001, "read")}


def test_importing_again_replaces_the_rights_of_the_organizations_and_resources_in_the_file() -> None:
    rights_import(
        lines=io.StringIO(
            HEADER
            + "311000179,05057012345,,urn:altinn:resource:svc,read\n"
            + "311000179,06067012345,,urn:altinn:resource:svc,read\n"
            + "311000179,06067012345,,urn:altinn:resource:other,read\n"
        )
    )
    rights_import(lines=io.StringIO(HEADER + "311000179,05057012345,,urn:altinn:resource:svc,read\n"))

    stored = set(ResourceRight.objects.values_list("national_identity_number", "resource_id"))
    # 06067012345 lost svc (revoked by the file without it) and kept other (not in the second file).
    assert stored == {("05057012345", RESOURCE), ("06067012345", "urn:altinn:resource:other")}


def test_a_dry_run_stores_nothing_and_a_wrong_header_nothing_at_all() -> None:
    assert (
        rights_import(
            lines=io.StringIO(HEADER + "311000179,05057012345,,urn:altinn:resource:svc,read\n"), dry_run=True
        ).rights
        == 1
    )
    assert not ResourceRight.objects.exists()
    with pytest.raises(RightsFileError, match="header"):
        rights_import(lines=io.StringIO("organization_number,resource_id\n"))
    with pytest.raises(RightsFileError, match="empty"):
        rights_import(lines=io.StringIO(""))


def test_the_command_imports_a_file_and_fails_on_rejected_rows(tmp_path) -> None:
    good = tmp_path / "rights.csv"
    good.write_text(HEADER + "311000179,05057012345,,urn:altinn:resource:svc,read\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_rights", str(good), stdout=out)
    assert "Imported: 1 right(s); 0 row(s) rejected." in out.getvalue()

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "311000179,,,urn:altinn:resource:svc,read\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 row"):
        call_command("import_rights", str(bad), stdout=io.StringIO(), stderr=err)
    assert "line 2" in err.getvalue()
    with pytest.raises(CommandError, match="either"):
        call_command("import_rights")


def test_the_command_reads_files_as_the_contacts_import_does(tmp_path) -> None:
    # A byte-order mark and a quoted field spanning lines: the row after it is reported by its own line.
    spread = tmp_path / "spread.csv"
    spread.write_text(
        HEADER.upper()
        + '311000179,05057012345,,urn:altinn:resource:svc,"read;\nwrite"\n311000179,,,x,read\n',
        encoding="utf-8-sig",
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 row"):
        call_command("import_rights", str(spread), stdout=io.StringIO(), stderr=err)
    assert err.getvalue().startswith("line 4:")
    assert set(ResourceRight.objects.values_list("action", flat=True)) == {"read", "write"}

    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        HEADER.encode() + "311000179,05057012345,,urn:altinn:resource:sv\xe6,read\n".encode("latin-1")
    )
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        call_command("import_rights", str(latin))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_rights", str(tmp_path / "missing.csv"))
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("organization_number,actions,actions\n", encoding="utf-8")
    with pytest.raises(CommandError, match="The header must name the columns"):
        call_command("import_rights", str(wrong))


def test_the_demo_permits_one_of_the_example_organizations_two_contact_persons() -> None:
    call_command("import_contacts", "--demo", stdout=io.StringIO())

    backend = DatabaseAuthorization()
    asked = [ask("05057012345"), ask("06067012345")]
    assert backend.permitted(asked, resource_id="example-service", action="read") == {ask("05057012345")}
