"""Personalisation fields of stored templates: ``((name))`` placeholders and filling them in.

A placeholder is two opening parentheses, a name and two closing ones: ``((firstName))``. A name starts
with a letter and continues with letters, digits and underscores (at most 64 characters), and is
case-sensitive. Anything else (``(( x ))``, ``((1st))``, a single ``(``) is ordinary text. The syntax is
GOV.UK Notify's; ``$...$`` was not extended because ``$`` appears in ordinary text (``$10 and $20``). The
recipient keywords ``$recipientName$`` and ``$recipientNumber$`` are a separate, later step: they stay as
written here and are substituted per recipient when the notifications are made.

Filling in is one pass over the text, so a value that itself contains ``((x))`` is not filled in again.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\(\(([A-Za-z][A-Za-z0-9_]{0,63})\)\)")


def placeholder_names(*texts: str) -> list[str]:
    """The field names the texts use, each once, in order of first appearance."""
    names: dict[str, None] = {}
    for text in texts:
        for match in PLACEHOLDER.finditer(text):
            names.setdefault(match.group(1), None)
    return list(names)


@dataclass(frozen=True)
class Filled:
    text: str
    missing: list[str]


def fill(text: str, values: Mapping[str, str], *, html_escape: bool = False) -> Filled:
    """``text`` with every placeholder that has a value replaced by it; the others stay as written.

    ``html_escape`` escapes the values (quotes included), never the template: the body of an Html
    email is the sender's markup, a personalisation value is text.
    """
    missing: dict[str, None] = {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            missing.setdefault(name, None)
            return match.group(0)
        value = values[name]
        return html.escape(value, quote=True) if html_escape else value

    return Filled(text=PLACEHOLDER.sub(substitute, text), missing=list(missing))


def unused(fields: Iterable[str], values: Mapping[str, str]) -> list[str]:
    """The given values no field of the template uses, in the order given."""
    used = set(fields)
    return [name for name in values if name not in used]
