"""Writes to the contact registry tables: the CSV import behind ``manage.py import_contacts``.

The file has the header ``kind,identifier,name,mobile_numbers,email_addresses,reserved`` (columns in any
order). ``kind`` is ``person``, ``organization`` or ``selfidentified``; the two address columns hold
``;``-separated lists; ``reserved`` is ``true`` or ``false`` (empty means false). A person has at most one
mobile number and one email address; an organization any number of each, and is never reserved. A
self-identified user's identifier is their username (stored in lower case); like a person they have at most
one of each address, and like an organization they are never reserved.

The optional ``person`` column ties an organization row's addresses to a person (an 11-digit national
identity number): they are then contact points that person registered for the organization, used only for
orders with a ``resourceId`` whose resource the person is authorized for (``orders.authorization``). An
organization may have one row without a person (its own addresses, and its name) and one row per person;
``name`` on a person's row is the person's and is not stored. An address both the organization's own and a
person's is kept once, as the organization's own.

Every row is validated first and every bad row is reported by its line number; the good rows are then
written in one transaction: COPY into temporary tables, then ``INSERT … ON CONFLICT DO UPDATE`` (a handful
of statements for any number of rows). Importing a file again updates the entries it names, and an
organization's address lists become exactly the file's.

``demo_contacts_import`` loads the bundled demo files (``DEMO_CONTACTS_FILES``) the same way, and the demo
rights of the database authorization backend (``orders.authorization.services``); with
``if_empty`` it imports only into empty registry tables, so an operator's own entries are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from orders.csv_files import csv_rows
from orders.registry.models import Organization, OrganizationContact, Person, SelfIdentifiedUser
from orders.registry.normalise import registry_mobile_number, unique_email_addresses
from orders.validation import has_control_characters

COLUMNS = ("kind", "identifier", "name", "mobile_numbers", "email_addresses", "reserved")
# May be left out of the header: the person an organization row's addresses belong to.
OPTIONAL_COLUMNS = ("person",)
MAX_NAME_LENGTH = Person._meta.get_field("name").max_length or 200
MAX_EMAIL_LENGTH = 320
MAX_USERNAME_LENGTH = SelfIdentifiedUser._meta.get_field("username").max_length or 200
KINDS = ("person", "organization", "selfidentified")

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
# The demo registry: a few entries showing what the registry can hold, and the persons and organizations
# the API documentation's examples name (so its example requests get the documented receipts).
DEMO_CONTACTS_FILES = (FIXTURES_DIR / "demo-contacts.csv", FIXTURES_DIR / "api-examples.csv")

_email_validator = EmailValidator()


class ContactsFileError(ValueError):
    """The file as a whole cannot be read (no header, or the wrong columns); nothing was imported."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class PersonRow:
    national_identity_number: str
    name: str
    mobile_number: str  # E.164, or "" for none
    email_address: str  # or "" for none
    reserved: bool


@dataclass(frozen=True)
class OrganizationRow:
    organization_number: str
    name: str
    mobile_numbers: tuple[str, ...]  # E.164, deduplicated
    email_addresses: tuple[str, ...]  # deduplicated
    person: str = ""  # the NIN these addresses belong to, or "" for the organization's own


@dataclass(frozen=True)
class SelfIdentifiedRow:
    username: str  # lower case
    name: str
    mobile_number: str  # E.164, or "" for none
    email_address: str  # or "" for none


@dataclass
class ParsedContacts:
    persons: list[PersonRow] = field(default_factory=list)
    organizations: list[OrganizationRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    self_identified: list[SelfIdentifiedRow] = field(default_factory=list)


@dataclass(frozen=True)
class ContactsImportResult:
    persons: int
    organizations: int
    errors: list[RowError]
    self_identified: int = 0


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(";") if item.strip()]


def _parse_row(
    values: dict[str, str], problems: list[str]
) -> PersonRow | OrganizationRow | SelfIdentifiedRow | None:
    kind = values["kind"].strip().lower()
    identifier = values["identifier"].strip()
    name = values["name"].strip()
    reserved_text = values["reserved"].strip().lower()

    if kind not in KINDS:
        problems.append(f"kind must be 'person', 'organization' or 'selfidentified', not {values['kind']!r}")
        return None
    if kind == "selfidentified":
        identifier = identifier.lower()
        if not identifier or len(identifier) > MAX_USERNAME_LENGTH or has_control_characters(identifier):
            problems.append(
                f"the username must be 1 to {MAX_USERNAME_LENGTH} characters without control characters"
            )
    else:
        digits = 11 if kind == "person" else 9
        if not (len(identifier) == digits and identifier.isascii() and identifier.isdigit()):
            what = "national identity number" if kind == "person" else "organization number"
            problems.append(f"the {what} must be exactly {digits} digits, not {identifier!r}")
    if len(name) > MAX_NAME_LENGTH:
        problems.append(f"the name is longer than {MAX_NAME_LENGTH} characters")
    if reserved_text not in ("true", "false", ""):
        problems.append(f"reserved must be 'true' or 'false', not {values['reserved']!r}")
    reserved = reserved_text == "true"
    person = values.get("person", "").strip()
    if person and kind != "organization":
        problems.append("person is only for organization rows")
    elif person and not (len(person) == 11 and person.isascii() and person.isdigit()):
        problems.append(f"person must be a national identity number of exactly 11 digits, not {person!r}")

    mobiles: list[str] = []
    for raw in _split(values["mobile_numbers"]):
        number = registry_mobile_number(raw)
        if number is None:
            problems.append(f"{raw!r} is not a valid mobile number")
        else:
            mobiles.append(number)
    emails: list[str] = []
    for raw in _split(values["email_addresses"]):
        try:
            if len(raw) > MAX_EMAIL_LENGTH:
                raise ValidationError("too long")
            _email_validator(raw)
        except ValidationError:
            problems.append(f"{raw!r} is not a valid email address")
        else:
            emails.append(raw)

    # Both lists are already normalised and valid: deduplicate them without parsing the numbers again.
    mobiles = list(dict.fromkeys(mobiles))
    emails = list(unique_email_addresses(emails))
    if kind in ("person", "selfidentified"):
        who = "a person" if kind == "person" else "a self-identified user"
        if len(mobiles) > 1:
            problems.append(f"{who} has at most one mobile number, this row has {len(mobiles)}")
        if len(emails) > 1:
            problems.append(f"{who} has at most one email address, this row has {len(emails)}")
        if kind == "selfidentified" and reserved:
            problems.append("a self-identified user cannot be reserved against digital contact")
        if problems:
            return None
        if kind == "selfidentified":
            return SelfIdentifiedRow(
                username=identifier,
                name=name,
                mobile_number=mobiles[0] if mobiles else "",
                email_address=emails[0] if emails else "",
            )
        return PersonRow(
            national_identity_number=identifier,
            name=name,
            mobile_number=mobiles[0] if mobiles else "",
            email_address=emails[0] if emails else "",
            reserved=reserved,
        )
    if reserved:
        problems.append("an organization cannot be reserved against digital contact")
    if problems:
        return None
    return OrganizationRow(
        organization_number=identifier,
        name=name,
        mobile_numbers=tuple(mobiles),
        email_addresses=tuple(emails),
        person=person,
    )


def contacts_parse(*, lines: Iterable[str]) -> ParsedContacts:
    """Validate every row of a contacts CSV; bad rows become errors with their line numbers.

    Raises ContactsFileError when the header is missing or does not name exactly the expected columns.
    """
    parsed = ParsedContacts()
    first_line: dict[tuple[str, ...], int] = {}
    for record in csv_rows(lines, columns=COLUMNS, optional=OPTIONAL_COLUMNS, file_error=ContactsFileError):
        line = record.line
        if record.problem:
            parsed.errors.append(RowError(line, record.problem))
            continue
        problems: list[str] = []
        row = _parse_row(record.values, problems)
        if row is None:
            parsed.errors.append(RowError(line, "; ".join(problems)))
            continue
        # A second row for the same entry is almost certainly a mistake in the file; the first one wins.
        key: tuple[str, ...]
        if isinstance(row, PersonRow):
            key = ("person", row.national_identity_number)
        elif isinstance(row, SelfIdentifiedRow):
            key = ("self-identified user", row.username)
        elif row.person:
            key = ("organization", row.organization_number, "with person", row.person)
        else:
            key = ("organization", row.organization_number)
        if key in first_line:
            parsed.errors.append(RowError(line, f"{' '.join(key)} is already on line {first_line[key]}"))
            continue
        first_line[key] = line
        if isinstance(row, PersonRow):
            parsed.persons.append(row)
        elif isinstance(row, SelfIdentifiedRow):
            parsed.self_identified.append(row)
        else:
            parsed.organizations.append(row)
    return parsed


def _copy_into_temporary_table(
    cursor: CursorWrapper, table: str, columns: str, rows: Iterable[tuple[object, ...]]
) -> None:
    """Create a temporary table and fill it with COPY, the fastest way to hand PostgreSQL many rows."""
    cursor.execute(f"CREATE TEMPORARY TABLE {table} ({columns}) ON COMMIT DROP")
    names = ", ".join(column.split()[0] for column in columns.split(","))
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _persons_upsert(cursor: CursorWrapper, rows: list[PersonRow]) -> None:
    person = Person._meta.db_table
    _copy_into_temporary_table(
        cursor,
        "import_person",
        "national_identity_number text, name text, mobile_number text, email_address text, reserved boolean",
        (
            (row.national_identity_number, row.name, row.mobile_number, row.email_address, row.reserved)
            for row in rows
        ),
    )
    cursor.execute(
        f"""
        INSERT INTO {person}
            (national_identity_number, name, mobile_number, email_address, reserved, updated_at)
        SELECT national_identity_number, name, mobile_number, email_address, reserved, %s
        FROM import_person
        ON CONFLICT (national_identity_number) DO UPDATE SET
            name = EXCLUDED.name,
            mobile_number = EXCLUDED.mobile_number,
            email_address = EXCLUDED.email_address,
            reserved = EXCLUDED.reserved,
            updated_at = EXCLUDED.updated_at
        """,
        [timezone.now()],
    )
    cursor.execute("DROP TABLE import_person")


def _self_identified_upsert(cursor: CursorWrapper, rows: list[SelfIdentifiedRow]) -> None:
    if not rows:
        return
    table = SelfIdentifiedUser._meta.db_table
    _copy_into_temporary_table(
        cursor,
        "import_self_identified",
        "username text, name text, mobile_number text, email_address text",
        ((row.username, row.name, row.mobile_number, row.email_address) for row in rows),
    )
    cursor.execute(
        f"""
        INSERT INTO {table} (username, name, mobile_number, email_address, updated_at)
        SELECT username, name, mobile_number, email_address, %s FROM import_self_identified
        ON CONFLICT (username) DO UPDATE SET
            name = EXCLUDED.name,
            mobile_number = EXCLUDED.mobile_number,
            email_address = EXCLUDED.email_address,
            updated_at = EXCLUDED.updated_at
        """,
        [timezone.now()],
    )
    cursor.execute("DROP TABLE import_self_identified")


def _organization_addresses(rows: list[OrganizationRow]) -> Iterator[tuple[str, str, str, str | None]]:
    for row in rows:
        person = row.person or None
        for address in row.email_addresses:
            yield row.organization_number, OrganizationContact.Kind.EMAIL.value, address, person
        for number in row.mobile_numbers:
            yield row.organization_number, OrganizationContact.Kind.SMS.value, number, person


def _organizations_upsert(cursor: CursorWrapper, rows: list[OrganizationRow]) -> None:
    organization = Organization._meta.db_table
    contact = OrganizationContact._meta.db_table
    _copy_into_temporary_table(
        cursor,
        "import_organization",
        "organization_number text, name text, named boolean",
        # A person's row names the organization only to create it; the organization's own row names it.
        ((row.organization_number, row.name if not row.person else "", not row.person) for row in rows),
    )
    _copy_into_temporary_table(
        cursor,
        "import_organization_contact",
        "position bigint, organization_number text, kind text, address text, person text",
        (
            (position, number, kind, address, person)
            for position, (number, kind, address, person) in enumerate(_organization_addresses(rows))
        ),
    )
    now = timezone.now()
    cursor.execute(
        f"""
        INSERT INTO {organization} (organization_number, name, updated_at)
        SELECT organization_number, name, %s FROM import_organization WHERE named
        ON CONFLICT (organization_number) DO UPDATE SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at
        """,
        [now],
    )
    cursor.execute(
        f"""
        INSERT INTO {organization} (organization_number, name, updated_at)
        SELECT DISTINCT organization_number, '', %s::timestamptz FROM import_organization WHERE NOT named
        ON CONFLICT (organization_number) DO NOTHING
        """,
        [now],
    )
    # The file's lists replace the stored ones: delete every address of the organizations in the file...
    cursor.execute(
        f"""
        DELETE FROM {contact} AS c USING {organization} AS o, import_organization AS i
        WHERE c.organization_id = o.id AND o.organization_number = i.organization_number
        """
    )
    # ...and insert the file's, in file order, so ids (and so lookups) keep the order the file gives.
    # The organization's own addresses go first: an address that is also a person's stays its own.
    cursor.execute(
        f"""
        INSERT INTO {contact} (organization_id, kind, address, national_identity_number)
        SELECT o.id, i.kind, i.address, i.person
        FROM import_organization_contact AS i JOIN {organization} AS o USING (organization_number)
        ORDER BY i.person IS NOT NULL, i.position
        ON CONFLICT DO NOTHING
        """
    )
    cursor.execute("DROP TABLE import_organization, import_organization_contact")


def contacts_import(*, lines: Iterable[str], dry_run: bool = False) -> ContactsImportResult:
    """Validate a contacts CSV and upsert its good rows in bulk; the result lists the bad rows.

    1. Parse and validate every row (ContactsFileError for a bad header: nothing is imported).
    2. In one transaction: upsert persons; upsert organizations, replace their address lists.
    """
    parsed = contacts_parse(lines=lines)
    if not dry_run:
        with transaction.atomic(), connection.cursor() as cursor:
            _persons_upsert(cursor, parsed.persons)
            _organizations_upsert(cursor, parsed.organizations)
            _self_identified_upsert(cursor, parsed.self_identified)
    return ContactsImportResult(
        persons=len(parsed.persons),
        # Organizations, not rows: a contact person's row adds to its organization.
        organizations=len({row.organization_number for row in parsed.organizations}),
        errors=parsed.errors,
        self_identified=len(parsed.self_identified),
    )


@dataclass(frozen=True)
class DemoContactsImport:
    """What ``demo_contacts_import`` did: ``result`` when it imported, otherwise why not (``skipped``)."""

    result: ContactsImportResult | None
    skipped: str = ""


def demo_contacts_import(*, if_empty: bool = False, dry_run: bool = False) -> DemoContactsImport:
    """Import the demo registry files into the database registry, in one transaction.

    Nothing is imported when the registry backend is an external register (``http``), nor, with
    ``if_empty``, when the persons or organizations table already holds an entry: the tables are locked
    against writers while they are checked and filled, so a concurrent import or admin edit cannot slip in
    between. Rejected rows of the files are returned as errors, each naming its file.
    """
    if settings.NOTIFICATIONS_REGISTRY_BACKEND == "http":
        return DemoContactsImport(None, "the contact registry is an external register (http backend)")
    persons = organizations = self_identified = 0
    errors: list[RowError] = []
    with transaction.atomic():
        if if_empty:
            with connection.cursor() as cursor:
                # SHARE ROW EXCLUSIVE conflicts with itself and with every write, never with reads.
                cursor.execute(
                    f"LOCK TABLE {Person._meta.db_table}, {Organization._meta.db_table} "
                    "IN SHARE ROW EXCLUSIVE MODE"
                )
            if Person.objects.exists() or Organization.objects.exists():
                return DemoContactsImport(None, "the contact registry already has entries")
        for path in DEMO_CONTACTS_FILES:
            with path.open(newline="", encoding="utf-8") as file:
                result = contacts_import(lines=file, dry_run=dry_run)
            persons += result.persons
            organizations += result.organizations
            self_identified += result.self_identified
            errors += [RowError(error.line, f"{error.message} (in {path.name})") for error in result.errors]
        if settings.NOTIFICATIONS_AUTHORIZATION_BACKEND == "database" and not dry_run:
            # Who of the example organization's contact persons may read the examples' resource.
            from orders.authorization.services import demo_rights_import

            demo_rights_import()
    return DemoContactsImport(
        ContactsImportResult(
            persons=persons, organizations=organizations, errors=errors, self_identified=self_identified
        )
    )
