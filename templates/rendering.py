"""A stored template version filled in with personalisation values: for previews and for orders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from templates.models import EmailContentType, StoredTemplateVersion, TemplateType
from templates.personalisation import fill, unused
from templates.records import EmailTemplateData, SmsTemplateData


@dataclass(frozen=True)
class Rendered:
    version: StoredTemplateVersion
    subject: str
    body: str
    missing: list[str]  # fields without a value, left as written
    unused: list[str]  # values no field uses

    def email_data(self) -> EmailTemplateData:
        return EmailTemplateData(
            subject=self.subject,
            body=self.body,
            content_type=self.version.content_type or EmailContentType.PLAIN,
            from_address=self.version.sender or None,
            stored_version_id=self.version.pk,
        )

    def sms_data(self) -> SmsTemplateData:
        return SmsTemplateData(
            body=self.body, sender_number=self.version.sender or None, stored_version_id=self.version.pk
        )


def template_render(version: StoredTemplateVersion, values: Mapping[str, str]) -> Rendered:
    """The version's subject and body with ``values`` filled in; an Html body gets the values escaped."""
    is_html = version.template.type == TemplateType.EMAIL and version.content_type == EmailContentType.HTML
    subject = fill(version.subject, values)
    body = fill(version.body, values, html_escape=is_html)
    missing = list(dict.fromkeys([*subject.missing, *body.missing]))
    return Rendered(
        version=version,
        subject=subject.text,
        body=body.text,
        missing=missing,
        unused=unused(version.fields, values),
    )
