"""Validation rules of the v1 order requests, exactly as the service we replace applies them.

Pure functions over plain values, so each rule can be tested against the reference's test vectors on its
own; the API serializers call them and attach the messages to JSON paths.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

import phonenumbers
from django.core.mail.message import sanitize_address

from orders.models import NotificationChannel
from templates.sms import GSM7_BASIC

# The legacy Altinn 2 address pattern, kept character for character. It was copied from HTML-escaped
# source, so the local-part class literally contains "&amp;" (admitting ";") and the quoted alternative
# only matches text wrapped in "&quot;": both quirks are part of the observable behaviour.
_EMAIL_PATTERN = re.compile(
    r"^((&quot;[^&quot;]+&quot;)|(([a-zA-Z0-9æøåÆØÅ!#$%&amp;'*+\-=?\^_`{|}~])+"
    r"(\.([a-zA-Z0-9æøåÆØÅ!#$%&amp;'*+\-=?\^_`{|}~])+)*))"
    r"@((((([a-zA-Z0-9æøåÆØÅ]([a-zA-Z0-9\-æøåÆØÅ]{0,61})[a-zA-Z0-9æøåÆØÅ]\.)|[a-zA-Z0-9æøåÆØÅ]\.){1,9})"
    r"([a-zA-Z]{2,14}))|((\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})))$"
)
_CONDITION_HOST_PATTERN = re.compile(r"[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}")
_NEWLINES = re.compile(r"\r\n|\r|\n")

NIN_LENGTH = 11
ORGANIZATION_NUMBER_LENGTH = 9

# Messages, verbatim from the reference.
MSG_INVALID_EMAIL = "Invalid email address format."
MSG_INVALID_MOBILE = (
    "Mobile number can contain only '+' and numeric characters, and it must adhere to the E.164 standard."
)
MSG_INVALID_NIN = f"National identity number must be {NIN_LENGTH} digits long."
MSG_INVALID_ORGANIZATION_NUMBER = f"Organization number must be {ORGANIZATION_NUMBER_LENGTH} digits long."
MSG_NIN_COMBINED = (
    "National identity number cannot be combined with email address, mobile number, or organization number."
)
MSG_ORGANIZATION_NUMBER_COMBINED = (
    "Organization number cannot be combined with email address, mobile number, or national identity number."
)
MSG_NO_EMAIL_IDENTIFIER = (
    "Either a valid email address, organization number, or national identity number must be provided for "
    "each recipient."
)
MSG_NO_SMS_IDENTIFIER = (
    "Either a valid mobile number starting with country code, organization number, or national identity "
    "number must be provided for each recipient."
)
MSG_NO_IDENTIFIER = (
    "Either a valid email address, mobile number starting with country code, organization number, or "
    "national identity number must be provided for each recipient."
)
MSG_NO_RECIPIENTS = "One or more recipient is required."
MSG_SEND_TIME_WITHOUT_ZONE = "The requested send time value must have specified a time zone."
MSG_SEND_TIME_PASSED = "Send time must be in the future. Leave blank to send immediately."
# Ours: the reference has no upper bound, and overflowed on 9999-12-31 plus a reminder's delay.
MSG_SEND_TIME_TOO_LATE = "The send time must be at most {days} days from now."
MSG_REMINDER_TOO_LATE = (
    "The reminder's send time (the send time plus DelayDays) must be at most {days} days from now."
)
MSG_INVALID_CONDITION_ENDPOINT = "The condition endpoint must be a valid URL."
MSG_RESOURCE_ACTION_WITHOUT_RESOURCE = "ResourceAction cannot be specified without a ResourceId."
MSG_RESOURCE_ACTION_BLANK = "ResourceAction cannot be blank or whitespace."
# Ours on v1 (the reference checks the form only on the future API): a resource id in any other form
# could never match a right, so its organizations' person-tied contact points would all be dropped.
MSG_RESOURCE_ID_SYNTAX = "ResourceId must have a valid syntax."
RESOURCE_ID_PREFIX = "urn:altinn:resource:"


def is_valid_resource_id(value: str) -> bool:
    """``urn:altinn:resource:<id>`` with something after the prefix (``^urn:altinn:resource:.+$``)."""
    return value.startswith(RESOURCE_ID_PREFIX) and bool(value[len(RESOURCE_ID_PREFIX) :].strip())


MSG_CHANNEL_REQUIRED = "A notification channel must be defined."
MSG_EMAIL_TEMPLATE_REQUIRED = "An email template is required for the selected notification channel."
MSG_SMS_TEMPLATE_REQUIRED = "An SMS template is required for the selected the notification channel."  # sic
MSG_EMAIL_TEMPLATE_SUBJECT_EMPTY = "The email template subject must not be empty."
MSG_EMAIL_TEMPLATE_BODY_EMPTY = "The email template body must not be empty."
MSG_SMS_TEMPLATE_BODY_EMPTY = "The SMS template body must not be empty."
MSG_EMAIL_SUBJECT_EMPTY = "The email subject must not be empty."
MSG_EMAIL_BODY_EMPTY = "The email body must not be empty."
# The reference's v2 message; v1 validated no sender at all, and we use the same message there.
MSG_INVALID_SENDER_EMAIL = "The sender email address is not valid."
SMS_SENDER_MAX_DIGITS = 15
SMS_SENDER_MAX_NAME = 11
MSG_INVALID_SMS_SENDER = (
    f"The sender must be a number of at most {SMS_SENDER_MAX_DIGITS} digits, optionally starting with +, "
    f"or a name of at most {SMS_SENDER_MAX_NAME} letters, digits and spaces with at least one letter."
)

EMAIL_TEMPLATE_CHANNELS = frozenset(
    {
        NotificationChannel.EMAIL,
        NotificationChannel.EMAIL_PREFERRED,
        NotificationChannel.SMS_PREFERRED,
        # Not required by the reference (which validates nothing for EmailAndSms); it cannot be sent without.
        NotificationChannel.EMAIL_AND_SMS,
    }
)
SMS_TEMPLATE_CHANNELS = frozenset(
    {
        NotificationChannel.SMS,
        NotificationChannel.EMAIL_PREFERRED,
        NotificationChannel.SMS_PREFERRED,
        NotificationChannel.EMAIL_AND_SMS,
    }
)


def is_valid_email(value: str | None) -> bool:
    """The reference's address rule (§1.5.1): trimmed, then the legacy pattern."""
    if not value:
        return False
    return _EMAIL_PATTERN.fullmatch(value.strip()) is not None


def has_control_characters(value: str) -> bool:
    """Controls (CR, LF, NUL, ...), format characters (zero-width, bidi overrides) and line separators."""
    return any(
        category[0] == "C" or category in ("Zl", "Zp") for category in map(unicodedata.category, value)
    )


def is_blank_sender(value: str | None) -> bool:
    """No sender given: the configured default is used. Spaces only count; control characters do not."""
    return value is None or (not value.strip() and not has_control_characters(value))


def is_valid_sender_email(value: str) -> bool:
    """One address a mail library writes as it is: the reference's rule, no control character anywhere,
    and accepted by ``sanitize_address``, which Django's SMTP backend runs on the sender.

    The reference's pattern admits ";" in the local part, which no mail library accepts; the sending
    pipeline would have to fail such a message later.
    """
    if has_control_characters(value) or not is_valid_email(value):
        return False
    try:
        sanitize_address(value.strip(), "utf-8")
    except ValueError:
        return False
    return True


_SMS_SENDER_NUMBER = re.compile(rf"\+?[0-9]{{1,{SMS_SENDER_MAX_DIGITS}}}")
# GSM 03.38 letters and digits that SMPP can carry in an address (smpplib writes Latin-1; the Greek
# capitals of the GSM table are not in it).
_SMS_SENDER_NAME_CHARACTERS = frozenset(
    char for char in GSM7_BASIC if char.isalnum() and ord(char) < 0x100
) | frozenset(" ")


def is_valid_sms_sender(value: str) -> bool:
    """What a handset shows as the sender, trimmed: a number (international with +, national, or a short
    code) of at most 15 digits, or an alphanumeric name of at most 11 characters (the GSM air
    interface's limit) of GSM 03.38 letters, digits and spaces, with at least one letter.
    """
    if has_control_characters(value):
        return False
    sender = value.strip()
    if _SMS_SENDER_NUMBER.fullmatch(sender):
        return True
    return (
        0 < len(sender) <= SMS_SENDER_MAX_NAME
        and _SMS_SENDER_NAME_CHARACTERS.issuperset(sender)
        and any(char.isalpha() for char in sender)
    )


def _norwegian_mobile_pattern() -> re.Pattern[str]:
    # libphonenumber's own mobile pattern for Norway (+47, no national prefix), so the fast path moves with
    # the installed metadata. ASCII: only 0-9 take the fast path; parse() decides other scripts' digits.
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("NO")
    if metadata is None or metadata.national_prefix is not None or metadata.mobile is None:
        raise RuntimeError("libphonenumber's metadata for Norway changed shape; review the fast path")
    national = metadata.mobile.national_number_pattern
    return re.compile(rf"(?:\+|00)47(?:{national})", re.ASCII)


# A Norwegian mobile number in its plain international form: what nearly every number of a large order
# looks like. Such a number is a valid mobile number to libphonenumber as well (tests/orders check this
# on every prefix), and matching it costs a microsecond instead of parse()'s tens; every other form,
# valid or not, is still decided by libphonenumber.
_FAST_MOBILE = _norwegian_mobile_pattern()
# The same pattern for callers that loop over many numbers themselves (orders.api.decoder).
PLAIN_MOBILE_NUMBER = _FAST_MOBILE


def is_valid_mobile_number(value: str | None) -> bool:
    """``+`` or ``00``, then a number libphonenumber accepts without a default region (§1.5.2)."""
    if not value or value.startswith("++") or not value.startswith(("+", "00")):
        return False
    if _FAST_MOBILE.fullmatch(value):
        return True
    candidate = "+" + value[2:] if value.startswith("00") else value
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def plain_mobile_number(recipient: object, channel: str | None) -> str | None:
    """The number of a recipient given by nothing but a plain Norwegian mobile number (the fast path's
    form) on a channel that reads it, or None. Such a recipient passes every rule of ``recipient_errors``
    and the API's type and length checks, so a 100,000-recipient order of them skips them all."""
    if type(recipient) is not dict or len(recipient) != 1 or channel == NotificationChannel.EMAIL:
        return None
    number = recipient.get("mobileNumber")
    if type(number) is str and _FAST_MOBILE.fullmatch(number):
        return number
    return None


def is_valid_condition_endpoint(value: str) -> bool:
    """Absolute http(s) URL whose host is a dotted name ending in two or more letters (§1.5.3).

    So ``http://localhost/x``, ``https://127.0.0.1/x`` and ``https://foobar/x`` are refused.
    """
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port, which makes the URL invalid
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return _CONDITION_HOST_PATTERN.fullmatch(parts.hostname) is not None


def fold_subject_newlines(subject: str) -> str:
    """Every CRLF, lone CR and lone LF in an email subject becomes one space (§1.5.4)."""
    return _NEWLINES.sub(" ", subject)


def _given(value: object) -> bool:
    # The reference tests identifiers with string.IsNullOrEmpty: whitespace counts as given.
    return isinstance(value, str) and value != ""


def _all_digits(value: str, length: int) -> bool:
    # str.isdigit would also accept superscripts and other scripts' digits; the reference wants 0-9.
    return len(value) == length and all("0" <= char <= "9" for char in value)


def is_valid_nin(value: str) -> bool:
    """Eleven digits 0-9, the reference's rule (no checksum)."""
    return _all_digits(value, NIN_LENGTH)


def is_valid_organization_number(value: str) -> bool:
    """Nine digits 0-9, the reference's rule (no checksum)."""
    return _all_digits(value, ORGANIZATION_NUMBER_LENGTH)


def recipient_errors(
    recipient: Mapping[str, object], channel: str | None, *, address_at_recipient: bool = False
) -> dict[str, list[str]]:
    """The reference's per-recipient rules for ``channel``, keyed by JSON field ("" for the recipient).

    The email channel ignores ``mobileNumber`` and the SMS channel ignores ``emailAddress``, as the
    reference does; for the preferred channels, EmailAndSms and an unknown channel every field counts.

    ``address_at_recipient``: the v1 single-channel endpoints answer an invalid email address with the
    recipient-level message ("Either a valid email address, ... must be provided for each recipient."),
    not the v2 field message (§1.3.1, §1.5.1). An invalid mobile number keeps the v1 field message
    (§1.5.2), which differs from the v2 one ("Recipient phone number is not a valid mobile number.").
    """
    email = recipient.get("emailAddress")
    mobile = recipient.get("mobileNumber")
    nin = recipient.get("nationalIdentityNumber")
    orgno = recipient.get("organizationNumber")
    check_email = channel != NotificationChannel.SMS
    check_mobile = channel != NotificationChannel.EMAIL

    errors: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if channel == NotificationChannel.EMAIL:
        if not (_given(email) or _given(orgno) or _given(nin)):
            add("", MSG_NO_EMAIL_IDENTIFIER)
    elif channel == NotificationChannel.SMS:
        if not (_given(mobile) or _given(orgno) or _given(nin)):
            add("", MSG_NO_SMS_IDENTIFIER)
    elif not (_given(email) or _given(mobile) or _given(orgno) or _given(nin)):
        add("", MSG_NO_IDENTIFIER)

    if check_email and isinstance(email, str) and email and not is_valid_email(email):
        if address_at_recipient and channel == NotificationChannel.EMAIL:
            add("", MSG_NO_EMAIL_IDENTIFIER)
        else:
            add("emailAddress", MSG_INVALID_EMAIL)
    if check_mobile and isinstance(mobile, str) and mobile and not is_valid_mobile_number(mobile):
        add("mobileNumber", MSG_INVALID_MOBILE)
    if isinstance(nin, str) and nin and not _all_digits(nin, NIN_LENGTH):
        add("nationalIdentityNumber", MSG_INVALID_NIN)
    if isinstance(orgno, str) and orgno and not _all_digits(orgno, ORGANIZATION_NUMBER_LENGTH):
        add("organizationNumber", MSG_INVALID_ORGANIZATION_NUMBER)
    if _given(nin) and (_given(email) or _given(mobile) or _given(orgno)):
        add("", MSG_NIN_COMBINED)
    if _given(orgno) and (_given(email) or _given(mobile) or _given(nin)):
        add("", MSG_ORGANIZATION_NUMBER_COMBINED)
    return errors
