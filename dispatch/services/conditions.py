"""Send conditions: ask an order's ``conditionEndpoint`` whether the notifications should go out.

The endpoint is asked with a ``GET`` (short timeout, through the outbound guard, so a caller-supplied URL
cannot reach the service's own network). A 2xx JSON object with a boolean ``sendNotification`` decides:
``false`` stops the order (``SendConditionNotMet``), ``true`` lets it go on. Anything else is an error; the
order is checked again after ``NOTIFICATIONS_CONDITION_RETRY_DELAY``, and after
``NOTIFICATIONS_CONDITION_MAX_CHECKS`` failed checks it is sent anyway, as the reference service does,
with the reason kept in the order's processing note.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from core.outbound import OutboundRequestError, guarded_request


class ConditionOutcome(enum.Enum):
    MET = "met"
    NOT_MET = "not met"
    ERROR = "error"


@dataclass(frozen=True)
class ConditionCheck:
    outcome: ConditionOutcome
    detail: str = ""
    # The guard refused the address: asking again cannot help.
    permanent: bool = False


class ConditionAction(enum.Enum):
    PROCEED = "proceed"
    STOP = "stop"
    RETRY = "retry"


@dataclass(frozen=True)
class ConditionDecision:
    action: ConditionAction
    failed_checks: int  # the order's failed-check count after this check
    note: str = ""
    retry_at: datetime | None = None


def _error(detail: str, *, permanent: bool = False) -> ConditionCheck:
    return ConditionCheck(ConditionOutcome.ERROR, detail, permanent)


def condition_check(*, url: str) -> ConditionCheck:
    """GET the condition endpoint and read its answer. Never raises; failures come back as ERROR."""
    try:
        response = guarded_request("GET", url, headers={"Accept": "application/json"})
    except OutboundRequestError as exc:
        return _error(str(exc), permanent=exc.blocked)
    if not 200 <= response.status_code < 300:
        return _error(f"HTTP {response.status_code}")
    try:
        body = json.loads(response.content)
    except ValueError:
        return _error("the response is not JSON")
    # The property name is case-sensitive, as in the reference: "SendNotification" is not the answer.
    answer = body.get("sendNotification") if isinstance(body, dict) else None
    if not isinstance(answer, bool):
        return _error("the response has no boolean sendNotification")
    return ConditionCheck(ConditionOutcome.MET if answer else ConditionOutcome.NOT_MET)


def condition_decide(*, check: ConditionCheck, failed_checks: int, now: datetime) -> ConditionDecision:
    """What to do with an order after a check, given how many checks failed before it."""
    if check.outcome is ConditionOutcome.MET:
        return ConditionDecision(ConditionAction.PROCEED, failed_checks)
    if check.outcome is ConditionOutcome.NOT_MET:
        return ConditionDecision(
            ConditionAction.STOP, failed_checks, "The condition endpoint answered sendNotification: false."
        )
    failed = failed_checks + 1
    if check.permanent or failed >= settings.NOTIFICATIONS_CONDITION_MAX_CHECKS:
        return ConditionDecision(
            ConditionAction.PROCEED,
            failed,
            f"The condition endpoint check failed {failed} time(s) (last: {check.detail}); "
            "the notifications were sent anyway.",
        )
    retry_at = now + settings.NOTIFICATIONS_CONDITION_RETRY_DELAY
    return ConditionDecision(
        ConditionAction.RETRY,
        failed,
        f"The condition endpoint check failed ({check.detail}); checking again at {retry_at.isoformat()}.",
        retry_at,
    )
