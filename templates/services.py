"""Keyword substitution: personalise an order's texts for one recipient.

Two keywords exist, case-sensitive and exact: ``$recipientName$`` becomes the person's or organization's
name, ``$recipientNumber$`` the organization number. For a person ``$recipientNumber$`` becomes the empty
string: a national identity number is never written into a message. A recipient known only by an address
has no identity to substitute, so the keywords stay as written (as the reference service does).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

RECIPIENT_NAME = "$recipientName$"
RECIPIENT_NUMBER = "$recipientNumber$"

# One pass over the text, so a name that itself contains a keyword is not substituted again.
_KEYWORD = re.compile(r"\$recipient(Name|Number)\$")


@dataclass(frozen=True)
class KeywordValues:
    """What the keywords stand for, for one identified recipient."""

    name: str
    number: str

    @classmethod
    def for_person(cls, *, name: str | None) -> KeywordValues:
        return cls(name=name or "", number="")

    @classmethod
    def for_organization(cls, *, organization_number: str, name: str | None) -> KeywordValues:
        return cls(name=name or "", number=organization_number)


def keywords_present(text: str | None) -> bool:
    """Whether ``text`` contains a keyword (only then does a notification need its own text)."""
    return bool(text) and _KEYWORD.search(text or "") is not None


def keywords_render(text: str, values: KeywordValues | None, *, html_escape: bool = False) -> str:
    """``text`` with the keywords replaced by ``values``; unchanged when the recipient has no identity.

    ``html_escape`` escapes the substituted values (not the template) for HTML email bodies, so an
    organization called ``A & B <AS>`` renders as text rather than markup.
    """
    if values is None or "$recipient" not in text:
        return text
    name, number = values.name, values.number
    if html_escape:
        name, number = html.escape(name), html.escape(number)

    def substitute(match: re.Match[str]) -> str:
        return name if match.group(1) == "Name" else number

    return _KEYWORD.sub(substitute, text)
