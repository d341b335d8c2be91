"""Load persons and organizations into the contact registry: `manage.py import_contacts FILE`."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.registry.services import COLUMNS, ContactsFileError, contacts_import


class Command(BaseCommand):
    help = (
        f"Import contacts from a CSV file with the header {','.join(COLUMNS)}. Every row is validated; "
        "bad rows are reported by line number and the others are imported (existing entries are updated, "
        "organizations' address lists replaced). Exits with status 1 when any row was rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file (UTF-8; '-' reads standard input).")
        parser.add_argument("--dry-run", action="store_true", help="Validate only; import nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: str = options["file"]
        try:
            if path == "-":
                result = contacts_import(lines=sys.stdin, dry_run=options["dry_run"])
            else:
                # utf-8-sig: spreadsheets often save UTF-8 with a byte-order mark.
                with open(path, newline="", encoding="utf-8-sig") as file:
                    result = contacts_import(lines=file, dry_run=options["dry_run"])
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text (byte {exc.start}).") from exc
        except ContactsFileError as exc:
            raise CommandError(str(exc)) from exc

        for error in result.errors:
            self.stderr.write(str(error))
        verb = "Valid" if options["dry_run"] else "Imported"
        self.stdout.write(
            f"{verb}: {result.persons} person(s), {result.organizations} organization(s); "
            f"{len(result.errors)} row(s) rejected."
        )
        if result.errors:
            raise CommandError(f"{len(result.errors)} row(s) rejected; see the lines above.")
