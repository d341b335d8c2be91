"""SMPP delivery receipts: read a ``deliver_sm`` and map its ``stat:`` to a notification status."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dispatch.providers.base import INTERMEDIATE, UNRECOGNISED, IncomingReport, ReportStatus

RECEIPT_STATUSES = {
    "DELIVRD": "Delivered",
    "EXPIRED": "Failed_Expired",
    "DELETED": "Failed_Deleted",
    "UNDELIV": "Failed_Undelivered",
    "REJECTD": "Failed_Rejected",
    "BARRED": "Failed_BarredReceiver",
    "FAILED": "Failed",
    "UNKNOWN": "Failed",
    "": "Failed",  # a receipt without a status, as the reference maps a missing one
}
INTERMEDIATE_RECEIPT_STATUSES = {"ACCEPTD", "ENROUTE"}
# The message_state TLV, used when the text has no stat: field.
MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
_RECEIPT_FIELD = re.compile(r"(id|stat|err):(\S*)", re.IGNORECASE)


def map_receipt_status(stat: str) -> ReportStatus:
    stat = stat.upper()
    if stat in INTERMEDIATE_RECEIPT_STATUSES:
        return INTERMEDIATE
    if stat in RECEIPT_STATUSES:
        return ReportStatus(status=RECEIPT_STATUSES[stat])
    return UNRECOGNISED


@dataclass(frozen=True)
class Receipt:
    message_id: str
    stat: str
    raw: str


def parse_receipt(pdu: Any) -> Receipt | None:
    """The receipt in a deliver_sm, or None when it is an ordinary (mobile-originated) message."""
    text = as_text(pdu.short_message or b"")
    is_receipt = bool((pdu.esm_class or 0) & 0x04) or text.startswith("id:")
    if not is_receipt:
        return None
    found = {key.lower(): value for key, value in _RECEIPT_FIELD.findall(text)}
    message_id = as_text(pdu.receipted_message_id or b"").strip("\x00") or found.get("id", "")
    stat = found.get("stat", "")
    if not stat and pdu.message_state:
        stat = MESSAGE_STATES.get(int(pdu.message_state), "")
    return Receipt(message_id=message_id, stat=stat, raw=text)


def as_text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def receipt_report(receipt: Receipt, *, provider: str = "smpp") -> IncomingReport:
    """The delivery report a receipt carries, as the report service stores it."""
    return IncomingReport(
        channel="Sms",
        provider=provider,
        provider_status=receipt.stat,
        mapped=map_receipt_status(receipt.stat),
        reference=receipt.message_id or None,
        raw=receipt.raw,
    )
