"""Start-up checks of the default senders: the rules orders are held to hold for the defaults too."""

from __future__ import annotations

from typing import Any

import pytest

from orders.checks import check_default_senders


def test_the_shipped_default_senders_pass() -> None:
    assert check_default_senders(None) == []


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("NOTIFICATIONS_DEFAULT_EMAIL_FROM", "noreply@ttd.no\r\nBcc: victim@evil.test", "orders.E001"),
        ("NOTIFICATIONS_DEFAULT_EMAIL_FROM", "Altinn <noreply@altinn.no>", "orders.E001"),
        ("NOTIFICATIONS_DEFAULT_EMAIL_FROM", "not an address", "orders.E001"),
        ("NOTIFICATIONS_DEFAULT_SMS_SENDER", "Skatteetaten", "orders.E002"),
        ("NOTIFICATIONS_DEFAULT_SMS_SENDER", "Altinn\n", "orders.E002"),
        ("NOTIFICATIONS_DEFAULT_SMS_SENDER", "+4712345678901234", "orders.E002"),
    ],
)
def test_a_default_sender_orders_could_not_use_fails_the_check(
    settings: Any, setting: str, value: str, check_id: str
) -> None:
    setattr(settings, setting, value)

    assert [message.id for message in check_default_senders(None)] == [check_id]
