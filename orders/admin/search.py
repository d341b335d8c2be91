"""What an admin search box entry can be, so each list looks it up by equality on an indexed column.

Here rather than in the kernel because a mobile number is read by the contact registry's rule
(``registry_mobile_number``), the spelling notifications are stored in; dispatch's admin imports it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from orders.registry.normalise import registry_mobile_number


@dataclass(frozen=True)
class SearchTerm:
    """What a search box entry can be, so each is looked up by equality on an indexed column."""

    text: str
    uuid: uuid.UUID | None
    nin: str | None  # 11 digits
    organization_number: str | None  # 9 digits
    mobile_numbers: tuple[str, ...]  # as typed (without spaces) and normalised to E.164
    email_addresses: tuple[str, ...]  # as typed and in lower case


def search_term_parse(text: str) -> SearchTerm:
    text = text.strip()
    compact = "".join(text.split())
    try:
        as_uuid: uuid.UUID | None = uuid.UUID(compact)
    except ValueError:
        as_uuid = None
    digits = compact if compact.isdigit() else None
    mobiles: tuple[str, ...] = ()
    if compact and (compact.isdigit() or (compact.startswith("+") and compact[1:].isdigit())):
        normalised = registry_mobile_number(compact)
        mobiles = tuple(dict.fromkeys(n for n in (compact, normalised) if n))
    emails = tuple(dict.fromkeys((text, text.lower()))) if "@" in text else ()
    return SearchTerm(
        text=text,
        uuid=as_uuid,
        nin=digits if digits and len(digits) == 11 else None,
        organization_number=digits if digits and len(digits) == 9 else None,
        mobile_numbers=mobiles,
        email_addresses=emails,
    )
