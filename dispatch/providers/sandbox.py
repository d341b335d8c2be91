"""The sandbox: the run command's default provider for both channels; nothing leaves the machine.

Every message is accepted (email ``Succeeded``, SMS ``Accepted``) and kept as a
:class:`~dispatch.models.SandboxMessage` for the admin; a delivery report follows after
``NOTIFICATIONS_SANDBOX_REPORT_DELAY_SECONDS`` (``Delivered``), applied by the sandbox report sweep
through the same report service as real providers. A few simulated recipients show failure handling:

==========================================  ============================================================
Recipient                                   What happens
==========================================  ============================================================
``perm-fail@simulator.test``                refused at send: ``Failed_SupressedRecipient``
``bounce@simulator.test``                   accepted, then reported ``Failed_Bounced``
``spam@simulator.test``                     accepted, then reported ``Failed_FilteredSpam``
``quarantine@simulator.test``               accepted, then reported ``Failed_Quarantined``
``temp-fail@simulator.test``                first attempt fails (transient); the retry is delivered
``+4799000001``                             refused at send: ``Failed_InvalidRecipient``
``+4799000002``                             accepted, then reported ``Failed_Undelivered``
``+4799000003``                             first attempt fails (transient); the retry is delivered
``+4799000004``                             accepted, then reported ``Failed_Expired``
``+4799000005``                             accepted, then reported ``Failed_BarredReceiver``
==========================================  ============================================================

Every other recipient is delivered. Numbers match however they are written (``0047 990 00 001``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from dispatch.models import Channel, SandboxMessage
from dispatch.providers.base import (
    EmailMessage,
    EmailProvider,
    Outcome,
    ProviderError,
    ProviderResult,
    ReportStatus,
    SmsMessage,
    SmsProvider,
)

SIMULATOR_DOMAIN = "simulator.test"

# Recipient → (send-time behaviour, provider status reported later).
EMAIL_RECIPIENTS: dict[str, tuple[str, str]] = {
    f"perm-fail@{SIMULATOR_DOMAIN}": ("reject", ""),
    f"bounce@{SIMULATOR_DOMAIN}": ("accept", "bounced"),
    f"spam@{SIMULATOR_DOMAIN}": ("accept", "spam"),
    f"quarantine@{SIMULATOR_DOMAIN}": ("accept", "quarantined"),
    f"temp-fail@{SIMULATOR_DOMAIN}": ("temporary", "delivered"),
}
SMS_RECIPIENTS: dict[str, tuple[str, str]] = {
    "+4799000001": ("reject", ""),
    "+4799000002": ("accept", "UNDELIV"),
    "+4799000003": ("temporary", "DELIVRD"),
    "+4799000004": ("accept", "EXPIRED"),
    "+4799000005": ("accept", "BARRED"),
}

EMAIL_REPORT_STATUSES = {
    "delivered": "Delivered",
    "bounced": "Failed_Bounced",
    "spam": "Failed_FilteredSpam",
    "quarantined": "Failed_Quarantined",
}
SMS_REPORT_STATUSES = {
    "DELIVRD": "Delivered",
    "UNDELIV": "Failed_Undelivered",
    "EXPIRED": "Failed_Expired",
    "BARRED": "Failed_BarredReceiver",
}


def map_report(channel: str, provider_status: str) -> ReportStatus:
    table = EMAIL_REPORT_STATUSES if channel == Channel.EMAIL else SMS_REPORT_STATUSES
    return ReportStatus(status=table.get(provider_status))


class _Sandbox:
    name = "sandbox"
    channel: str

    def _behaviour(self, recipient: str) -> tuple[str, str]:
        table = EMAIL_RECIPIENTS if self.channel == Channel.EMAIL else SMS_RECIPIENTS
        return table.get(recipient, ("accept", "delivered" if self.channel == Channel.EMAIL else "DELIVRD"))

    def _run(
        self, messages: Sequence[EmailMessage] | Sequence[SmsMessage]
    ) -> list[tuple[ProviderResult | None, ProviderError | None]]:
        now = timezone.now()
        due = now + timedelta(seconds=settings.NOTIFICATIONS_SANDBOX_REPORT_DELAY_SECONDS)
        kept: list[SandboxMessage] = []
        answers: list[tuple[ProviderResult | None, ProviderError | None]] = []
        for message in messages:
            if isinstance(message, EmailMessage):
                recipient, sender, subject = message.to.strip().lower(), message.from_address, message.subject
                content_type = message.content_type
                refusal = (
                    "Failed_SupressedRecipient",
                    "550 5.1.1 recipient is on the sandbox suppression list",
                )
            else:
                recipient, sender, subject, content_type = message.to_e164, message.sender, "", ""
                refusal = ("Failed_InvalidRecipient", "submit_sm_resp 0x0000000B ESME_RINVDSTADR")
            behaviour, report = self._behaviour(recipient)
            if behaviour == "reject":
                answers.append(
                    (None, ProviderError(refusal[1], permanent=True, status=refusal[0], raw=refusal[1]))
                )
                continue
            if behaviour == "temporary" and message.attempt == 1:
                text = "simulated temporary failure (the retry will succeed)"
                answers.append((None, ProviderError(text, raw=text)))
                continue
            reference = f"sandbox-{uuid.uuid4().hex}"
            kept.append(
                SandboxMessage(
                    channel=self.channel,
                    notification_id=message.notification_id,
                    attempt=message.attempt,
                    recipient=message.to,
                    sender=sender,
                    subject=subject,
                    body=message.body,
                    content_type=content_type,
                    reference=reference,
                    report_status=report,
                    report_due_at=due,
                )
            )
            answers.append((ProviderResult(reference=reference, raw=f"accepted as {reference}"), None))
        # One insert per batch; committed before the sending service records the references, and the
        # report is due seconds later, so the report always finds its notification.
        SandboxMessage.objects.bulk_create(kept)
        return answers


class SandboxEmailProvider(_Sandbox, EmailProvider):
    def send_batch(self, messages: Sequence[EmailMessage]) -> Iterator[Outcome[EmailMessage]]:
        for message, (result, error) in zip(messages, self._run(messages), strict=True):
            yield Outcome(message=message, result=result, error=error)

    def send(self, message: EmailMessage) -> ProviderResult:
        result, error = self._run([message])[0]
        if error is not None:
            raise error
        assert result is not None
        return result


class SandboxSmsProvider(_Sandbox, SmsProvider):
    def send_batch(self, messages: Sequence[SmsMessage]) -> Iterator[Outcome[SmsMessage]]:
        for message, (result, error) in zip(messages, self._run(messages), strict=True):
            yield Outcome(message=message, result=result, error=error)

    def send(self, message: SmsMessage) -> ProviderResult:
        result, error = self._run([message])[0]
        if error is not None:
            raise error
        assert result is not None
        return result
