"""Writes to the rights table of the database backend: the CSV import behind ``manage.py import_rights``.

The file has the header ``organization_number,national_identity_number,user_id,resource_id,actions``
(columns in any order). A row gives one person (by NIN, user id or both) the ``;``-separated ``actions`` on
``resource_id`` (``urn:altinn:resource:<id>``) for the organization. Every row is validated first and every
bad row is reported by its line number; the good rows are then written in one transaction. For every
(organization, resource) the file names, the stored rights become exactly the file's, so a right is
revoked by importing the file without it.

``demo_rights_import`` loads the bundled demo rights (``DEMO_RIGHTS_FILE``) the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from pathlib import Path

from django.db import transaction
from django.db.models import Q

from orders.authorization.models import ResourceRight
from orders.csv_files import csv_rows
from orders.validation import is_valid_resource_id

COLUMNS = ("organization_number", "national_identity_number", "user_id", "resource_id", "actions")
DEMO_RIGHTS_FILE = Path(__file__).resolve().parent / "fixtures" / "demo-rights.csv"
MAX_RESOURCE_LENGTH = ResourceRight._meta.get_field("resource_id").max_length or 500
MAX_ACTION_LENGTH = ResourceRight._meta.get_field("action").max_length or 200


class RightsFileError(ValueError):
    """The file as a whole cannot be read (no header, or the wrong columns); nothing was imported."""


@dataclass(frozen=True)
class RightRow:
    organization_number: str
    national_identity_number: str | None
    user_id: int | None
    resource_id: str
    actions: tuple[str, ...]


@dataclass
class RightsImportResult:
    rights: int = 0
    errors: list[str] = field(default_factory=list)


def _digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


def _parse_row(values: dict[str, str], problems: list[str]) -> RightRow | None:
    organization = values["organization_number"].strip()
    nin = values["national_identity_number"].strip()
    user_text = values["user_id"].strip()
    resource = values["resource_id"].strip()
    actions = tuple(dict.fromkeys(a.strip() for a in values["actions"].split(";") if a.strip()))
    if not _digits(organization, 9):
        problems.append(f"the organization number must be exactly 9 digits, not {organization!r}")
    if nin and not _digits(nin, 11):
        problems.append(f"the national identity number must be exactly 11 digits, not {nin!r}")
    user_id: int | None = None
    if user_text:
        if user_text.isascii() and user_text.isdigit() and len(user_text) <= 18:
            user_id = int(user_text)
        else:
            problems.append(f"the user id must be a whole number, not {user_text!r}")
    if not nin and not user_text:
        problems.append("a right needs a national identity number or a user id")
    if not is_valid_resource_id(resource) or len(resource) > MAX_RESOURCE_LENGTH:
        problems.append(f"the resource id must be urn:altinn:resource:<id>, not {resource!r}")
    if not actions:
        problems.append("at least one action is needed (e.g. read)")
    elif any(len(action) > MAX_ACTION_LENGTH for action in actions):
        problems.append(f"an action is longer than {MAX_ACTION_LENGTH} characters")
    if problems:
        return None
    return RightRow(organization, nin or None, user_id, resource, actions)


def rights_import(*, lines: Iterable[str], dry_run: bool = False) -> RightsImportResult:
    """Validate a rights CSV and store its good rows; the result counts rights and lists bad rows.

    Raises RightsFileError when the header does not name exactly the expected columns.
    """
    result = RightsImportResult()
    rows: list[RightRow] = []
    for record in csv_rows(lines, columns=COLUMNS, file_error=RightsFileError):
        if record.problem:
            result.errors.append(f"line {record.line}: {record.problem}")
            continue
        problems: list[str] = []
        row = _parse_row(record.values, problems)
        if row is None:
            result.errors.append(f"line {record.line}: " + "; ".join(problems))
        else:
            rows.append(row)
    rights = {
        (row.organization_number, row.national_identity_number, row.user_id, row.resource_id, action)
        for row in rows
        for action in row.actions
    }
    result.rights = len(rights)
    if dry_run or not rows:
        return result
    scopes = {(row.organization_number, row.resource_id) for row in rows}
    with transaction.atomic():
        ResourceRight.objects.filter(
            reduce(or_, (Q(organization_number=org, resource_id=res) for org, res in scopes))
        ).delete()
        ResourceRight.objects.bulk_create(
            [
                ResourceRight(
                    organization_number=org,
                    national_identity_number=nin,
                    user_id=user,
                    resource_id=res,
                    action=act,
                )
                for org, nin, user, res, act in sorted(rights, key=repr)
            ]
        )
    return result


def demo_rights_import() -> RightsImportResult:
    """Import the bundled demo rights (who may read the API documents' example resource)."""
    with DEMO_RIGHTS_FILE.open(newline="", encoding="utf-8") as file:
        return rights_import(lines=file)
