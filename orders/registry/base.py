"""The contact registry interface: look up persons by NIN, organizations by organization number and
self-identified users by their external identity (``orders.registry.urns``).

``OrganizationContacts`` are an organization's own notification addresses, tied to no person: every
order to the organization reaches them. Contact points a person registered for an organization
(``UserContactRegistry``) are used only for orders with a ``resourceId``, and only those of persons the
authorization backend permits (``orders.authorization``).

Two backends implement it (`database`, the default, and `http`, a client for an external register);
`get_registry()` returns the one chosen by ``NOTIFICATIONS_REGISTRY_BACKEND``. Both are used at
registration (for the 202 receipt's ``recipientLookup``) and by the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PersonContact:
    national_identity_number: str
    name: str | None
    mobile_number: str | None  # normalised (+47...), or None when missing or invalid
    email_address: str | None
    reserved: bool


@dataclass(frozen=True)
class OrganizationContacts:
    organization_number: str
    name: str | None
    email_addresses: tuple[str, ...]
    mobile_numbers: tuple[str, ...]  # normalised
    # Contact points of persons authorized for the order's resource: added at processing, never by a lookup.
    person_contacts: tuple[UserContact, ...] = ()


@dataclass(frozen=True)
class UserContact:
    """A contact point a person registered for an organization (reached only through authorization).

    The person is known by user id, national identity number or both; addresses are normalised.
    """

    user_id: int | None
    national_identity_number: str | None
    email_address: str | None
    mobile_number: str | None


@dataclass(frozen=True)
class OrganizationUserContacts:
    organization_number: str
    party_id: int | None  # the organization's party id in the register, when it has one
    contacts: tuple[UserContact, ...]


@dataclass(frozen=True)
class ExternalIdentityContact:
    external_identity: str  # the URN as it was asked for
    mobile_number: str | None  # normalised (+47...), or None when missing or invalid
    email_address: str | None


class RegistryUnavailable(Exception):
    """The registry could not answer (timeout, connection error, 5xx): retry later, lose nothing."""


class ContactRegistry(Protocol):
    def persons(self, national_identity_numbers: Sequence[str]) -> dict[str, PersonContact]:
        """Contacts of the persons found, keyed by NIN; unknown persons are absent."""
        ...

    def organizations(self, organization_numbers: Sequence[str]) -> dict[str, OrganizationContacts]:
        """Notification addresses of the organizations found, keyed by number; unknown ones are absent."""
        ...

    def external_identities(self, urns: Sequence[str]) -> dict[str, ExternalIdentityContact]:
        """Contacts of the self-identified users found, keyed by the URN as asked; unknown ones are absent.

        Only username URNs are looked up; an ID-porten email URN carries its address itself.
        """
        ...


class UserContactRegistry(Protocol):
    def organization_user_contacts(
        self, organization_numbers: Sequence[str], resource_id: str
    ) -> dict[str, OrganizationUserContacts]:
        """Contact points persons registered for these organizations (for the resource, where the
        register keeps them per resource), keyed by organization number; organizations without any are
        absent. ``resource_id`` is the id without its ``urn:altinn:resource:`` prefix."""
        ...
