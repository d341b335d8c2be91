"""No NIN, phone number or email address in the logs: not logged by the code, and masked if it ever were."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

import dispatch.tasks  # noqa: F401 - registers the tasks that are enqueued by name
from core.logfilters import PersonalDataFilter, add_to_handlers, mask_personal_data
from dispatch.services.reports import sandbox_reports_deliver
from notifications_project.celery import app as celery_app
from orders.models import Order, OrderStatus
from orders.registry.models import Person
from tests.dispatch.sending_support import fresh_providers

__all__ = ["fresh_providers"]
API = "/notifications/api/v1"
NIN = "01017012345"
MOBILE = "+4799315000"
EMAIL = "ola.nordmann@example.no"
SECRETS = (NIN, MOBILE, MOBILE.removeprefix("+47"), EMAIL, "ola.nordmann")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logs() -> Iterator[tuple[_Records, io.StringIO]]:
    """Every record at DEBUG as the code emits it, and what the configured console handler writes."""
    root = logging.getLogger()
    raw = _Records()
    console = next(h for h in root.handlers if any(isinstance(f, PersonalDataFilter) for f in h.filters))
    written = io.StringIO()
    previous_level, previous_stream = root.level, console.setStream(written)  # type: ignore[attr-defined]
    # Loggers the settings quieten: everything they would say is captured here too.
    quiet = {name: logging.getLogger(name).level for name in ("django.request", "django.server")}
    for name in quiet:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root.setLevel(logging.DEBUG)
    root.handlers.insert(0, raw)  # first: it sees each record before the console's filter masks it
    try:
        yield raw, written
    finally:
        root.removeHandler(raw)
        root.setLevel(previous_level)
        console.setStream(previous_stream)  # type: ignore[attr-defined]
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def tasks_run_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    def send_task(name: str, args: Any = None, kwargs: Any = None, **_: Any) -> Any:
        return celery_app.tasks[name].apply(args=args or [], kwargs=kwargs or {})

    monkeypatch.setattr(celery_app, "send_task", send_task)


def _text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), record.exc_text or "", record.stack_info or ""]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    parts += [str(value) for value in vars(record).values() if isinstance(value, str)]
    return "\n".join(parts)


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_providers", "tasks_run_inline")
def test_an_order_end_to_end_writes_no_nin_number_or_address_to_the_logs(
    api_client, logs, django_capture_on_commit_callbacks
) -> None:
    raw, written = logs
    Person.objects.create(
        national_identity_number=NIN, name="Ola Nordmann", mobile_number=MOBILE, email_address=EMAIL
    )

    with django_capture_on_commit_callbacks(execute=True):
        for path, body in (
            ("/orders/sms", {"body": "Hei $recipientName$", "recipients": [{"nationalIdentityNumber": NIN}]}),
            (
                "/orders/email",
                {"subject": "Hei", "body": "Hallo", "recipients": [{"nationalIdentityNumber": NIN}]},
            ),
            ("/orders/sms", {"body": "Hei", "recipients": [{"mobileNumber": MOBILE}]}),
            ("/orders/email", {"subject": "Hei", "body": "Hallo", "recipients": [{"emailAddress": EMAIL}]}),
            ("/orders/sms", {"body": "Hei", "recipients": [{"mobileNumber": "not a number " + NIN}]}),
        ):
            api_client.post(f"{API}{path}", body, format="json")
    with (
        time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sandbox_reports_deliver() == 4
    for order in Order.objects.all():
        api_client.get(f"{API}/orders/{order.id}/notifications/sms")
        api_client.get(f"{API}/orders/{order.id}/notifications/email")

    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.COMPLETED}
    # Not vacuous: requests, processing and sending all logged.
    loggers = {record.name for record in raw.records}
    assert "notifications.request" in loggers
    assert any(name.startswith("dispatch") for name in loggers)
    assert len(raw.records) >= 15
    for record in raw.records:
        text = _text(record)
        assert not any(secret in text for secret in SECRETS), f"{record.name}: {text}"
    assert not any(secret in written.getvalue() for secret in SECRETS)


def test_the_filter_masks_nins_numbers_and_addresses_in_messages_arguments_extras_and_tracebacks() -> None:
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.addFilter(PersonalDataFilter())
    logger = logging.getLogger("tests.personal_data")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("lookup of %s gave %s and %s", NIN, MOBILE, EMAIL, extra={"recipient": EMAIL})
        try:
            raise ValueError(f"bad address {EMAIL} for {NIN}")
        except ValueError:
            logger.exception("failed for %s", MOBILE)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    output = written.getvalue()
    assert not any(secret in output for secret in (NIN, MOBILE, EMAIL))
    assert "lookup of [nin] gave [phone] and [email]" in output
    assert "ValueError: bad address [email] for [nin]" in output


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("nin=01017012345.", "nin=[nin]."),
        (
            "order 3f2a9c1e-0b4d-4e8f-9a6b-012345678901 done",
            "order 3f2a9c1e-0b4d-4e8f-9a6b-012345678901 done",
        ),
        ("took 12345678901234 ns", "took 12345678901234 ns"),
        ("to +4799315000, +46701234567", "to [phone], [phone]"),
        ("from Ola <ola.nordmann+x@sub.example.no>", "from Ola <[email]>"),
        ("status Delivered, 3 parts", "status Delivered, 3 parts"),
    ],
)
def test_what_is_masked_and_what_is_not(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


def test_celery_worker_handlers_get_the_filter_too() -> None:
    logger = logging.getLogger("tests.worker")
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    try:
        add_to_handlers(logger=logger)
        add_to_handlers(logger=logger)  # idempotent: a worker may set up logging more than once
    finally:
        logger.removeHandler(handler)

    assert [type(f) for f in handler.filters] == [PersonalDataFilter]


@given(st.text(alphabet=st.sampled_from("0123456789+@.-_ abxyz\n"), max_size=60))
def test_the_masking_shortcuts_mask_as_the_three_patterns_do(text: str) -> None:
    from core.logfilters import _EMAIL, _NIN, _PHONE

    plain = _NIN.sub("[nin]", _PHONE.sub("[phone]", _EMAIL.sub("[email]", text)))
    assert mask_personal_data(text) == plain
