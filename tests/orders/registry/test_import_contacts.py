from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.registry.database import DatabaseRegistry
from orders.registry.models import Organization, Person

pytestmark = pytest.mark.django_db

DEMO_CSV = Path(__file__).resolve().parents[3] / "orders" / "registry" / "fixtures" / "demo-contacts.csv"


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_contacts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_demo_file_imports_cleanly_and_is_found_by_the_registry() -> None:
    out, err = _run(str(DEMO_CSV))

    assert err == ""
    assert "Imported: 4 person(s), 2 organization(s); 0 row(s) rejected." in out
    persons = DatabaseRegistry().persons(
        list(Person.objects.values_list("national_identity_number", flat=True))
    )
    assert sum(p.reserved for p in persons.values()) == 1
    assert any(p.mobile_number is None and p.email_address is None for p in persons.values())
    demo = DatabaseRegistry().organizations(["987654321"])["987654321"]
    assert demo.name == "Demo AS"
    assert len(demo.email_addresses) == 2
    assert len(demo.mobile_numbers) == 2


def test_bad_rows_are_listed_by_line_the_rest_imported_and_the_exit_status_is_an_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "kind,identifier,name,mobile_numbers,email_addresses,reserved\n"
        "person,01017012345,Ola,,ola@example.no,false\n"
        "person,02027012345,Kari,99315000;40000001,,false\n"
        "organization,987654321,Demo AS,,post@demo.no,true\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="2 row"):
        call_command("import_contacts", str(path), stdout=out, stderr=err)

    assert err.getvalue().splitlines() == [
        "line 3: a person has at most one mobile number, this row has 2",
        "line 4: an organization cannot be reserved against digital contact",
    ]
    assert "Imported: 1 person(s), 0 organization(s); 2 row(s) rejected." in out.getvalue()
    assert list(Person.objects.values_list("name", flat=True)) == ["Ola"]
    assert not Organization.objects.exists()


def test_a_byte_order_mark_from_a_spreadsheet_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(DEMO_CSV.read_text(encoding="utf-8"), encoding="utf-8-sig")

    out, _ = _run(str(path))

    assert "Imported: 4 person(s)" in out


def test_dry_run_imports_nothing() -> None:
    out, _ = _run(str(DEMO_CSV), "--dry-run")

    assert "Valid: 4 person(s), 2 organization(s)" in out
    assert not Person.objects.exists()


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        _run(str(tmp_path / "nope.csv"))


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"kind,identifier,name,mobile_numbers,email_addresses,reserved\nperson,1,\xff\n")

    with pytest.raises(CommandError, match="not UTF-8"):
        _run(str(path))


def test_a_wrong_header_is_a_clear_error_and_nothing_is_imported(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("nin,name\n01017012345,Ola\n", encoding="utf-8")

    with pytest.raises(CommandError, match="header must name the columns"):
        _run(str(path))
    assert not Person.objects.exists()


def test_a_dash_reads_the_file_from_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(DEMO_CSV.read_text(encoding="utf-8")))

    out, _ = _run("-")

    assert "Imported: 4 person(s), 2 organization(s)" in out
    assert Person.objects.count() == 4
