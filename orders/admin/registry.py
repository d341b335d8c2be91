"""The contact registry in the admin: persons, organizations with their addresses, self-identified users
and the CSV import.

Editing needs the model permissions (add/change/delete person, organization, organization contact,
self-identified user); the CSV import needs add and change on all of them, and runs
``contacts_import``, the service behind ``manage.py import_contacts``. Every change, deletion and import is
written to the audit log next to Django's own admin history. A person's NIN is masked in the list and
shown in full (and editable) only to users with ``orders.view_full_nin``.
"""

from __future__ import annotations

import io
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from core.admin.base import OpsModelAdmin, TabularInlineBase
from core.masking import mask_nin, may_see_nin
from orders.audit import AuditAction, AuditEntry, AuditOutcome, audit_record
from orders.registry.models import Organization, OrganizationContact, Person, SelfIdentifiedUser
from orders.registry.services import COLUMNS, ContactsFileError, contacts_import

IMPORT_PERMISSIONS = (
    "orders.add_person",
    "orders.change_person",
    "orders.add_organization",
    "orders.change_organization",
    "orders.add_organizationcontact",
    "orders.change_organizationcontact",
    "orders.delete_organizationcontact",
    "orders.add_selfidentifieduser",
    "orders.change_selfidentifieduser",
)
ERRORS_SHOWN = 500


def may_import(request: HttpRequest) -> bool:
    return request.user.has_perms(IMPORT_PERMISSIONS)


class RegistryAdminMixin(OpsModelAdmin):
    """Audits every add, change and delete made through the admin (the hooks Django's history uses)."""

    change_form_template = None  # ordinary editable pages
    change_list_template = "admin/orders/registry_change_list.html"

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        audit_record(
            actor=request.user,
            action=AuditAction.REGISTRY_ADD,
            outcome=AuditOutcome.DONE,
            target=obj,
            details={"change": message},
        )
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        audit_record(
            actor=request.user,
            action=AuditAction.REGISTRY_CHANGE,
            outcome=AuditOutcome.DONE,
            target=obj,
            details={"change": message},
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        # Django passes a list when one object is deleted from its page, a queryset for the bulk action;
        # list() over a queryset fills its cache, so super() does not query again.
        objects = list(queryset)
        AuditEntry.objects.bulk_create(
            AuditEntry(
                actor_id=request.user.pk if request.user.is_authenticated else None,
                actor_username=request.user.get_username(),
                action=AuditAction.REGISTRY_DELETE,
                outcome=AuditOutcome.DONE,
                target_type=obj._meta.label_lower,
                target_id=str(obj.pk),
                # The name, never the NIN: the log outlives the entry and must not keep personal ids.
                details={"name": getattr(obj, "name", "")},
            )
            for obj in objects
        )
        return super().log_deletions(request, queryset)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {"import_url": reverse("admin:orders_person_import") if may_import(request) else None}
        return super().changelist_view(request, extra_context={**context, **(extra_context or {})})


class ContactsImportForm(forms.Form):
    file = forms.FileField(help_text=f"UTF-8 CSV with the header {','.join(COLUMNS)}.")
    dry_run = forms.BooleanField(required=False, label="Only validate (import nothing)")


@admin.register(Person)
class PersonAdmin(RegistryAdminMixin):
    list_display = ("masked_nin", "name", "mobile_number", "email_address", "reserved", "updated_at")
    list_filter = ("reserved",)
    search_fields = ("national_identity_number",)  # replaced by get_search_results
    search_help_text = "Exact national identity number (11 digits)."
    ordering = ("-id",)

    @admin.display(description="National identity number")
    def masked_nin(self, person: Person) -> str:
        return mask_nin(person.national_identity_number)

    def get_fields(self, request: HttpRequest, obj: Person | None = None) -> tuple[str, ...]:
        nin = "national_identity_number" if obj is None or may_see_nin(request) else "masked_nin"
        return (nin, "name", "mobile_number", "email_address", "reserved", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Person | None = None) -> tuple[str, ...]:
        return ("masked_nin", "updated_at")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Person], search_term: str
    ) -> tuple[QuerySet[Person], bool]:
        term = "".join(search_term.split())
        if not term:
            return queryset, False
        return queryset.filter(national_identity_number=term), False

    def get_urls(self) -> list[URLPattern]:
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="orders_person_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponseBase:
        """Upload a contacts CSV; shows what was imported and every rejected row with its line."""
        if not may_import(request):
            raise PermissionDenied
        result = None
        file_error = ""
        form = ContactsImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            dry_run = form.cleaned_data["dry_run"]
            # utf-8-sig: spreadsheets often save UTF-8 with a byte-order mark.
            lines = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
            try:
                result = contacts_import(lines=lines, dry_run=dry_run)
            except ContactsFileError as error:
                file_error = str(error)
            except UnicodeDecodeError as error:
                file_error = f"The file is not UTF-8 text (byte {error.start})."
            if not dry_run:
                audit_record(
                    actor=request.user,
                    action=AuditAction.REGISTRY_IMPORT,
                    outcome=AuditOutcome.FAILED if file_error else AuditOutcome.DONE,
                    target_type="orders.person",
                    details={
                        "file": upload.name,
                        "persons": result.persons if result else 0,
                        "organizations": result.organizations if result else 0,
                        **(
                            {"self_identified_users": result.self_identified}
                            if result and result.self_identified
                            else {}
                        ),
                        "rejected_rows": len(result.errors) if result else 0,
                        **({"error": file_error} if file_error else {}),
                    },
                )
            if file_error:
                self.message_user(request, file_error, messages.ERROR)
            elif result is not None:
                verb = "Valid" if dry_run else "Imported"
                self.message_user(
                    request,
                    f"{verb}: {result.persons} person(s), {result.organizations} organization(s)"
                    + (
                        f", {result.self_identified} self-identified user(s)"
                        if result.self_identified
                        else ""
                    )
                    + f"; {len(result.errors)} row(s) rejected.",
                    messages.WARNING if result.errors else messages.SUCCESS,
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import contacts from CSV",
            "opts": self.model._meta,
            "form": form,
            "result": result,
            "errors_shown": result.errors[:ERRORS_SHOWN] if result else [],
            "errors_hidden": max(0, len(result.errors) - ERRORS_SHOWN) if result else 0,
            "columns": ",".join(COLUMNS),
        }
        return TemplateResponse(request, "admin/orders/import_contacts.html", context)


class OrganizationContactInline(TabularInlineBase):
    model = OrganizationContact
    extra = 1
    fields = ("kind", "address")


@admin.register(Organization)
class OrganizationAdmin(RegistryAdminMixin):
    list_display = ("organization_number", "name", "updated_at")
    search_fields = ("organization_number",)  # replaced by get_search_results
    search_help_text = "Exact organization number (9 digits)."
    ordering = ("-id",)
    fields = ("organization_number", "name", "updated_at")
    readonly_fields = ("updated_at",)
    inlines = (OrganizationContactInline,)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Organization], search_term: str
    ) -> tuple[QuerySet[Organization], bool]:
        term = "".join(search_term.split())
        if not term:
            return queryset, False
        return queryset.filter(organization_number=term), False


@admin.register(SelfIdentifiedUser)
class SelfIdentifiedUserAdmin(RegistryAdminMixin):
    list_display = ("username", "name", "mobile_number", "email_address", "updated_at")
    search_fields = ("username",)  # replaced by get_search_results
    search_help_text = "Exact username (without regard to case)."
    ordering = ("-id",)
    fields = ("username", "name", "mobile_number", "email_address", "updated_at")
    readonly_fields = ("updated_at",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[SelfIdentifiedUser], search_term: str
    ) -> tuple[QuerySet[SelfIdentifiedUser], bool]:
        term = search_term.strip().lower()
        if not term:
            return queryset, False
        return queryset.filter(username=term), False
