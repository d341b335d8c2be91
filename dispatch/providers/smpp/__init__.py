"""SMS over SMPP 3.4 (``smpplib`` for the PDUs and the socket).

Sending (Celery workers): each worker process keeps one bind (``NOTIFICATIONS_SMPP_BIND``: transmitter
by default, or transceiver) and reuses it across batches; a bind idle longer than the enquire_link
interval is probed with ``enquire_link`` before use and rebuilt when the probe fails. ``submit_sm`` PDUs
are pipelined up to ``NOTIFICATIONS_SMPP_WINDOW`` unanswered at a time and matched to their
``submit_sm_resp`` by sequence number.

Text: GSM-7 (data_coding 0, one septet per octet, escapes for ``€ [ ] { } \\ ^ ~ |``) when every
character has a GSM-7 code, otherwise UCS-2 (data_coding 8); longer texts are split into parts with an
8-bit concatenation UDH (esm_class 0x40), never cutting an escape or a surrogate pair. A receipt is
requested for the last part only, and that part's message id is the notification's reference.
Sender: alphanumeric (TON 5), international number (TON 1 / NPI 1) or short code (TON 3).

Delivery receipts: ``manage.py run_smpp_receiver`` keeps a receiver bind
(``NOTIFICATIONS_SMPP_RECEIVER_BIND``) open, answers ``enquire_link``, probes the link when idle,
reconnects with exponential backoff and hands each ``deliver_sm`` receipt to the report handler that the
dispatch app wires to the report service, before acknowledging it (a failed hand-over answers a temporary
error, so the SMSC redelivers). A transceiver worker hands over receipts that arrive on its bind the same
way. ``stat:`` is mapped as in :data:`dispatch.providers.smpp.receipts.RECEIPT_STATUSES`.

Modules by role: ``codec`` (text encoding, segmentation, addresses), ``receipts`` (reading delivery
receipts), ``link`` (one bound session), ``provider`` (the SmsProvider adapter: the submit window) and
``receiver`` (the delivery-receipt listener of ``run_smpp_receiver``).
"""
