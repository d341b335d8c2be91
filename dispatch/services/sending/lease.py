"""The lease of a send claim: renewed by a heartbeat while its batch is sent, checked between messages."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.db.models import F
from django.utils import timezone

from dispatch.services.sending.claim import _model

logger = logging.getLogger(__name__)


def send_claim_renew(*, channel: str, claim_id: uuid.UUID, now: datetime | None = None) -> set[uuid.UUID]:
    """Extend the lease of a send claim's rows still in Sending; return their ids (empty: claim lost).

    One UPDATE for the whole claim, whatever its size. A row the stuck-send sweep has released no longer
    carries the claim id, so renewing never takes a row back.
    """
    now = now or timezone.now()
    until = now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_model(channel)._meta.db_table} SET lease_until = %s
             WHERE claim_id = %s AND status = 'Sending'
            RETURNING id
            """,
            [until, claim_id],
        )
        return {row[0] for row in cursor.fetchall()}


def _give_back(*, channel: str, claim_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> int:
    """Return rows of a claim that were never handed to the provider to New, with their attempt back."""
    if not ids:
        return 0
    return int(
        _model(channel)
        .objects.filter(id__in=ids, claim_id=claim_id, status="Sending")
        .update(
            status="New",
            status_changed_at=timezone.now(),
            claimed_at=None,
            claim_id=None,
            lease_until=None,
            attempts=F("attempts") - 1,
        )
    )


class _Lease:
    """Keeps one send claim's lease ahead while its batch is sent, and notices when it was taken over.

    A thread renews the lease every third of it, so a worker waiting on a slow provider call keeps its
    rows; a killed worker's thread dies with it and the lease runs out. The thread touches the database
    only in batches that last that long (it has a connection of its own, closed when it ends).
    """

    def __init__(
        self, *, channel: str, claim_id: uuid.UUID, ids: set[uuid.UUID], claimed: float | None = None
    ) -> None:
        self.channel = channel
        self.claim_id = claim_id
        self.ids = ids
        self.interval = float(settings.NOTIFICATIONS_SEND_LEASE_SECONDS) / 3
        # One renewal at a time, and never during a record of this batch: both UPDATE the claim's rows,
        # and two transactions of one worker locking them in different orders could deadlock.
        self.busy = threading.Lock()
        self._held: set[uuid.UUID] = ids  # the rows the claim held at the last renewal
        # The claim itself counts as the first renewal (``claimed``: when a claim made ahead was made).
        self._renewed = time.monotonic() if claimed is None else claimed
        self._generation = 0
        self._checked = 0
        self._lost = False
        self._sent_count = 0  # set by the sender, read by the heartbeat thread (an int: no lock needed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"send-lease-{claim_id}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self.renew(sent=None)
        finally:
            connections.close_all()  # this thread's own connections only

    def renew(self, *, sent: set[uuid.UUID] | None) -> None:
        started = time.monotonic()
        with self.busy:
            try:
                held = send_claim_renew(channel=self.channel, claim_id=self.claim_id)
            except DatabaseError:
                # The sender stops on its own once the lease may have run out (see taken_over).
                logger.warning("could not renew the lease of send claim %s", self.claim_id, exc_info=True)
                return
        self._held, self._renewed = held, started
        self._generation += 1
        missing = len(self.ids) - len(held)
        # Rows recorded by now are missing too; more missing rows than sent ones means that rows not yet
        # sent were taken (or ended) elsewhere. The sender makes the exact check before its next message.
        if missing > (len(sent) if sent is not None else self._sent_count):
            logger.warning(
                "send claim %s was taken over (or its rows ended elsewhere): %d of its %d no longer held",
                self.claim_id,
                missing,
                len(self.ids),
            )

    def taken_over(self, sent: set[uuid.UUID]) -> bool:
        """Whether rows of this batch not sent yet are no longer held: then nothing more may be sent.

        Called between messages. If the heartbeat is late (the process stood still, the database is slow),
        renew here first, and give up when even that fails: the lease may have run out meanwhile.
        """
        self._sent_count = len(sent)
        if time.monotonic() - self._renewed > 2 * self.interval:
            self.renew(sent=sent)
            if time.monotonic() - self._renewed > 2 * self.interval:
                return True
        if self._checked != self._generation:
            self._checked = self._generation
            self._lost = not (self.ids - sent) <= self._held
        return self._lost
