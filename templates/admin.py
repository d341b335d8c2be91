"""Stored templates in the admin: the list, every version side by side, and a preview.

Read-only, like the rest of the console: templates are made and changed through the API, which keeps
every change as a new version; staff look, compare and preview.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.admin.base import ReadOnlyModelAdmin
from core.admin.html import html_table, pre
from templates.models import EmailContentType, StoredTemplate, StoredTemplateVersion, TemplateType
from templates.rendering import template_render
from templates.sms import sms_characters_left, sms_length

VERSIONS_SHOWN = 10


def _sample_values(version: StoredTemplateVersion) -> dict[str, str]:
    # Each field shown as its name in brackets, so the preview shows where the values go.
    return {name: f"[{name}]" for name in version.fields}


class ArchivedFilter(admin.SimpleListFilter):
    title = "archived"
    parameter_name = "archived"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [("no", "No"), ("yes", "Yes")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[StoredTemplate]) -> QuerySet[StoredTemplate]:
        if self.value() == "no":
            return queryset.filter(archived_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(archived_at__isnull=False)
        return queryset


@admin.register(StoredTemplate)
class StoredTemplateAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "name", "type", "creator", "version", "created_at", "archived_at")
    list_filter = ("type", ArchivedFilter)
    search_fields = ("=creator",)
    ordering = ("-created_at",)
    fields = (
        "id",
        "creator",
        "type",
        "version",
        "created_at",
        "archived_at",
        "preview",
        "versions_side_by_side",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoredTemplate]:
        current_name = StoredTemplateVersion.objects.filter(
            template_id=OuterRef("pk"), number=OuterRef("version")
        ).values("name")[:1]
        queryset: QuerySet[StoredTemplate] = super().get_queryset(request)
        return queryset.annotate(current_name=Subquery(current_name))

    @admin.display(description="Name (current version)")
    def name(self, template: StoredTemplate) -> str:
        return str(getattr(template, "current_name", "") or "")

    def get_readonly_fields(self, request: HttpRequest, obj: StoredTemplate | None = None) -> tuple[str, ...]:
        return self.fields

    @admin.display(description="Preview of the current version (fields shown as [name])")
    def preview(self, template: StoredTemplate) -> SafeString:
        version = StoredTemplateVersion.objects.select_related("template").get(
            template=template, number=template.version
        )
        rendered = template_render(version, _sample_values(version))
        if template.type == TemplateType.SMS:
            length = sms_length(rendered.body)
            return format_html(
                "{}<p>{}, {} part(s), {} characters left in the last part</p>",
                pre(rendered.body),
                length.encoding,
                length.parts,
                sms_characters_left(length),
            )
        if version.content_type == EmailContentType.HTML:
            # Shown in a sandboxed frame without scripts: the sender's markup as a mail client shows it.
            body = format_html(
                '<iframe sandbox srcdoc="{}" style="width: 100%; height: 20em; border: 1px solid #ccc">'
                "</iframe>",
                rendered.body,
            )
        else:
            body = pre(rendered.body)
        return format_html("<p>Subject: {}</p>{}", rendered.subject, body)

    @admin.display(description="Versions, side by side (newest first)")
    def versions_side_by_side(self, template: StoredTemplate) -> SafeString:
        versions = list(
            StoredTemplateVersion.objects.filter(template=template).order_by("-number")[:VERSIONS_SHOWN]
        )
        if not versions:
            return mark_safe("<p>No versions.</p>")  # noqa: S308 (a constant)
        is_email = template.type == TemplateType.EMAIL
        rows: list[list[object]] = [
            ["Name", *(v.name for v in versions)],
            ["Made", *(v.created_at.strftime("%Y-%m-%d %H:%M:%S %Z") for v in versions)],
        ]
        if is_email:
            rows.append(["Subject", *(v.subject for v in versions)])
            rows.append(["Content type", *(v.content_type for v in versions)])
        rows.append(["Sender", *(v.sender or "(default)" for v in versions)])
        rows.append(["Body", *(pre(v.body) for v in versions)])
        rows.append(["Fields", *(", ".join(v.fields) or "-" for v in versions)])
        headers = ["", *(f"Version {v.number}" for v in versions)]
        return html_table(headers, rows)
