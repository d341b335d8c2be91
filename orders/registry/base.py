"""The contact registry interface: look up persons by NIN, organizations by organization number and
self-identified users by their external identity (``orders.registry.urns``).

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
