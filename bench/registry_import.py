"""Benchmark the contact import: `python bench/registry_import.py [--rows 100000]`.

Starts a private PostgreSQL (with fsync on, as in production) in a temporary folder, migrates, writes a
generated CSV (90 % persons, 10 % organizations with two emails and two mobile numbers each), then times
validation alone, a first import (all inserts), a second import of the same file (all updates) and a
registry lookup of many persons. Prints rows per second; the temporary server is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def write_csv(path: Path, rows: int) -> tuple[list[str], list[str]]:
    """A valid contacts file of `rows` rows; returns the NINs and organization numbers in it."""
    nins: list[str] = []
    organizations: list[str] = []
    with path.open("w", encoding="utf-8") as file:
        file.write("kind,identifier,name,mobile_numbers,email_addresses,reserved\n")
        for n in range(rows):
            if n % 10 == 9:
                number = f"{800000000 + n:09d}"
                organizations.append(number)
                file.write(
                    f"organization,{number},Bedrift {n} AS,+479{n % 10000000:07d};4{n % 10000000:07d},"
                    f"post{n}@bedrift.example.no;varsel{n}@bedrift.example.no,false\n"
                )
            else:
                nin = f"{10000000000 + n:011d}"
                nins.append(nin)
                reserved = "true" if n % 50 == 0 else "false"
                file.write(f"person,{nin},Person {n},9{n % 10000000:07d},person{n}@example.no,{reserved}\n")
    return nins, organizations


def timed(label: str, rows: int, action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    print(f"{label:<34} {rows:>8} rows  {seconds:7.2f} s  {rows / seconds:>10,.0f} rows/s")
    return seconds


def run(rows: int) -> dict[str, float]:
    """Time validation, import, re-import and lookups; returns rows per second per step."""
    import django

    os.environ.setdefault("DEBUG", "true")
    os.environ["DJANGO_SETTINGS_MODULE"] = "notifications_project.settings"
    django.setup()

    from django.core.management import call_command

    from orders.registry.database import DatabaseRegistry
    from orders.registry.models import Organization, OrganizationContact, Person
    from orders.registry.services import contacts_import, contacts_parse

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "contacts.csv"
        nins, organizations = write_csv(csv_path, rows)

        def parse() -> None:
            with csv_path.open(newline="") as file:
                parsed = contacts_parse(lines=file)
            assert not parsed.errors, parsed.errors[:3]

        def load() -> None:
            with csv_path.open(newline="") as file:
                result = contacts_import(lines=file)
            assert not result.errors, result.errors[:3]

        print(f"PostgreSQL at {os.environ['DATABASE_URL']}")
        rates = {
            "validate": rows / timed("validate only", rows, parse),
            "import_insert": rows / timed("import (insert)", rows, load),
            "import_update": rows / timed("import again (update)", rows, load),
        }
        assert Person.objects.count() == len(nins)
        assert Organization.objects.count() == len(organizations)
        assert OrganizationContact.objects.count() == 4 * len(organizations)

        registry = DatabaseRegistry()
        for count in (1000, len(nins)):
            seconds = timed(f"lookup persons ({count})", count, lambda c=count: registry.persons(nins[:c]))
        rates["lookup_persons"] = len(nins) / seconds
        count = len(organizations)
        seconds = timed(
            f"lookup organizations ({count})", count, lambda: registry.organizations(organizations)
        )
        rates["lookup_organizations"] = count / seconds
        return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    from notifications_project.launcher.servers import postgres_server

    folder = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    try:
        # Not a throwaway server: fsync stays on, so the numbers hold for a real database.
        with postgres_server(folder / "postgres") as url:
            os.environ["DATABASE_URL"] = url
            run(args.rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
