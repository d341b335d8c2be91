"""Writes of stored templates: create, change (a new immutable version each time) and archive."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from templates.models import StoredTemplate, StoredTemplateVersion
from templates.personalisation import placeholder_names


@dataclass(frozen=True)
class TemplateContent:
    """What one version holds; ``subject`` and ``content_type`` are for email only, ``sender`` empty means
    the service's configured default."""

    name: str
    body: str
    subject: str = ""
    content_type: str = ""
    sender: str = ""


def _version_create(template: StoredTemplate, content: TemplateContent) -> StoredTemplateVersion:
    return StoredTemplateVersion.objects.create(
        template=template,
        number=template.version,
        name=content.name,
        subject=content.subject,
        body=content.body,
        content_type=content.content_type,
        sender=content.sender,
        fields=placeholder_names(content.subject, content.body),
    )


def _same(version: StoredTemplateVersion, content: TemplateContent) -> bool:
    return (version.name, version.subject, version.body, version.content_type, version.sender) == (
        content.name,
        content.subject,
        content.body,
        content.content_type,
        content.sender,
    )


def template_create(*, creator: str, type: str, content: TemplateContent) -> StoredTemplateVersion:
    """A new template with ``content`` as its version 1."""
    with transaction.atomic():
        template = StoredTemplate.objects.create(creator=creator, type=type, version=1)
        return _version_create(template, content)


def template_update(
    *, template_id: UUID, creator: str, content: TemplateContent
) -> StoredTemplateVersion | None:
    """The template's new current version (the current one when nothing changed); ``None`` when the
    creator has no such template (or it is archived)."""
    with transaction.atomic():
        # The row lock orders concurrent changes, so version numbers are handed out one by one.
        template = (
            StoredTemplate.objects.select_for_update()
            .filter(id=template_id, creator=creator, archived_at__isnull=True)
            .first()
        )
        if template is None:
            return None
        current = StoredTemplateVersion.objects.get(template=template, number=template.version)
        if _same(current, content):
            return current
        template.version += 1
        template.save(update_fields=["version"])
        return _version_create(template, content)


def template_archive(*, template_id: UUID, creator: str) -> bool:
    """Archive the template: gone from the API, its versions kept for the orders made from them."""
    archived = StoredTemplate.objects.filter(
        id=template_id, creator=creator, archived_at__isnull=True
    ).update(archived_at=timezone.now())
    return archived == 1
