"""Normalisation of contact addresses that come from the registry (never of addresses in a request).

Mobile numbers follow the reference's rule for numbers from the contact register: a leading ``00`` becomes
``+``; an 8-digit number starting with 4 or 9 is Norwegian and gets ``+47``; anything that libphonenumber
then does not accept as a valid number is dropped. Two small extensions, both harmless for the reference's
examples: whitespace inside the number is ignored, and valid numbers come out in E.164 form, so the same
number written two ways is deduplicated and the SMS gateway always sees one spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

_NORWEGIAN_MOBILE_FIRST_DIGITS = ("4", "9")


def registry_mobile_number(raw: str | None) -> str | None:
    """The registry number as E.164 (``+4799315000``), or None when it is missing or not a valid number."""
    if raw is None:
        return None
    number = "".join(raw.split())
    if not number:
        return None
    if number.startswith("00"):
        number = "+" + number[2:]
    elif len(number) == 8 and number.isdigit() and number.startswith(_NORWEGIAN_MOBILE_FIRST_DIGITS):
        number = "+47" + number
    if not number.startswith("+") or number.startswith("++"):
        # No country code and not a Norwegian mobile: libphonenumber cannot place it without a region.
        # "++" is refused as the reference's number check does (libphonenumber alone would accept it).
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def registry_email_address(raw: str | None) -> str | None:
    """The address without surrounding whitespace, or None when it is empty."""
    if raw is None:
        return None
    address = raw.strip()
    return address or None


def unique_mobile_numbers(raw_numbers: Iterable[str | None]) -> tuple[str, ...]:
    """Valid numbers, normalised, each once, in their first-seen order."""
    seen: dict[str, None] = {}
    for raw in raw_numbers:
        number = registry_mobile_number(raw)
        if number is not None:
            seen.setdefault(number, None)
    return tuple(seen)


def unique_email_addresses(raw_addresses: Iterable[str | None]) -> tuple[str, ...]:
    """Non-empty addresses, each once (compared case-insensitively), keeping the first spelling and order."""
    seen: dict[str, str] = {}
    for raw in raw_addresses:
        address = registry_email_address(raw)
        if address is not None:
            seen.setdefault(address.casefold(), address)
    return tuple(seen.values())


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def email_address_key(address: str) -> str:
    """What makes two email addresses "the same address" for deduplication: the whole address, trimmed
    and compared without case (the domain is case-insensitive by definition; mailbox providers treat the
    local part so too, and the registry already deduplicates an organization's list this way)."""
    return address.strip().casefold()


def mobile_number_key(number: str) -> str:
    """What makes two mobile numbers "the same number" for deduplication: their E.164 form (``0047…``,
    ``+47 …`` and an 8-digit Norwegian mobile are all ``+47…``); a number that cannot be placed is
    compared as written, without whitespace."""
    if _E164.fullmatch(number):  # the registry's numbers, and most numbers in requests: no parsing
        return number
    return registry_mobile_number(number) or "".join(number.split())
