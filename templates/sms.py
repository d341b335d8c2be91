"""SMS part counting: which encoding a text needs and how many parts (segments) it is sent as.

GSM 03.38 (GSM-7) is used when every character is in its basic table or its extension table; an
extension character (``€ [ ] { } \\ ^ ~ |`` and form feed) costs two septets (an escape plus the
character). One message holds 160 septets; a concatenated message spends 7 septets of each part on the
header, leaving 153. Any other character makes the whole text UCS-2 (UTF-16): 70 code units alone, 67 per
part when concatenated, and a character outside the Basic Multilingual Plane (most emoji) takes two units.

Parts are counted the way a gateway splits them: an escape pair or a surrogate pair is never cut in two,
so a part may end one unit short of its capacity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# The basic table without ESC (0x1B), which only introduces an extension character.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE_SEPTETS = 160
GSM7_PART_SEPTETS = 153
UCS2_SINGLE_UNITS = 70
UCS2_PART_UNITS = 67


class SmsEncoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class SmsLength:
    encoding: SmsEncoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    parts: int


GSM7_CHARACTERS = GSM7_BASIC | GSM7_EXTENSION
_GSM7_EXTENSION_CHAR = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")


def sms_encoding(text: str) -> SmsEncoding:
    """GSM-7 when every character has a GSM-7 code, otherwise UCS-2."""
    return SmsEncoding.GSM7 if GSM7_CHARACTERS.issuperset(text) else SmsEncoding.UCS2


def _unit_sizes(text: str, encoding: SmsEncoding) -> list[int]:
    """The number of units each character takes (1 or 2), in order."""
    if encoding is SmsEncoding.GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _count_parts(sizes: list[int], part_capacity: int) -> int:
    parts, used = 1, 0
    for size in sizes:
        if used + size > part_capacity:  # the pair does not fit: it starts the next part whole
            parts += 1
            used = 0
        used += size
    return parts


def sms_length(text: str) -> SmsLength:
    """Encoding, size in units and number of parts of ``text`` (an empty text is still one message)."""
    encoding = sms_encoding(text)
    # Counting with str methods keeps this cheap enough to run once per generated notification.
    if encoding is SmsEncoding.GSM7:
        units = len(text) + len(_GSM7_EXTENSION_CHAR.findall(text))
        single, per_part = GSM7_SINGLE_SEPTETS, GSM7_PART_SEPTETS
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, per_part = UCS2_SINGLE_UNITS, UCS2_PART_UNITS
    if units <= single:
        return SmsLength(encoding=encoding, units=units, parts=1)
    if units == len(text):  # no two-unit characters: nothing to keep whole at a part boundary
        return SmsLength(encoding=encoding, units=units, parts=-(-units // per_part))
    return SmsLength(
        encoding=encoding, units=units, parts=_count_parts(_unit_sizes(text, encoding), per_part)
    )


def sms_part_count(text: str) -> int:
    """How many parts ``text`` is sent as (what the gateway bills)."""
    return sms_length(text).parts


def sms_characters_left(length: SmsLength) -> int:
    """Units left in the last part before the text needs one more part (escape and surrogate pairs that
    would straddle a part boundary are not accounted for)."""
    if length.parts == 1:
        single = GSM7_SINGLE_SEPTETS if length.encoding is SmsEncoding.GSM7 else UCS2_SINGLE_UNITS
        return single - length.units
    per_part = GSM7_PART_SEPTETS if length.encoding is SmsEncoding.GSM7 else UCS2_PART_UNITS
    return max(length.parts * per_part - length.units, 0)
