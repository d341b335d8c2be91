"""The admin of orders, the audit log and (in ``orders.registry.admin``) the contact registry.

The admin is a read-mostly operations console over tables with millions of rows, so every list here:

* counts at most ``CappedCountPaginator.cap`` rows (never ``COUNT(*)`` over the table) and shows no full
  count and no facet counts;
* searches by exact identifiers, each served by an index (``search_term_parse`` decides which column a
  term can be), never by ``icontains`` over every column;
* filters on choices known in advance (no ``SELECT DISTINCT`` over the table), except the creator filter,
  which walks the creator index (a loose index scan);
* shows the same fixed number of queries per page, whatever the table size.

Writes go through services: cancelling calls ``order_cancel`` (the rule of ``PUT /orders/{id}/cancel``);
retrying notifications lives in ``dispatch.admin`` because the retry service is part of the pipeline.
Every staff operation is written to the audit log, which the admin shows and never lets anyone edit.

Pages show what is stored; national identity numbers are masked for users without
``orders.view_full_nin`` by the admin site, over the whole response (``core.masking``).
Lists mask them for everyone, so a list column masks its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from core.problems import ApplicationError
from orders.audit import AuditAction, AuditEntry, AuditOutcome, audit_record
from orders.models import (
    EmailNotification,
    Order,
    OrderStatus,
    Recipient,
    SmsNotification,
)
from orders.registry.normalise import registry_mobile_number

# Django's admin classes are generic only to the type checker (no django_stubs_ext monkeypatch here).
if TYPE_CHECKING:
    ModelAdminBase = admin.ModelAdmin[Any]
    TabularInlineBase = admin.TabularInline[Any, Any]
    PaginatorBase = Paginator[Any]
else:
    ModelAdminBase = admin.ModelAdmin
    TabularInlineBase = admin.TabularInline
    PaginatorBase = Paginator

RECIPIENTS_SHOWN = 100
AUDIT_ENTRIES_SHOWN = 20


# --- shared building blocks (also used by dispatch.admin and orders.registry.admin) --------------------


class CappedCountPaginator(PaginatorBase):
    """Counts at most ``cap`` rows (``SELECT count(*) FROM (… LIMIT cap + 1)``), so a page costs the same
    on a table of a thousand rows and of a hundred million. Beyond the cap the list says "10000+"."""

    cap = 10_000

    @cached_property
    def _counted(self) -> int:
        rows = cast(QuerySet[Any], self.object_list)
        return rows.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """Whether there are more rows than counted."""
        return self._counted > self.cap


@dataclass(frozen=True)
class SearchTerm:
    """What a search box entry can be, so each is looked up by equality on an indexed column."""

    text: str
    uuid: uuid.UUID | None
    nin: str | None  # 11 digits
    organization_number: str | None  # 9 digits
    mobile_numbers: tuple[str, ...]  # as typed (without spaces) and normalised to E.164
    email_addresses: tuple[str, ...]  # as typed and in lower case


def search_term_parse(text: str) -> SearchTerm:
    text = text.strip()
    compact = "".join(text.split())
    try:
        as_uuid: uuid.UUID | None = uuid.UUID(compact)
    except ValueError:
        as_uuid = None
    digits = compact if compact.isdigit() else None
    mobiles: tuple[str, ...] = ()
    if compact and (compact.isdigit() or (compact.startswith("+") and compact[1:].isdigit())):
        normalised = registry_mobile_number(compact)
        mobiles = tuple(dict.fromkeys(n for n in (compact, normalised) if n))
    emails = tuple(dict.fromkeys((text, text.lower()))) if "@" in text else ()
    return SearchTerm(
        text=text,
        uuid=as_uuid,
        nin=digits if digits and len(digits) == 11 else None,
        organization_number=digits if digits and len(digits) == 9 else None,
        mobile_numbers=mobiles,
        email_addresses=emails,
    )


@dataclass(frozen=True)
class ObjectButton:
    """A POST button on a change page (retry, cancel, re-apply), shown only to users who may use it."""

    label: str
    url: str


class OpsModelAdmin(ModelAdminBase):
    """Defaults for the large tables: capped counts, no facets, read-only pages with action buttons."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    list_max_show_all = 200
    # Only columns an index can sort; sorting millions of rows by anything else is a full sort.
    sortable_by: ClassVar[tuple[str, ...]] = ("created_at",)
    change_form_template: ClassVar[str | None] = "admin/ops_change_form.html"

    def object_buttons(self, request: HttpRequest, obj: Any) -> list[ObjectButton]:
        return []

    @admin.display(description="Status")
    def status_name(self, obj: Any) -> str:
        """The wire name (``Failed_TTL``), as the API and the logs spell it, not the choice label."""
        return str(obj.status)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if obj is not None:
            context["object_buttons"] = self.object_buttons(request, obj)
        return super().change_view(request, object_id, form_url, extra_context=context)

    def object_url(self, obj: Model, name: str) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=[obj.pk])

    def post_only_object_view(
        self, view: Callable[[HttpRequest, Any], HttpResponseBase]
    ) -> Callable[[HttpRequest, str], HttpResponseBase]:
        """Wrap a button's view: staff only (admin_view), POST only, the object must exist."""

        def wrapped(request: HttpRequest, object_id: str) -> HttpResponseBase:
            if request.method != "POST":
                return HttpResponse(status=405, headers={"Allow": "POST"})
            # get_object answers None for a malformed id too (a 404, not a 500 on the UUID cast).
            obj = self.get_object(request, object_id)
            if obj is None:
                raise Http404
            return view(request, obj)

        return self.admin_site.admin_view(wrapped)

    def redirect_to_object(self, obj: Model) -> HttpResponseRedirect:
        return HttpResponseRedirect(self.object_url(obj, "change"))


def audit_history(target_id: str) -> SafeString:
    """The newest audit entries about one object, as a small table."""
    entries = list(
        AuditEntry.objects.filter(target_id=target_id).order_by("-created_at")[:AUDIT_ENTRIES_SHOWN]
    )
    if not entries:
        return mark_safe("<p>No staff operations recorded.</p>")  # noqa: S308 (a constant)
    return html_table(
        ["When (UTC)", "Who", "What", "Outcome", "Details"],
        (
            (
                f"{entry.created_at:%Y-%m-%d %H:%M:%S}",
                entry.actor_username,
                entry.get_action_display(),
                entry.get_outcome_display(),
                format_html("<code>{}</code>", json.dumps(entry.details, ensure_ascii=False)),
            )
            for entry in entries
        ),
    )


def pre(text: str | None) -> SafeString:
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text or "")


def folded(content: SafeString) -> SafeString:
    """Long content (raw provider answers) folded away until asked for."""
    return format_html("<details><summary>show</summary>{}</details>", content)


def html_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> SafeString:
    """A plain admin table; cells are escaped unless already safe (links, <pre> blocks)."""
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


# --- orders -----------------------------------------------------------------------------------------------


class CreatorFilter(admin.SimpleListFilter):
    title = "creator"
    parameter_name = "creator"
    max_creators = 500

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        # A loose index scan over order_creator_created: one index probe per distinct creator instead of
        # SELECT DISTINCT over every order (PostgreSQL has no skip scan for DISTINCT).
        table = Order._meta.db_table
        sql = f"""
            WITH RECURSIVE creators(creator) AS (
                (SELECT creator FROM {table} ORDER BY creator LIMIT 1)
                UNION ALL
                SELECT (
                    SELECT o.creator FROM {table} o WHERE o.creator > c.creator ORDER BY o.creator LIMIT 1
                )
                FROM creators c WHERE c.creator IS NOT NULL
            )
            SELECT creator FROM creators WHERE creator IS NOT NULL LIMIT %s
        """  # noqa: S608 (the table name comes from model metadata)
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.max_creators])
            return [(creator, creator) for (creator,) in cursor.fetchall()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(creator=value) if value else queryset


@admin.register(Order)
class OrderAdmin(OpsModelAdmin):
    list_display = (
        "id",
        "creator",
        "senders_reference",
        "notification_channel",
        "status_name",
        "requested_send_time",
        "created_at",
    )
    list_filter = ("status", "notification_channel", CreatorFilter, "sending_time_policy", "created_at")
    search_fields = ("id",)  # replaced by get_search_results; non-empty so the search box is shown
    search_help_text = (
        "Exact match: order id, sender's reference, creator, or a recipient's NIN or organization number."
    )
    ordering = ("-created_at",)
    actions: Sequence[Any] = ("cancel_orders",)
    fieldsets = (
        (
            "Order",
            {
                "fields": (
                    "id",
                    "creator",
                    "senders_reference",
                    "status_name",
                    "status_changed_at",
                    "notification_channel",
                    "sending_time_policy",
                    "requested_send_time",
                    "ignore_reservation",
                    "resource_id",
                    "resource_action",
                    "condition_endpoint",
                    "status_callback_url",
                    "created_at",
                    "updated_at",
                )
            },
        ),
        ("Processing", {"fields": ("processing_attempts", "next_attempt_at", "processing_note")}),
        ("Texts", {"fields": ("email_template_text", "sms_template_text")}),
        ("Notifications", {"fields": ("notification_counts",)}),
        ("Recipients", {"fields": ("recipients_table", "lookup_result")}),
        ("Staff operations", {"fields": ("audit_entries",)}),
    )

    # Orders arrive over the API and change only through services: the page is read-only for all.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.cancel_order")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        term = search_term_parse(search_term)
        if not term.text:
            return queryset, False
        condition = Q(senders_reference=term.text) | Q(creator=term.text)
        if term.uuid is not None:
            condition |= Q(id=term.uuid)
        if term.nin:
            condition |= Q(
                id__in=Recipient.objects.filter(national_identity_number=term.nin).values("order_id")
            )
        if term.organization_number:
            condition |= Q(
                id__in=Recipient.objects.filter(organization_number=term.organization_number).values(
                    "order_id"
                )
            )
        return queryset.filter(condition), False

    # --- detail page ---

    @admin.display(description="Email template")
    def email_template_text(self, order: Order) -> SafeString | str:
        template = order.email_template
        if template is None:
            return "-"
        return format_html(
            "<p>From: {}<br>Subject: {}<br>Content type: {}</p>{}",
            template.from_address,
            template.subject,
            template.content_type,
            pre(template.body),
        )

    @admin.display(description="SMS template")
    def sms_template_text(self, order: Order) -> SafeString | str:
        template = order.sms_template
        if template is None:
            return "-"
        return format_html("<p>Sender: {}</p>{}", template.sender_number, pre(template.body))

    @admin.display(description="Notifications per status")
    def notification_counts(self, order: Order) -> SafeString:
        rows: list[tuple[str, SafeString, int]] = []
        for model in (EmailNotification, SmsNotification):
            counts = (
                model.objects.filter(order_id=order.id)
                .values_list("status")
                .annotate(n=Count("*"))
                .order_by("status")
            )
            changelist = reverse(f"admin:orders_{model._meta.model_name}_changelist")
            for status, n in counts:
                query = urlencode({"q": str(order.id), "status": status})
                link = format_html('<a href="{}?{}">{}</a>', changelist, query, status)
                rows.append((str(model._meta.verbose_name).capitalize(), link, n))
        if not rows:
            return mark_safe("<p>No notifications yet.</p>")  # noqa: S308 (a constant)
        return html_table(["Channel", "Status", "Count"], rows)

    @admin.display(description="Recipients")
    def recipients_table(self, order: Order) -> SafeString:
        recipients = list(
            Recipient.objects.filter(order_id=order.id).order_by("position")[: RECIPIENTS_SHOWN + 1]
        )
        if not recipients:
            return mark_safe("<p>No recipients.</p>")  # noqa: S308 (a constant)
        table = html_table(
            ["#", "Email", "Mobile", "Organization", "NIN", "Reserved"],
            (
                (
                    r.position,
                    r.email_address or "-",
                    r.mobile_number or "-",
                    r.organization_number or "-",
                    r.national_identity_number or "-",
                    {True: "yes", False: "no", None: "-"}[r.is_reserved],
                )
                for r in recipients[:RECIPIENTS_SHOWN]
            ),
        )
        more = (
            format_html("<p>Only the first {} recipients are shown.</p>", RECIPIENTS_SHOWN)
            if len(recipients) > RECIPIENTS_SHOWN
            else ""
        )
        return format_html("{}{}", table, more)

    @admin.display(description="Recipient lookup (as in the receipt)")
    def lookup_result(self, order: Order) -> SafeString | str:
        if order.recipient_lookup is None:
            return "-"
        return pre(json.dumps(order.recipient_lookup, indent=2, ensure_ascii=False))

    @admin.display(description="Audit log")
    def audit_entries(self, order: Order) -> SafeString:
        return audit_history(str(order.id))

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None) -> tuple[str, ...]:
        return tuple(flatten_fieldsets(self.fieldsets or ()))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).select_related("email_template", "sms_template")

    # --- cancel ---

    def object_buttons(self, request: HttpRequest, obj: Order) -> list[ObjectButton]:
        buttons = super().object_buttons(request, obj)
        if obj.status == OrderStatus.REGISTERED and self.has_cancel_permission(request):
            buttons.append(ObjectButton("Cancel order", self.object_url(obj, "cancel")))
        return buttons

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/cancel/",
                self.post_only_object_view(self.cancel_view),
                name=f"{opts.app_label}_{opts.model_name}_cancel",
            ),
            *super().get_urls(),
        ]

    def cancel_view(self, request: HttpRequest, order: Order) -> HttpResponseBase:
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        level, text = order_cancel_by_staff(order=order, request=request)
        self.message_user(request, text, level)
        return self.redirect_to_object(order)

    @admin.action(description="Cancel selected registered orders", permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        cancelled, refused = 0, []
        for order in queryset[: self.list_max_show_all]:
            level, text = order_cancel_by_staff(order=order, request=request)
            if level == messages.SUCCESS:
                cancelled += 1
            else:
                refused.append(text)
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} order(s).", messages.SUCCESS)
        for text in refused:
            self.message_user(request, text, messages.WARNING)


def order_cancel_by_staff(*, order: Order, request: HttpRequest) -> tuple[int, str]:
    """Cancel through ``order_cancel`` (the API's rule) and audit the outcome; returns a message for staff."""
    from orders.services import order_cancel  # services import the models, which import this app

    if order.status == OrderStatus.CANCELLED:
        reason = "it is already cancelled"
    else:
        try:
            order_cancel(order_id=order.id, creator=order.creator)
        except ApplicationError as error:
            reason = error.detail
        else:
            audit_record(
                actor=request.user,
                action=AuditAction.ORDER_CANCEL,
                outcome=AuditOutcome.DONE,
                target=order,
                details={"from_status": order.status, "creator": order.creator},
            )
            return messages.SUCCESS, f"Order {order.id} was cancelled."
    audit_record(
        actor=request.user,
        action=AuditAction.ORDER_CANCEL,
        outcome=AuditOutcome.REFUSED,
        target=order,
        details={"status": order.status, "creator": order.creator, "reason": reason},
    )
    return messages.WARNING, f"Order {order.id} was not cancelled: {reason}"


# --- the audit log ----------------------------------------------------------------------------------------


@admin.register(AuditEntry)
class AuditEntryAdmin(OpsModelAdmin):
    list_display = ("created_at", "actor_username", "action", "target_link", "outcome", "short_details")
    list_filter = ("action", "outcome", "created_at")
    search_fields = ("target_id",)  # replaced by get_search_results
    search_help_text = "Exact match: the id of a notification, order or registry entry, or a username."
    ordering = ("-created_at",)
    fields = (
        "created_at",
        "actor_username",
        "action",
        "target_type",
        "target_link",
        "outcome",
        "details_pretty",
    )
    readonly_fields = fields
    change_form_template = None  # the standard read-only page

    # Never editable, not even by a superuser: the log is only as good as its immutability.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEntry], search_term: str
    ) -> tuple[QuerySet[AuditEntry], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(target_id=term) | Q(actor_username=term)), False

    @admin.display(description="Target")
    def target_link(self, entry: AuditEntry) -> SafeString | str:
        if not entry.target_type:
            return "-"
        app_label, _, model_name = entry.target_type.partition(".")
        try:
            url = reverse(f"admin:{app_label}_{model_name}_change", args=[entry.target_id])
        except Exception:  # a target type without an admin page
            return f"{entry.target_type} {entry.target_id}"
        return format_html('<a href="{}">{} {}</a>', url, model_name, entry.target_id)

    @admin.display(description="Details")
    def short_details(self, entry: AuditEntry) -> str:
        text = json.dumps(entry.details, ensure_ascii=False)
        return text if len(text) <= 120 else text[:117] + "..."

    @admin.display(description="Details")
    def details_pretty(self, entry: AuditEntry) -> SafeString:
        return pre(json.dumps(entry.details, indent=2, ensure_ascii=False))


# The registry's admin registers itself on import.
from orders.registry import admin as _registry_admin  # noqa: E402, F401
