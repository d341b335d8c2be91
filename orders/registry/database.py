"""The database backend of the contact registry: the Person, Organization, OrganizationContact and
SelfIdentifiedUser tables.

A lookup is one query for persons and two for organizations (the organizations, then all their addresses),
however many identifiers are asked for; the identifiers travel as one array parameter (``= ANY``).
Mobile numbers are normalised when they are written (the import, the admin's validation; a check
constraint holds the E.164 shape), so they are read as stored; addresses are deduplicated on the way out.
"""

from __future__ import annotations

from collections.abc import Sequence

from orders.registry.base import ExternalIdentityContact, OrganizationContacts, PersonContact
from orders.registry.models import Organization, OrganizationContact, Person, SelfIdentifiedUser
from orders.registry.normalise import unique_email_addresses
from orders.registry.urns import IdentityKind, external_identity_parse


class DatabaseRegistry:
    """Contact lookups against the registry tables of this service's own database."""

    def persons(self, national_identity_numbers: Sequence[str]) -> dict[str, PersonContact]:
        """Contacts of the persons found, keyed by NIN; unknown persons are absent."""
        wanted = set(national_identity_numbers)
        if not wanted:
            return {}
        rows = Person.objects.filter(national_identity_number__any_of=wanted).values_list(
            "national_identity_number", "name", "mobile_number", "email_address", "reserved"
        )
        return {
            nin: PersonContact(
                national_identity_number=nin,
                name=name or None,
                mobile_number=mobile or None,
                email_address=email.strip() or None,
                reserved=reserved,
            )
            for nin, name, mobile, email, reserved in rows
        }

    def organizations(self, organization_numbers: Sequence[str]) -> dict[str, OrganizationContacts]:
        """Notification addresses of the organizations found, keyed by number; unknown ones are absent."""
        wanted = set(organization_numbers)
        if not wanted:
            return {}
        organizations = list(
            Organization.objects.filter(organization_number__any_of=wanted).values_list(
                "id", "organization_number", "name"
            )
        )
        emails: dict[int, list[str]] = {organization_id: [] for organization_id, _, _ in organizations}
        mobiles: dict[int, list[str]] = {organization_id: [] for organization_id, _, _ in organizations}
        # Not prefetch_related: that would send every organization id as its own IN parameter. Ordered by
        # id, so addresses come back in the order they were registered (the import file's order).
        addresses = (
            OrganizationContact.objects.filter(organization__organization_number__any_of=wanted)
            .order_by("id")
            .values_list("organization_id", "kind", "address")
        )
        for organization_id, kind, address in addresses:
            if organization_id not in emails:
                continue  # an organization added between the two queries: not part of this answer
            (mobiles if kind == OrganizationContact.Kind.SMS else emails)[organization_id].append(address)
        result: dict[str, OrganizationContacts] = {}
        for organization_id, number, name in organizations:
            result[number] = OrganizationContacts(
                organization_number=number,
                name=name or None,
                # The unique constraint rules out exact repeats; an email typed twice in two cases is not.
                email_addresses=unique_email_addresses(emails[organization_id]),
                mobile_numbers=tuple(dict.fromkeys(mobiles[organization_id])),
            )
        return result

    def external_identities(self, urns: Sequence[str]) -> dict[str, ExternalIdentityContact]:
        """Contacts of the self-identified users found, keyed by the URN as asked; unknown ones are absent."""
        usernames: dict[str, list[str]] = {}
        for urn in dict.fromkeys(urns):
            identity = external_identity_parse(urn)
            if identity is not None and identity.kind is IdentityKind.USERNAME:
                usernames.setdefault(identity.username_key, []).append(urn)
        if not usernames:
            return {}
        rows = SelfIdentifiedUser.objects.filter(username__any_of=list(usernames)).values_list(
            "username", "mobile_number", "email_address"
        )
        return {
            urn: ExternalIdentityContact(
                external_identity=urn, mobile_number=mobile or None, email_address=email.strip() or None
            )
            for username, mobile, email in rows
            for urn in usernames[username]
        }
