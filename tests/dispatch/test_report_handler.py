"""Delivery reports that arrive on a provider's own connection reach the report service through the
handler the dispatch app wires; the SMPP adapter never calls the service itself."""

from __future__ import annotations

import threading

import pytest

from dispatch.models import DeliveryReport, ReportState
from dispatch.providers.base import IncomingReport, ReportStatus, report_hand_over, report_handler_set
from dispatch.providers.smpp.link import SmppConfig
from dispatch.providers.smpp.receiver import SmppReceiver
from dispatch.services.reports import delivery_report_handle
from fakes.smpp import SmppFake


@pytest.fixture
def smsc():
    fake = SmppFake(system_id="notify", password="secret").start()
    yield fake
    fake.stop()


def _serve(fake: SmppFake, receiver: SmppReceiver, until) -> None:
    stop = threading.Event()
    timer = threading.Timer(10, stop.set)  # a safety net: the listener never hangs a test run
    timer.start()
    try:
        receiver.serve(stop=stop, should_stop=until)
    finally:
        timer.cancel()


def _config(fake: SmppFake) -> SmppConfig:
    return SmppConfig(host="127.0.0.1", port=fake.port, system_id="notify", password="secret", timeout=2)


def test_the_receiver_hands_each_receipt_to_its_handler_as_a_report(smsc):
    reports: list[IncomingReport] = []
    receiver = SmppReceiver(_config(smsc), min_backoff=0.01, on_report=reports.append)
    smsc.send_receipt("msg-17", "UNDELIV")

    # Until the SMSC has the answer (it reads it on its own thread, after the handler returned).
    _serve(smsc, receiver, lambda: bool(smsc.receipt_statuses))

    [report] = reports
    assert (report.channel, report.provider, report.reference) == ("Sms", "smpp", "msg-17")
    assert report.provider_status == "UNDELIV"
    assert report.mapped == ReportStatus(status="Failed_Undelivered")
    assert "stat:UNDELIV" in report.raw
    assert list(smsc.receipt_statuses.values()) == [0]
    assert receiver.handled == 1


def test_a_receipt_the_handler_cannot_take_is_answered_with_a_temporary_error(smsc):
    def broken(report: IncomingReport) -> None:
        raise RuntimeError("database down")

    receiver = SmppReceiver(_config(smsc), min_backoff=0.01, on_report=broken)
    smsc.send_receipt("msg-18", "DELIVRD")

    _serve(smsc, receiver, lambda: bool(smsc.receipt_statuses))

    assert list(smsc.receipt_statuses.values()) == [0x64]  # ESME_RX_T_APPN: the SMSC delivers it again
    assert receiver.handled == 0


@pytest.mark.django_db
def test_the_dispatch_app_wires_the_report_service_as_the_handler():
    report_hand_over(
        IncomingReport(
            channel="Sms",
            provider="smpp",
            provider_status="DELIVRD",
            mapped=ReportStatus(status="Delivered"),
            reference="nobody-sent-this",
        )
    )

    [stored] = DeliveryReport.objects.filter(reference="nobody-sent-this")
    assert stored.state == ReportState.PENDING  # stored, waiting for its notification


def test_without_a_wired_handler_a_report_is_refused_not_dropped():
    report_handler_set(None)
    try:
        with pytest.raises(RuntimeError, match="no delivery report handler"):
            report_hand_over(
                IncomingReport(channel="Sms", provider="smpp", provider_status="", mapped=ReportStatus(None))
            )
    finally:
        report_handler_set(delivery_report_handle)
