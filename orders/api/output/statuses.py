"""The reference's status descriptions, verbatim (typos included: clients may match on them), and the
statuses as they go out on the wire."""

from __future__ import annotations

from orders.models import EmailStatus, OrderStatus, SmsStatus

_REGISTERED = "Order has been registered and is awaiting requested send time before processing."
ORDER_STATUS_DESCRIPTIONS = {
    OrderStatus.REGISTERED: _REGISTERED,
    OrderStatus.PROCESSING: "Order processing is ongoing. Notifications are being generated.",
    OrderStatus.PROCESSED: "Order processing is done. Notifications have been successfully generated.",
    OrderStatus.COMPLETED: "Order processing is completed. All notifications have a final status.",
    OrderStatus.SEND_CONDITION_NOT_MET: "Order processing was stopped due to send condition not being met.",
    OrderStatus.CANCELLED: "Order processing was stopped due to order being cancelled.",
}

EMAIL_STATUS_DESCRIPTIONS = {
    EmailStatus.NEW: "The email has been created, but has not been picked up for processing yet.",
    EmailStatus.SENDING: "The email is being processed and will be attempted sent shortly.",
    EmailStatus.SUCCEEDED: (
        "The email has been accepted by the third party email service and will be sent shortly."
    ),
    EmailStatus.DELIVERED: (
        "The email was delivered to the recipient. No errors reported, making it likely it was received by "
        "the recipient."
    ),
    EmailStatus.FAILED: "The email was not sent due to an unspecified failure.",
    EmailStatus.FAILED_RECIPIENT_RESERVED: (
        "The email was not sent because the recipient has reserved themselves from electronic communication."
    ),
    EmailStatus.FAILED_RECIPIENT_NOT_IDENTIFIED: (
        "The email was not sent because the recipient's email address was not found."
    ),
    EmailStatus.FAILED_INVALID_EMAIL_FORMAT: (
        "The email was not sent because the recipient’s email address is in an invalid format."
    ),
    EmailStatus.FAILED_SUPPRESSED_RECIPIENT: (
        "The email was not sent because the recipient’s email address is suppressed by the third party "
        "email service."
    ),
    EmailStatus.FAILED_TRANSIENT_ERROR: (
        "The email was not sent due to a transient error. We will retry sending the email."
    ),
    EmailStatus.FAILED_BOUNCED: (
        "The email hard bounced, which may have happened because the email address does not exist or the "
        "domain is invalid."
    ),
    EmailStatus.FAILED_FILTERED_SPAM: (
        "The email was identified as spam, and was rejected or blocked (not quarantined)."
    ),
    EmailStatus.FAILED_QUARANTINED: "The email was quarantined (as spam, bulk mail, or phising).",
    EmailStatus.FAILED_TTL: (
        "The email was in indefinite state Succeeded for too long (TTL), and was subsequently set to failed."
    ),
    # The reference's Failed_InvalidSasUrl, whose text speaks of SAS URLs; any allowed HTTPS link here.
    EmailStatus.FAILED_INVALID_ATTACHMENT: (
        "The email was not sent because one or more attachment URLs are invalid, expired, or inaccessible, "
        "or an attachment's host or type is not allowed."
    ),
    EmailStatus.FAILED_PAYLOAD_TOO_LARGE: (
        "The email was not sent because the total size of the attachments exceeds the allowed limit."
    ),
}

SMS_STATUS_DESCRIPTIONS = {
    SmsStatus.NEW: "The SMS has been created, but has not been picked up for processing yet.",
    SmsStatus.SENDING: "The SMS is being processed and will be attempted sent shortly.",
    SmsStatus.ACCEPTED: "The SMS has been accepted by the gateway service and will be sent shortly.",
    SmsStatus.DELIVERED: "The SMS was successfully delivered to its destination.",
    SmsStatus.FAILED: "The SMS was not delivered due to an unspecified failure.",
    SmsStatus.FAILED_INVALID_RECIPIENT: (
        "The SMS was not delivered because the recipient's mobile number was invalid."
    ),
    SmsStatus.FAILED_RECIPIENT_RESERVED: (
        "The SMS was not sent because the recipient has reserved themselves from electronic communication."
    ),
    SmsStatus.FAILED_BARRED_RECEIVER: (
        "The SMS was not delivered because the recipient's number is barred, blocked or not in use."
    ),
    SmsStatus.FAILED_DELETED: "The SMS was not delivered because the message has been deleted.",
    SmsStatus.FAILED_EXPIRED: "The SMS was not delivered because it has expired.",
    SmsStatus.FAILED_UNDELIVERED: (
        "The SMS was not delivered due to invalid number or no available route to destination."
    ),
    SmsStatus.FAILED_RECIPIENT_NOT_IDENTIFIED: (
        "The SMS was not delivered because the recipient's mobile number was not found."
    ),
    SmsStatus.FAILED_REJECTED: "The SMS was not delivered because it was rejected.",
    SmsStatus.FAILED_TTL: (
        "The SMS was in indefinite state Accepted for too long (TTL), and was subsequently set to failed."
    ),
}

# Failed_TTL goes out as plain "Failed" (with the TTL description), as in the reference.
EMAIL_WIRE_STATUSES = [status for status in EmailStatus.values if status != EmailStatus.FAILED_TTL]
SMS_WIRE_STATUSES = [status for status in SmsStatus.values if status != SmsStatus.FAILED_TTL]
TTL_STATUSES = frozenset({EmailStatus.FAILED_TTL, SmsStatus.FAILED_TTL})
