"""Organizations' addresses for an order with a ``resourceId``: their own, plus permitted persons'.

An organization's own notification addresses (tied to no person) are always used. The contact points
persons registered for it are used only for an order with a ``resourceId``, and only those of persons the
authorization backend permits the order's ``resourceAction`` (default ``read``) on that resource for that
organization, as the service we replace does at processing. The permitted persons' contact points travel
as ``OrganizationContacts.person_contacts``; generation applies the order's channel to each person (an
address that is both the organization's own and a person's is sent to once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from orders.authorization.base import DEFAULT_ACTION, AccessQuestion, AuthorizationBackend
from orders.registry.base import OrganizationContacts, UserContactRegistry
from orders.validation import RESOURCE_ID_PREFIX


def resource_key(resource_id: str) -> str:
    """The id the register and the decision point know a resource by: without ``urn:altinn:resource:``."""
    resource_id = resource_id.strip()
    return (
        resource_id[len(RESOURCE_ID_PREFIX) :] if resource_id.startswith(RESOURCE_ID_PREFIX) else resource_id
    )


def organizations_with_permitted_contacts(
    organizations: dict[str, OrganizationContacts],
    organization_numbers: Sequence[str],
    *,
    resource_id: str,
    resource_action: str | None,
    registry: UserContactRegistry,
    authorization: AuthorizationBackend,
) -> dict[str, OrganizationContacts]:
    """``organizations`` with the addresses of permitted persons added (one registry and one decision
    call per chunk). Raises RegistryUnavailable or AuthorizationUnavailable when either cannot answer."""
    key = resource_key(resource_id)
    if not key or not organization_numbers:
        return organizations
    user_contacts = registry.organization_user_contacts(organization_numbers, key)
    questions = {
        AccessQuestion(
            organization_number=number,
            party_id=entry.party_id,
            user_id=contact.user_id,
            national_identity_number=contact.national_identity_number,
        )
        for number, entry in user_contacts.items()
        for contact in entry.contacts
    }
    if not questions:
        return organizations
    action = (resource_action or "").strip() or DEFAULT_ACTION
    permitted = authorization.permitted(sorted(questions, key=repr), resource_id=key, action=action)
    result = dict(organizations)
    for number, entry in user_contacts.items():
        contacts = tuple(
            contact
            for contact in entry.contacts
            if (contact.email_address or contact.mobile_number)
            and AccessQuestion(number, entry.party_id, contact.user_id, contact.national_identity_number)
            in permitted
        )
        if contacts:
            own = result.get(number) or OrganizationContacts(number, None, (), ())
            result[number] = replace(own, person_contacts=own.person_contacts + contacts)
    return result
