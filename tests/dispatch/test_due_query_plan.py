"""The send run's "is anything due?" question reads the partial index of New rows beside many Accepted ones.

A run asks it every few milliseconds between the messages of a batch, so it must stay on the small index
of New rows: the pending-expiry and (order, status) indexes also match the condition but hold every
Accepted row of a large run. The question is ordered as the claim is, which pins that choice.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from dispatch.services.sending import claim
from orders.models import EmailNotification, SmsNotification
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory

pytestmark = pytest.mark.django_db


def _captured_due_sql(channel: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, tuple[object, ...]]:
    """The SQL ``notifications_due`` runs, captured from Django's compiler as it executes it."""
    seen: list[tuple[str, tuple[object, ...]]] = []
    original = SQLCompiler.as_sql

    def recording(self: SQLCompiler, *args: object, **kwargs: object) -> tuple[str, tuple[object, ...]]:
        sql, params = original(self, *args, **kwargs)  # type: ignore[arg-type]
        seen.append((sql, params))
        return sql, params

    monkeypatch.setattr(SQLCompiler, "as_sql", recording)
    claim.notifications_due(channel=channel)
    monkeypatch.undo()
    return seen[-1]


@pytest.mark.parametrize(
    ("channel", "model", "factory", "index"),
    [
        ("Sms", SmsNotification, SmsNotificationFactory, "sms_new"),
        ("Email", EmailNotification, EmailNotificationFactory, "email_new"),
    ],
)
def test_due_question_uses_the_new_rows_index_beside_many_accepted_rows(
    channel: str, model: type, factory: type, index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = OrderFactory(email=channel == "Email")
    expires = timezone.now() + timedelta(hours=48)
    factory.create_batch(3000, order=order, status="Accepted", expires_at=expires)
    factory.create_batch(2, order=order, status="New", expires_at=expires)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {model._meta.db_table}")  # type: ignore[attr-defined]

    sql, params = _captured_due_sql(channel, monkeypatch)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert index in plan, plan
    assert claim.notifications_due(channel=channel)
