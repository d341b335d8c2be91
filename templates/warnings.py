"""Content warnings: what an order's texts will cost or look like, told to the sender with the receipt.

A warning never refuses an order; it names the field of the request it is about, so a client can show it
next to the text. The checks:

- ``SmsUnicode``: characters outside GSM-7 make the whole SMS UCS-2 (70/67 units a part instead of
  160/153): which characters, and the parts the text costs against the parts it would cost without them.
- ``SmsManyParts``: the SMS is sent as more parts than ``NOTIFICATIONS_SMS_WARN_PARTS``.
- ``SmsLink``: a link in an SMS (often read as phishing, and some operators filter them).
- ``KeywordNotSubstituted``: ``$recipientName$`` or ``$recipientNumber$`` is left as written for
  recipients given only by an address (nothing to substitute), or becomes empty for identified
  recipients without a name (and ``$recipientNumber$`` always for persons).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from templates.services import RECIPIENT_NAME, RECIPIENT_NUMBER
from templates.sms import GSM7_CHARACTERS, SmsEncoding, sms_length

SMS_UNICODE = "SmsUnicode"
SMS_MANY_PARTS = "SmsManyParts"
SMS_LINK = "SmsLink"
KEYWORD_NOT_SUBSTITUTED = "KeywordNotSubstituted"
WARNING_CODES = (SMS_UNICODE, SMS_MANY_PARTS, SMS_LINK, KEYWORD_NOT_SUBSTITUTED)

# How many of the offending characters a message lists (a text in another script would list them all).
SHOWN_CHARACTERS = 10
# http(s) URLs and bare "www." hosts: what a phone turns into a tappable link.
_LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S+")


@dataclass(frozen=True)
class ContentWarning:
    code: str
    message: str
    field: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


def warnings_json(warnings: Iterable[ContentWarning]) -> list[dict[str, Any]]:
    return [warning.as_json() for warning in warnings]


def _shown(char: str) -> str:
    # Invisible or confusable characters (a no-break space, a soft hyphen) are named by code point.
    return char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"


def sms_warnings(body: str, *, field: str) -> list[ContentWarning]:
    """Warnings about one SMS text (the template as written; keywords are counted as they stand)."""
    warnings: list[ContentWarning] = []
    length = sms_length(body)
    if length.encoding is SmsEncoding.UCS2:
        offending = list(dict.fromkeys(char for char in body if char not in GSM7_CHARACTERS))
        # What the text would cost with each such character replaced by one GSM-7 character.
        gsm_parts = sms_length("".join("?" if c not in GSM7_CHARACTERS else c for c in body)).parts
        listed = " ".join(_shown(c) for c in offending[:SHOWN_CHARACTERS])
        more = f" and {len(offending) - SHOWN_CHARACTERS} more" if len(offending) > SHOWN_CHARACTERS else ""
        warnings.append(
            ContentWarning(
                SMS_UNICODE,
                f"{len(offending)} character(s) outside GSM-7 ({listed}{more}) make the SMS UCS-2: "
                f"{length.parts} part(s) instead of {gsm_parts} without them.",
                field,
            )
        )
    limit = int(settings.NOTIFICATIONS_SMS_WARN_PARTS)
    if limit > 0 and length.parts > limit:
        warnings.append(
            ContentWarning(
                SMS_MANY_PARTS,
                f"The SMS is sent (and billed) as {length.parts} parts, more than {limit}.",
                field,
            )
        )
    links = _LINK.findall(body)
    if links:
        warnings.append(
            ContentWarning(
                SMS_LINK,
                f"The SMS contains {len(links)} link(s) ({links[0]}): recipients and operators may "
                "treat messages with links as phishing.",
                field,
            )
        )
    return warnings


@dataclass(frozen=True)
class KeywordRecipients:
    """How many of an order's recipients cannot have their keywords filled in, and why."""

    without_identity: int = 0  # given only by an address: keywords stay as written
    without_name: int = 0  # identified, but the registry has no name: $recipientName$ becomes empty
    persons: int = 0  # persons: $recipientNumber$ becomes empty (a NIN is never written)


def keyword_warnings(texts: Mapping[str, str | None], recipients: KeywordRecipients) -> list[ContentWarning]:
    """Warnings about keywords in ``texts`` (field path → text) that some recipients will not get filled."""
    warnings: list[ContentWarning] = []
    for field, text in texts.items():
        if not text:
            continue
        for keyword in (RECIPIENT_NAME, RECIPIENT_NUMBER):
            if keyword not in text:
                continue
            problems = []
            if recipients.without_identity:
                problems.append(
                    f"stays as written for {recipients.without_identity} recipient(s) given only by an "
                    "address"
                )
            if keyword == RECIPIENT_NAME and recipients.without_name:
                problems.append(f"becomes empty for {recipients.without_name} recipient(s) without a name")
            if keyword == RECIPIENT_NUMBER and recipients.persons:
                problems.append(f"becomes empty for {recipients.persons} person(s)")
            if problems:
                warnings.append(
                    ContentWarning(KEYWORD_NOT_SUBSTITUTED, f"{keyword} {' and '.join(problems)}.", field)
                )
    return warnings
