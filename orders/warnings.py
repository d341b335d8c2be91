"""The content warnings of an order's receipt: the templates' checks (``templates.warnings``) with the
field paths of the request they came from, and the recipients whose keywords cannot be filled in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from templates.records import EmailTemplateData, SmsTemplateData
from templates.warnings import ContentWarning, KeywordRecipients, keyword_warnings, sms_warnings

if TYPE_CHECKING:  # orders.services imports this module; only the types are needed here
    from orders.services import RecipientData, RecipientLookup


@dataclass(frozen=True)
class TemplatePaths:
    """Where an order's texts are in its request, for the warnings' ``field``."""

    sms_body: str = "smsTemplate.body"
    email_subject: str = "emailTemplate.subject"
    email_body: str = "emailTemplate.body"


def keyword_recipients(
    recipients: Sequence[RecipientData], lookup: RecipientLookup | None
) -> KeywordRecipients:
    from orders.services import MobileRecipients  # orders.services imports this module

    if isinstance(recipients, MobileRecipients):  # mobile numbers only: nobody has an identity
        return KeywordRecipients(without_identity=len(recipients), without_name=0, persons=0)
    unnamed = lookup.unnamed if lookup is not None else frozenset()
    identified = [r.national_identity_number or r.organization_number for r in recipients]
    return KeywordRecipients(
        without_identity=sum(1 for key in identified if not key),
        without_name=sum(1 for key in identified if key and key in unnamed),
        persons=sum(1 for r in recipients if r.national_identity_number),
    )


def order_warnings(
    *,
    recipients: Sequence[RecipientData],
    lookup: RecipientLookup | None,
    sms_template: SmsTemplateData | None,
    email_template: EmailTemplateData | None,
    paths: TemplatePaths,
) -> list[ContentWarning]:
    """Every warning about one order's texts, SMS first; empty when there is nothing to say."""
    warnings: list[ContentWarning] = []
    texts: dict[str, str | None] = {}
    if sms_template is not None:
        warnings += sms_warnings(sms_template.body, field=paths.sms_body)
        texts[paths.sms_body] = sms_template.body
    if email_template is not None:
        texts[paths.email_subject] = email_template.subject
        texts[paths.email_body] = email_template.body
    return warnings + keyword_warnings(texts, keyword_recipients(recipients, lookup))
