"""Reads of stored templates, always scoped to the creator; an archived template is not found."""

from __future__ import annotations

from uuid import UUID

from django.db.models import F, QuerySet

from templates.models import StoredTemplateVersion


def _live_versions(creator: str) -> QuerySet[StoredTemplateVersion]:
    return StoredTemplateVersion.objects.select_related("template").filter(
        template__creator=creator, template__archived_at__isnull=True
    )


def template_list(*, creator: str) -> list[StoredTemplateVersion]:
    """The current version of each of the creator's templates, newest template first."""
    return list(
        _live_versions(creator)
        .filter(number=F("template__version"))
        .order_by("-template__created_at", "template_id")
    )


def template_get(
    *, template_id: UUID, creator: str, version: int | None = None
) -> StoredTemplateVersion | None:
    """The template's version ``version`` (default: its current one), or ``None``."""
    versions = _live_versions(creator).filter(template_id=template_id)
    if version is None:
        return versions.filter(number=F("template__version")).first()
    return versions.filter(number=version).first()


def template_versions(*, template_id: UUID, creator: str) -> list[StoredTemplateVersion]:
    """Every version of the template, oldest first (empty when the creator has no such template)."""
    return list(_live_versions(creator).filter(template_id=template_id).order_by("number"))
