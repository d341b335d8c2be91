"""The texts of an order as a request gives them, and their rows with the configured defaults filled in.

One set of records for every kind of order (v1 orders, order chains, instant orders): a sender left out
(``None``) becomes the service's configured default when the row is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from templates.models import EmailTemplate, SmsTemplate


@dataclass(frozen=True)
class EmailTemplateData:
    subject: str
    body: str
    content_type: str = "Plain"
    from_address: str | None = None
    stored_version_id: int | None = None  # the stored template version the texts were rendered from


@dataclass(frozen=True)
class SmsTemplateData:
    body: str
    sender_number: str | None = None
    stored_version_id: int | None = None


def email_template_row(template: EmailTemplateData) -> EmailTemplate:
    """An order's email texts as stored, not yet saved (its id is already set)."""
    return EmailTemplate(
        from_address=template.from_address or settings.NOTIFICATIONS_DEFAULT_EMAIL_FROM,
        subject=template.subject,
        body=template.body,
        content_type=template.content_type,
        stored_version_id=template.stored_version_id,
    )


def sms_template_row(template: SmsTemplateData) -> SmsTemplate:
    """An order's SMS text as stored, not yet saved (its id is already set)."""
    return SmsTemplate(
        sender_number=template.sender_number or settings.NOTIFICATIONS_DEFAULT_SMS_SENDER,
        body=template.body,
        stored_version_id=template.stored_version_id,
    )
