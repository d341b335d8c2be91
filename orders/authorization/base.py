"""The authorization interface: may these persons perform an action on a resource for an organization?

An order with a ``resourceId`` reaches the contact points persons registered for an organization only when
the person is permitted the order's ``resourceAction`` (default ``read``) on that resource, on behalf of
that organization. Two backends answer the question: ``database`` (the default, rights kept in this
service's own tables) and ``http`` (an XACML decision point such as Altinn's PDP). ``get_authorization()``
returns the one chosen by ``NOTIFICATIONS_AUTHORIZATION_BACKEND``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_ACTION = "read"


@dataclass(frozen=True)
class AccessQuestion:
    """May this person act for this organization? The person is known by user id, NIN or both."""

    organization_number: str
    party_id: int | None  # the organization's party id, when the register gave one
    user_id: int | None
    national_identity_number: str | None


class AuthorizationUnavailable(Exception):
    """The authorization service could not answer (timeout, connection error, 5xx): retry later."""


class AuthorizationBackend(Protocol):
    def permitted(
        self, questions: Sequence[AccessQuestion], *, resource_id: str, action: str
    ) -> set[AccessQuestion]:
        """The questions answered Permit; every other answer (Deny, NotApplicable, Indeterminate) is no.

        ``resource_id`` is the resource's id without its ``urn:altinn:resource:`` prefix.
        """
        ...
