"""Load rights into the database authorization backend: `manage.py import_rights FILE`.

``manage.py import_rights --demo`` loads the bundled demo rights instead.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.authorization.services import (
    COLUMNS,
    RightsFileError,
    RightsImportResult,
    demo_rights_import,
    rights_import,
)
from orders.csv_files import csv_file_read


class Command(BaseCommand):
    help = (
        f"Import resource rights from a CSV file with the header {','.join(COLUMNS)}. Every row is "
        "validated; bad rows are reported by line number and the others are imported (for each "
        "organization and resource in the file, the stored rights become the file's). Exits with status 1 "
        "when any row was rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="The CSV file (UTF-8; '-' reads standard input).")
        parser.add_argument("--dry-run", action="store_true", help="Validate only; import nothing.")
        parser.add_argument("--demo", action="store_true", help="Import the bundled demo rights instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: str | None = options["file"]
        if options["demo"] == (path is not None):
            raise CommandError("Give either a CSV file or --demo.")
        if path is None:
            self._report(demo_rights_import(), dry_run=False)
            return
        result = csv_file_read(
            path,
            lambda lines: rights_import(lines=lines, dry_run=options["dry_run"]),
            file_error=RightsFileError,
        )
        self._report(result, dry_run=options["dry_run"])

    def _report(self, result: RightsImportResult, *, dry_run: bool) -> None:
        for error in result.errors:
            self.stderr.write(error)
        verb = "Valid" if dry_run else "Imported"
        self.stdout.write(f"{verb}: {result.rights} right(s); {len(result.errors)} row(s) rejected.")
        if result.errors:
            raise CommandError(f"{len(result.errors)} row(s) rejected; see the lines above.")
