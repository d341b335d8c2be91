"""The machine-readable ``code`` of every problem answer: one registry, each problem type listed once.

``NOT-00001`` to ``NOT-00004`` are the reference's own codes with its statuses and titles; problems the
reference has no code for are numbered from ``NOT-10001`` so its later codes cannot collide with ours.
A code is never reused or renumbered once released: clients branch on it. docs/problems.md lists the
same table, and a test holds the two equal.

A problem is identified by its status and title. ``code_for`` finds the entry of that pair, or the
status's general entry for a title not listed (a DRF default, say), so no answer goes without a code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemCode:
    code: str
    status: int
    title: str
    meaning: str
    # The status's general entry: the code of any title of that status not listed on its own.
    general: bool = False


_ENTRIES: list[ProblemCode] = []


def _register(code: str, status: int, title: str, meaning: str, *, general: bool = False) -> ProblemCode:
    entry = ProblemCode(code, status, title, meaning, general)
    _ENTRIES.append(entry)
    return entry


# --- The reference's codes ---
MISSING_CONTACT_INFORMATION = _register(
    "NOT-00001",
    422,
    "Missing contact information for recipient(s)",
    "A future order's recipient has no contact information for its channel; nothing was stored.",
)
REQUEST_TERMINATED = _register(
    "NOT-00002",
    499,
    "The client disconnected or cancelled the request before the server could complete processing",
    "Reserved as in the reference; never answered here (a client that has gone gets no answer).",
)
SHIPMENT_NOT_FOUND = _register(
    "NOT-00003", 404, "Shipment not found", "No shipment with this id for the caller."
)
TEMPORARY_FAILURE = _register(
    "NOT-00004",
    503,
    "A temporary network failure occurred",
    "The contact registry, the database or a provider could not be reached by a future order or an "
    "instant order; nothing was kept; retry later.",
)

# --- Ours ---
VALIDATION_FAILED = _register(
    "NOT-10001",
    400,
    "One or more validation errors occurred.",
    "A field, parameter or header is invalid; `errors` maps each JSON path or parameter to its messages.",
)
BAD_REQUEST = _register(
    "NOT-10002",
    400,
    "Bad Request",
    "The request could not be read: a body that is not JSON, a bad Content-Length, an unreadable "
    "delivery report.",
    general=True,
)
UNAUTHORIZED = _register(
    "NOT-10003", 401, "Unauthorized", "No valid token (missing, malformed, expired, untrusted).", general=True
)
FORBIDDEN = _register(
    "NOT-10004", 403, "Forbidden", "The token lacks the scope or claim the operation needs.", general=True
)
NOT_FOUND = _register(
    "NOT-10005", 404, "Not Found", "No such order for the caller, or nothing at this address.", general=True
)
CHAIN_NOT_FOUND = _register("NOT-10006", 404, "Order chain not found", "No order chain with this id.")
METHOD_NOT_ALLOWED = _register(
    "NOT-10007", 405, "Method Not Allowed", "The address does not take this method.", general=True
)
NOT_ACCEPTABLE = _register(
    "NOT-10008", 406, "Not Acceptable", "The Accept header names no type the API answers.", general=True
)
REQUEST_TIMEOUT = _register(
    "NOT-10009", 408, "Request Timeout", "The request body did not arrive in time.", general=True
)
CONFLICT = _register(
    "NOT-10010",
    409,
    "Conflict",
    "The order's state does not allow the operation (a cancel too late).",
    general=True,
)
IDEMPOTENCY_KEY_IN_FLIGHT = _register(
    "NOT-10011",
    409,
    "A request with this Idempotency-Key is still being processed",
    "A request with the same Idempotency-Key is running; retry after Retry-After.",
)
INSTANT_ORDER_IN_FLIGHT = _register(
    "NOT-10012",
    409,
    "A request with this idempotencyId is still being processed",
    "An instant order with the same idempotencyId is running; retry after Retry-After.",
)
RETRY_REFUSED = _register(
    "NOT-10013",
    409,
    "The notification cannot be retried.",
    "A notification's status does not allow a retry (staff action).",
)
PAYLOAD_TOO_LARGE = _register(
    "NOT-10014", 413, "Payload Too Large", "The request body is larger than the limit.", general=True
)
UNSUPPORTED_MEDIA_TYPE = _register(
    "NOT-10015", 415, "Unsupported Media Type", "The body is not sent as application/json.", general=True
)
IDEMPOTENCY_KEY_REUSED = _register(
    "NOT-10016",
    422,
    "Idempotency-Key reused",
    "The Idempotency-Key was already used for a different request.",
    general=True,
)
TOO_MANY_REQUESTS = _register(
    "NOT-10017",
    429,
    "Too Many Requests",
    "The creator's rate limit is reached; see Retry-After.",
    general=True,
)
INTERNAL_ERROR = _register(
    "NOT-10018",
    500,
    "Internal Server Error",
    "The request failed on the server; it is logged.",
    general=True,
)
DEPENDENCY_UNAVAILABLE = _register(
    "NOT-10019",
    503,
    "A dependency of the service is temporarily unavailable.",
    "The database (or, for a webhook, the broker) is unavailable; retry after Retry-After.",
    general=True,
)
REGISTRY_UNAVAILABLE = _register(
    "NOT-10020",
    503,
    "The contact registry is unavailable",
    "A dry run could not resolve its recipients: the contact registry did not answer; retry later.",
)

REGISTRY: tuple[ProblemCode, ...] = tuple(_ENTRIES)
CODES: list[str] = [entry.code for entry in REGISTRY]
BY_CODE: dict[str, ProblemCode] = {entry.code: entry for entry in REGISTRY}
_BY_PROBLEM: dict[tuple[int, str], ProblemCode] = {(entry.status, entry.title): entry for entry in REGISTRY}
_GENERAL: dict[int, ProblemCode] = {entry.status: entry for entry in REGISTRY if entry.general}


def code_for(status: int, title: str) -> str:
    """The code of the problem with this status and title (the status's general one for a title not
    listed; for a status not listed, the general 400 or 500)."""
    entry = _BY_PROBLEM.get((status, title)) or _GENERAL.get(status)
    if entry is None:
        entry = INTERNAL_ERROR if status >= 500 else BAD_REQUEST
    return entry.code
