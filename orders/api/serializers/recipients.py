"""The recipients of a v1 order: validated in one pass (an order may hold 100,000), every error at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.problems import MAX_LISTED_ERRORS, not_listed
from orders import validation
from orders.api.fields import MSG_NOT_A_STRING
from orders.api.serializers.base import max_length_of
from orders.models import Recipient
from orders.services import RecipientData


def _not_checked_message(count: int, index: int) -> str:
    if count == 1:
        return f"The recipient after recipients[{index}] was not checked."
    return f"The {count} recipients after recipients[{index}] were not checked."


# JSON name -> longest value accepted. The limits keep a stored address within its column; the exact
# identifier formats (9 or 11 digits) are checked by orders.validation with the reference's messages.
_RECIPIENT_MAX_LENGTHS = {
    "emailAddress": max_length_of(Recipient, "email_address"),
    "mobileNumber": max_length_of(Recipient, "mobile_number"),
    "organizationNumber": 100,
    "nationalIdentityNumber": 100,
}


class RecipientSerializer(serializers.Serializer[Recipient]):
    """A recipient: a national identity number, an organization number, or an email address and/or a
    mobile number with country code. Responses show it as registered (looked-up addresses never appear)."""

    emailAddress = serializers.CharField(required=False, max_length=_RECIPIENT_MAX_LENGTHS["emailAddress"])
    mobileNumber = serializers.CharField(required=False, max_length=_RECIPIENT_MAX_LENGTHS["mobileNumber"])
    organizationNumber = serializers.CharField(required=False, min_length=9, max_length=9)
    nationalIdentityNumber = serializers.CharField(required=False, min_length=11, max_length=11)
    isReserved = serializers.BooleanField(
        required=False,
        help_text="In responses, for persons: reserved against digital contact at registration. Ignored in "
        "requests.",
    )

    def to_representation(self, instance: Recipient) -> dict[str, Any]:
        # Built directly: an order can hold 100,000 recipients.
        data = {
            "emailAddress": instance.email_address,
            "mobileNumber": instance.mobile_number,
            "organizationNumber": instance.organization_number,
            "nationalIdentityNumber": instance.national_identity_number,
            "isReserved": instance.is_reserved,
        }
        return {key: value for key, value in data.items() if value is not None}


@extend_schema_field(RecipientSerializer(many=True))
class RecipientsField(serializers.Field[list[RecipientData], Any, Any, Any]):
    """The recipient list, validated without DRF's per-field overhead (an order may hold 100,000).

    The rules depend on the order's channel, which the parent serializer provides as ``recipient_channel``.
    """

    default_error_messages = {
        "required": validation.MSG_NO_RECIPIENTS,
        "null": validation.MSG_NO_RECIPIENTS,
        "not_a_list": 'Expected a list of recipients but got type "{input_type}".',
        "too_many": "An order can have at most {limit} recipients.",
    }

    def to_internal_value(self, data: Any) -> list[RecipientData]:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("required")
        limit = settings.NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER
        if len(data) > limit:
            self.fail("too_many", limit=limit)
        channel = getattr(self.parent, "recipient_channel", None)
        address_at_recipient = bool(getattr(self.parent, "address_errors_at_recipient", False))
        errors: list[Any] = []
        failed = 0
        for index, item in enumerate(data):
            item_errors = recipient_item_errors(item, channel, address_at_recipient)
            errors.append(item_errors)
            failed += bool(item_errors)
            if failed == MAX_LISTED_ERRORS and index + 1 < len(data):
                # An answer lists no more errors than this, so checking the rest would only cost time
                # (a 100,000-recipient request of bad ones held a worker for seconds).
                unchecked = len(data) - index - 1
                errors.append(not_listed(_not_checked_message(unchecked, index)))
                break
        if failed:
            # A list aligned with the input: problems.flatten_errors turns it into recipients[i].field.
            raise serializers.ValidationError(errors)
        return [recipient_item_data(item) for item in data]

    def to_representation(self, value: Any) -> Any:
        return RecipientSerializer(value, many=True).data


def recipient_item_errors(item: Any, channel: str | None, address_at_recipient: bool) -> dict[str, list[str]]:
    """The errors of one recipient of the request, keyed by its field ("non_field_errors" for itself)."""
    if validation.plain_mobile_number(item, channel) is not None:
        return {}  # the common case of a large order, decided without the checks below
    if not isinstance(item, dict):
        return {"non_field_errors": [f'Expected a recipient object but got type "{type(item).__name__}".']}
    errors: dict[str, list[str]] = {}
    for name, max_length in _RECIPIENT_MAX_LENGTHS.items():
        value = item.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[name] = [MSG_NOT_A_STRING]
        elif "\x00" in value:
            # PostgreSQL cannot store NUL; a field the channel ignores is stored unvalidated otherwise.
            errors[name] = ["Null characters are not allowed."]
        elif len(value) > max_length:
            errors[name] = [f"Ensure this field has no more than {max_length} characters."]
    typed = {key: value for key, value in item.items() if key not in errors}
    for key, messages in validation.recipient_errors(
        typed, channel, address_at_recipient=address_at_recipient
    ).items():
        errors.setdefault(key or "non_field_errors", []).extend(messages)
    return errors


def recipient_item_data(item: Mapping[str, Any]) -> RecipientData:
    """A recipient without errors, as registered."""
    if len(item) == 1 and type(number := item.get("mobileNumber")) is str and number:
        return RecipientData(mobile_number=number)

    def text(name: str) -> str | None:
        value = item.get(name)
        return value if isinstance(value, str) and value != "" else None

    email = text("emailAddress")
    return RecipientData(
        # The address rule trims before matching; store the address it matched.
        email_address=email.strip() if email else None,
        # Mobile numbers are stored as given, as the reference does (only registry numbers are normalised).
        mobile_number=text("mobileNumber"),
        organization_number=text("organizationNumber"),
        national_identity_number=text("nationalIdentityNumber"),
    )
