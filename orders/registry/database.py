"""The database backend of the contact registry: the Person, Organization and OrganizationContact tables.

A lookup is one query for persons and two for organizations (the organizations, then all their addresses),
however many identifiers are asked for. Addresses are normalised on the way out as well as on import, so
entries edited by hand in the admin follow the same rules as imported ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Prefetch

from orders.registry.base import OrganizationContacts, PersonContact
from orders.registry.models import Organization, OrganizationContact, Person
from orders.registry.normalise import (
    registry_email_address,
    registry_mobile_number,
    unique_email_addresses,
    unique_mobile_numbers,
)


class DatabaseRegistry:
    """Contact lookups against the registry tables of this service's own database."""

    def persons(self, national_identity_numbers: Sequence[str]) -> dict[str, PersonContact]:
        """Contacts of the persons found, keyed by NIN; unknown persons are absent."""
        wanted = set(national_identity_numbers)
        if not wanted:
            return {}
        rows = Person.objects.filter(national_identity_number__in=wanted).values_list(
            "national_identity_number", "name", "mobile_number", "email_address", "reserved"
        )
        return {
            nin: PersonContact(
                national_identity_number=nin,
                name=name or None,
                mobile_number=registry_mobile_number(mobile),
                email_address=registry_email_address(email),
                reserved=reserved,
            )
            for nin, name, mobile, email, reserved in rows
        }

    def organizations(self, organization_numbers: Sequence[str]) -> dict[str, OrganizationContacts]:
        """Notification addresses of the organizations found, keyed by number; unknown ones are absent."""
        wanted = set(organization_numbers)
        if not wanted:
            return {}
        # Ordered by id: addresses come back in the order they were registered (the import file's order).
        addresses = OrganizationContact.objects.order_by("id").only("organization_id", "kind", "address")
        organizations = (
            Organization.objects.filter(organization_number__in=wanted)
            .only("organization_number", "name")
            .prefetch_related(Prefetch("contacts", queryset=addresses))
        )
        result: dict[str, OrganizationContacts] = {}
        for organization in organizations:
            contacts = list(organization.contacts.all())
            result[organization.organization_number] = OrganizationContacts(
                organization_number=organization.organization_number,
                name=organization.name or None,
                email_addresses=unique_email_addresses(
                    c.address for c in contacts if c.kind == OrganizationContact.Kind.EMAIL
                ),
                mobile_numbers=unique_mobile_numbers(
                    c.address for c in contacts if c.kind == OrganizationContact.Kind.SMS
                ),
            )
        return result
