"""A submit_sm reused around its destination is byte for byte what smpplib writes, and reaches the SMSC so."""

from __future__ import annotations

import pytest
import smpplib.client
import smpplib.smpp

from dispatch.providers.smpp.codec import address, encode_sms
from dispatch.providers.smpp.provider import SubmitLayout
from fakes.smpp import SmppFake
from orders.models import OrderStatus
from tests.dispatch.sending_support import fresh_providers, sms_notification, use_smsc
from tests.factories import OrderFactory, SmsTemplateFactory

__all__ = ["fresh_providers"]

VALIDITY = "000002000000000R"


def _smpplib(client: smpplib.client.Client, *, sender: str, number: str, part: bytes, esm: int,
             coding: int, receipt: int, sequence: int | None = None) -> tuple[int, bytes]:  # fmt: skip
    source_ton, source_npi, source = address(sender)
    dest_ton, dest_npi, destination = address(number)
    pdu = smpplib.smpp.make_pdu(
        "submit_sm",
        client=client,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        source_addr=source,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        destination_addr=destination,
        esm_class=esm,
        data_coding=coding,
        short_message=part,
        validity_period=VALIDITY,
        registered_delivery=receipt,
    )
    if sequence is not None:
        pdu.sequence = sequence
    return int(pdu.sequence), pdu.generate()


@pytest.mark.parametrize("sender", ["Altinn", "+4712345678", "2222", "A"])
@pytest.mark.parametrize("body", ["Hei fra Altinn", "Ærlig talt: {[€]}", "Привет", "x" * 400, "ø" * 200, ""])
@pytest.mark.parametrize("receipt", [0, 1])
def test_a_reused_layout_writes_exactly_the_bytes_smpplib_writes(sender, body, receipt):
    client = smpplib.client.Client("127.0.0.1", 1)
    encoded = encode_sms(body or " ")
    numbers = ["+4799999999", "004741234567", "12345", "+1", "+47999999999999999999", "4798765432"]
    for part in encoded.parts:
        kwargs = {"sender": sender, "part": part, "esm": encoded.esm_class,
                  "coding": encoded.data_coding, "receipt": receipt}  # fmt: skip
        _, first = _smpplib(client, number=numbers[0], **kwargs)
        layout = SubmitLayout.of(first, address(numbers[0])[2])
        for sequence, number in enumerate(numbers, 7):
            # Only the destination may differ from the first message's: its TON/NPI are part of the kind.
            if address(number)[:2] != address(numbers[0])[:2]:
                continue
            _, expected = _smpplib(client, number=number, sequence=sequence, **kwargs)
            assert layout.pdu(sequence, address(number)[2]) == expected


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_providers")
def test_messages_of_one_order_sent_from_a_reused_layout_reach_the_smsc_intact(settings):
    from dispatch.services.sending import notifications_send

    fake = SmppFake(system_id="notify", password="secret").start()
    try:
        use_smsc(settings, fake.port)
        order = OrderFactory(
            sms_template=SmsTemplateFactory(sender_number="Altinn", body="Lang tekst " * 30),
            status=OrderStatus.PROCESSED,
        )
        numbers = [f"+479900000{n:02d}" for n in range(12)] + ["+4741234567", "+4690000000"]
        rows = [sms_notification(order=order, mobile_number=number) for number in numbers]

        summary = notifications_send(channel="Sms")

        assert summary.accepted == len(rows)
        parts = len(encode_sms("Lang tekst " * 30).parts)
        assert parts > 1
        received: dict[str, list[str]] = {}
        for submit in fake.submits:
            assert (submit.source_addr, submit.source_addr_ton, submit.dest_addr_ton) == ("Altinn", 5, 1)
            received.setdefault(submit.destination_addr, []).append(submit.text)
        assert sorted(received) == sorted(number.lstrip("+") for number in numbers)
        assert all("".join(texts) == "Lang tekst " * 30 for texts in received.values())
        receipts = [s.registered_delivery for s in fake.submits]
        assert receipts.count(1) == len(rows)  # one receipt request per message, on its last part
        for row in rows:
            row.refresh_from_db()
            assert row.status == "Accepted"
            assert row.provider_reference
    finally:
        fake.stop()
