"""Load persons, organizations and self-identified users into the contact registry:
`manage.py import_contacts FILE`.

``manage.py import_contacts --demo`` loads the bundled demo registry instead (with ``--if-empty`` only
into empty registry tables: the embedded default runs this at every start).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.csv_files import csv_file_read
from orders.registry.services import (
    COLUMNS,
    ContactsFileError,
    ContactsImportResult,
    contacts_import,
    demo_contacts_import,
)


class Command(BaseCommand):
    help = (
        f"Import contacts from a CSV file with the header {','.join(COLUMNS)}. Every row is validated; "
        "bad rows are reported by line number and the others are imported (existing entries are updated, "
        "organizations' address lists replaced). Exits with status 1 when any row was rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="The CSV file (UTF-8; '-' reads standard input).")
        parser.add_argument("--dry-run", action="store_true", help="Validate only; import nothing.")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Import the bundled demo registry (including the persons and organizations the API "
            "documentation's examples name) instead of a file; not with the http registry backend.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="With --demo: import only when the registry has no person and no organization yet.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: str | None = options["file"]
        if options["demo"] == (path is not None):
            raise CommandError("Give either a CSV file or --demo.")
        if options["if_empty"] and not options["demo"]:
            raise CommandError("--if-empty goes with --demo.")
        if path is None:  # --demo
            demo = demo_contacts_import(if_empty=options["if_empty"], dry_run=options["dry_run"])
            if demo.result is None:
                # Under --if-empty a skip is the usual outcome of every start but the first: say it quietly.
                if options["verbosity"] >= (2 if options["if_empty"] else 1):
                    self.stdout.write(f"Demo contacts not imported: {demo.skipped}.")
                return
            self._report(demo.result, dry_run=options["dry_run"], what="demo contacts")
            return

        result = csv_file_read(
            path,
            lambda lines: contacts_import(lines=lines, dry_run=options["dry_run"]),
            file_error=ContactsFileError,
        )
        self._report(result, dry_run=options["dry_run"], what="")

    def _report(self, result: ContactsImportResult, *, dry_run: bool, what: str) -> None:
        for error in result.errors:
            self.stderr.write(str(error))
        verb = "Valid" if dry_run else "Imported"
        self.stdout.write(
            f"{verb}{f' {what}' if what else ''}: {result.persons} person(s), "
            f"{result.organizations} organization(s)"
            + (f", {result.self_identified} self-identified user(s)" if result.self_identified else "")
            + f"; {len(result.errors)} row(s) rejected."
        )
        if result.errors:
            raise CommandError(f"{len(result.errors)} row(s) rejected; see the lines above.")
