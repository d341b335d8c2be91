"""Sending: claim New notifications in batches, hand them to the provider, record every outcome.

1. Claim: one short transaction takes up to ``NOTIFICATIONS_SEND_BATCH_SIZE`` New, unexpired rows whose
   backoff has passed (``FOR UPDATE SKIP LOCKED``, so workers never wait on each other), moves them to
   Sending with ``claimed_at``, ``attempts + 1``, a new ``claim_id`` and a lease
   (``NOTIFICATIONS_SEND_LEASE_SECONDS``), and commits. Nothing is claimed while the provider is paused
   (throttling, outage), and Daytime SMS only while the send window is open.
2. Send: outside any transaction, over the provider's reused connection. A heartbeat thread renews the
   lease (one UPDATE for the batch) every third of it, only in batches that last that long; before each
   message the sender checks that the claim still holds the rest of the batch, and stops if not.
3. Record: every ``RECORD_CHUNK`` outcomes, one short transaction applies conditional UPDATEs
   (``status = Sending AND claim_id = <our claim>``, so a row the stuck-send sweep already gave to
   another worker is never overwritten) and inserts the DeliveryAttempt rows.

A claim whose lease has run out (its worker was killed) goes back to New with the stuck-send sweep, so it
waits about a lease, not ``NOTIFICATIONS_SEND_STUCK_AFTER_SECONDS``. Only the messages in flight at the
kill (handed to the provider, not recorded) can be sent twice; they carry the notification id.

Failures: permanent → the provider's final ``Failed_*`` at once; transient → back to New with
exponential backoff and jitter, ``Failed`` once ``NOTIFICATIONS_SEND_MAX_ATTEMPTS`` are used;
throttled or unreachable provider → back to New without spending the budget, provider paused.

Modules by role: ``claim`` (claims and provider pauses), ``lease`` (the heartbeat of a claim), ``send``
(batches through the provider), ``record`` (outcomes onto the rows), ``release`` (the stuck-send sweep).
"""

from dispatch.services.sending.claim import (
    Claimed,
    notifications_claim,
    provider_pause,
    provider_paused_until,
)
from dispatch.services.sending.lease import send_claim_renew
from dispatch.services.sending.record import SendSummary, orders_check_completion, retry_delay
from dispatch.services.sending.release import notifications_release_stuck
from dispatch.services.sending.send import notifications_send, notifications_send_channel

__all__ = [
    "Claimed",
    "SendSummary",
    "notifications_claim",
    "notifications_release_stuck",
    "notifications_send",
    "notifications_send_channel",
    "orders_check_completion",
    "provider_pause",
    "provider_paused_until",
    "retry_delay",
    "send_claim_renew",
]
