"""The defaults of every admin list and page over the large tables.

The admin is a read-mostly operations console over tables with millions of rows, so every list:

* counts at most ``CappedCountPaginator.cap`` rows (never ``COUNT(*)`` over the table) and shows no full
  count and no facet counts;
* sorts only by columns an index can sort;
* shows the same fixed number of queries per page, whatever the table size.

Operations (retry, cancel, re-apply, re-send) are POST buttons on the change page (``object_buttons``),
each served by its own admin view wrapped in ``post_only_object_view``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

# Django's admin classes are generic only to the type checker (no django_stubs_ext monkeypatch here).
if TYPE_CHECKING:
    ModelAdminBase = admin.ModelAdmin[Any]
    TabularInlineBase = admin.TabularInline[Any, Any]
    PaginatorBase = Paginator[Any]
else:
    ModelAdminBase = admin.ModelAdmin
    TabularInlineBase = admin.TabularInline
    PaginatorBase = Paginator


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


class ReadOnlyModelAdmin(OpsModelAdmin):
    """Rows that change only through services (or never): nobody adds, changes or deletes them here.

    Operations still happen through the page's buttons and the list's actions, each with its own permission.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
