"""The admin of orders (``orders``), the audit log (``audit``) and the contact registry (``registry``).

The admin is a read-mostly operations console over tables with millions of rows, so every list here
(built on ``core.admin.base.OpsModelAdmin``):

* counts at most ``CappedCountPaginator.cap`` rows (never ``COUNT(*)`` over the table) and shows no full
  count and no facet counts;
* searches by exact identifiers, each served by an index (``search.search_term_parse`` decides which
  column a term can be), never by ``icontains`` over every column;
* filters on choices known in advance (no ``SELECT DISTINCT`` over the table), except the creator filter,
  which walks the order_creator_created index (a loose index scan);
* shows the same fixed number of queries per page, whatever the table size.

Writes go through services: cancelling calls ``order_cancel``; retrying notifications lives in
``dispatch.admin`` because the retry service is part of the pipeline, and so does the registration of the
order admin (``orders.admin.orders.OrderAdmin`` plus retry). Every staff operation is written to the audit
log, which the admin shows and never lets anyone edit.

Django's autodiscovery imports this package; importing the modules registers their admins.
"""

from orders.admin import audit, orders, registry  # noqa: F401  (register on import)
