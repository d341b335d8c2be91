"""External identities: the URNs that name a person without a national identity number.

Two kinds, as in the service we replace:

* ``urn:altinn:person:idporten-email:{email}`` — a person who logs in with ID-porten by email address;
  the address is in the URN and is where their email goes.
* ``urn:altinn:person:legacy-selfidentified:{username}`` — a self-identified user, looked up by username
  in the contact registry. ``urn:altinn:username:{username}`` and ``urn:altinn:party:username:{username}``
  are accepted as other spellings of the same kind, as the reference's URN type accepts them.

The value after the prefix is percent-decoded (``%40`` is ``@``), as the reference's URN parser does.
The prefix is matched without regard to case; usernames are compared case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote

from orders import validation
from orders.registry.base import ExternalIdentityContact


class IdentityKind(Enum):
    IDPORTEN_EMAIL = "idporten-email"
    USERNAME = "username"


_PREFIXES = (
    ("urn:altinn:person:idporten-email:", IdentityKind.IDPORTEN_EMAIL),
    ("urn:altinn:person:legacy-selfidentified:", IdentityKind.USERNAME),
    ("urn:altinn:party:username:", IdentityKind.USERNAME),
    ("urn:altinn:username:", IdentityKind.USERNAME),
)

MSG_EXTERNAL_IDENTITY_EMPTY = "ExternalIdentity cannot be null or empty."
MSG_EXTERNAL_IDENTITY_FORMAT = "Invalid external identity URN format."


@dataclass(frozen=True)
class ExternalIdentity:
    kind: IdentityKind
    value: str  # the email address or the username, percent-decoded and trimmed

    @property
    def username_key(self) -> str:
        """The username as the registry stores and compares it (lower case)."""
        return self.value.lower()


def external_identity_parse(urn: str | None) -> ExternalIdentity | None:
    """The identity a URN names, or None when it is not one of the accepted forms (the reference's rule:
    an ID-porten email URN needs a valid address, a username URN a non-blank username)."""
    if not urn:
        return None
    lowered = urn.lower()
    found = next(((prefix, kind) for prefix, kind in _PREFIXES if lowered.startswith(prefix)), None)
    if found is None:
        return None
    prefix, kind = found
    try:
        value = unquote(urn[len(prefix) :], errors="strict")
    except UnicodeDecodeError:  # percent-escapes that are not UTF-8
        return None
    if kind is IdentityKind.IDPORTEN_EMAIL:
        if not validation.is_valid_email(value):
            return None
        return ExternalIdentity(kind, value.strip())
    if not value.strip() or validation.has_control_characters(value):
        return None
    return ExternalIdentity(kind, value.strip())


def external_identity_addresses(
    urn: str, found: Mapping[str, ExternalIdentityContact]
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(emails, mobile numbers) of an external identity, or None when it reaches no one.

    An ID-porten email identity is reached at its address, without a lookup; a username identity through
    the registry's answer ``found`` (None when the registry does not know the user).
    """
    identity = external_identity_parse(urn)
    if identity is None:
        return None
    if identity.kind is IdentityKind.IDPORTEN_EMAIL:
        return (identity.value,), ()
    contact = found.get(urn)
    if contact is None:
        return None
    return (
        (contact.email_address,) if contact.email_address else (),
        (contact.mobile_number,) if contact.mobile_number else (),
    )


def username_urns(urns: Iterable[str | None]) -> list[str]:
    """The URNs among ``urns`` that need a registry lookup (username identities), each once."""
    return [
        urn
        for urn in dict.fromkeys(u for u in urns if u)
        if (identity := external_identity_parse(urn)) is not None and identity.kind is IdentityKind.USERNAME
    ]
