"""No admin page shows a full national identity number to staff without ``orders.view_full_nin``.

Every table that can hold a NIN gets one (each source its own, so a failure names where it leaked from),
then the whole admin is walked: the index, every route read from the URL resolver with its parameters
filled from every object of its model (change pages, history, delete confirmations, custom buttons, app
indexes), and every action of every model admin run on all of its rows. A model, page, button or action
added later is walked without touching this test. The same walk as a superuser finds the NINs, so the
walk does look where they would show.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from html import unescape

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from hypothesis import given
from hypothesis import strategies as st

from core.masking import mask_nin, mask_nins_in_text, mask_response
from dispatch.models import (
    AttemptOutcome,
    CallbackAttempt,
    CallbackDelivery,
    Channel,
    DeliveryAttempt,
    DeliveryReport,
    ProviderHealthEvent,
    ProviderPause,
    ProviderState,
    SandboxMessage,
)
from orders.audit import AuditAction, AuditEntry, AuditOutcome
from orders.models import IdempotencyKey, OrderChain, OrderStatus, StatusFeedEntry
from orders.registry.models import Person
from tests.factories import (
    EmailNotificationFactory,
    EmailTemplateFactory,
    OrderFactory,
    RecipientFactory,
    SmsNotificationFactory,
)
from tests.notifications_project.routes import all_routes
from tests.orders.admin_support import staff_user

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.orders.admin_support"]  # the support and operator groups

# Stored but on no admin page today; walked all the same, so registering one of them is covered.
NOT_SHOWN = {"chain_request", "chain_receipt", "feed", "idempotency"}
# Routes the walk leaves out: logging out would end the walk's session.
SKIPPED_ROUTES = {"logout"}
_REGEX_ALTERNATIVES = re.compile(r"\(\?P<(?P<name>\w+)>(?P<choices>[^)]*)\)")
_PARAMETER = re.compile(r"<(?:[a-z]+:)?(?P<name>\w+)>")


def nin(n: int) -> str:
    return f"0101700{n:04d}"


@dataclass(frozen=True)
class Page:
    what: str
    status: int
    final_url: str
    body: str


def seed() -> dict[str, str]:
    """One NIN in every place that can hold one; returns the NIN of each place by name."""
    nins: dict[str, str] = {}

    def next_nin(name: str) -> str:
        nins[name] = nin(len(nins) + 1)
        return nins[name]

    order = OrderFactory(
        email=True,
        status=OrderStatus.PROCESSED,
        email_template=EmailTemplateFactory(body=f"Til {next_nin('template')}: se innboksen."),
        processing_note=f"registry had no contact for {next_nin('processing_note')}",
    )
    RecipientFactory(order=order, national_identity_number=next_nin("recipient"), mobile_number=None)
    order.recipient_lookup = {
        "status": "Failed",
        "isReserved": [next_nin("lookup_reserved")],
        "missingContact": [next_nin("lookup_missing")],
    }
    order.save(update_fields=["recipient_lookup"])
    email = EmailNotificationFactory(
        order=order,
        recipient_national_identity_number=next_nin("email_notification"),
        status="Failed",
        subject=f"Melding til {next_nin('email_subject')}",
        body=f"Gjelder fødselsnummer {next_nin('email_body')}.",
        last_error=f"mailbox of {next_nin('email_error')} full",
    )
    sms = SmsNotificationFactory(
        order=OrderFactory(status=OrderStatus.PROCESSED),
        recipient_national_identity_number=next_nin("sms_notification"),
        body=f"Gjelder {next_nin('sms_body')}",
    )

    delivery = CallbackDelivery.objects.create(
        event_key=f"notification:{email.id}:Failed:1",
        event_type="notification.status",
        creator="ttd",
        order_id=order.id,
        notification_id=email.id,
        channel=Channel.EMAIL,
        status="Failed",
        url="https://receiver.example.no/callbacks",
        payload={
            "eventType": "notification.status",
            "recipient": {"nationalIdentityNumber": next_nin("callback_payload"), "emailAddress": None},
        },
        created_at=timezone.now(),
        give_up_at=timezone.now() + timedelta(hours=24),
        last_error=f"receiver refused person {next_nin('callback_error')[:6]} {nins['callback_error'][6:]}",
    )
    CallbackAttempt.objects.create(
        delivery=delivery,
        attempt=1,
        started_at=timezone.now(),
        status_code=400,
        error="HTTP 400",
        response_body=json.dumps({"unknownRecipient": next_nin("callback_response")}),
    )
    DeliveryAttempt.objects.create(
        channel=Channel.EMAIL,
        notification_id=email.id,
        order_id=order.id,
        attempt=1,
        provider="sandbox",
        outcome=AttemptOutcome.PERMANENT,
        status="Failed",
        provider_reference="sandbox-ref-1",
        started_at=timezone.now(),
        error=f"rejected {next_nin('attempt_error')}",
        raw_response=json.dumps({"nationalIdentityNumber": next_nin("attempt_raw")}),
    )
    DeliveryReport.objects.create(
        channel=Channel.SMS,
        provider="sandbox",
        reference="sandbox-ref-2",
        notification_id=sms.id,
        provider_status="DELIVRD",
        raw=json.dumps({"to": next_nin("report_raw"), "status": "DELIVRD"}),
        received_at=timezone.now(),
    )
    SandboxMessage.objects.create(
        channel=Channel.SMS,
        notification_id=sms.id,
        attempt=1,
        recipient="+4799315000",
        sender="Altinn",
        subject="",
        body=f"Gjelder {next_nin('sandbox_body')}",
        reference="sandbox-ref-2",
    )
    OrderChain.objects.create(
        creator="ttd",
        idempotency_id="chain-1",
        type=OrderChain.Type.NOTIFICATION,
        request={"recipient": {"recipientPerson": {"nationalIdentityNumber": next_nin("chain_request")}}},
        receipt={"notificationOrderId": str(uuid.uuid4()), "note": next_nin("chain_receipt")},
        created_at=timezone.now(),
    )
    StatusFeedEntry.objects.create(
        order=order,
        creator="ttd",
        order_status=OrderStatus.COMPLETED,
        last_update=timezone.now(),
        recipients=[{"channel": "Email", "destination": next_nin("feed"), "status": "Failed"}],
        created_at=timezone.now(),
    )
    IdempotencyKey.objects.create(
        creator="ttd",
        key="key-1",
        request_hash="0" * 64,
        response_body={"recipient": next_nin("idempotency")},
        created_at=timezone.now(),
        claimed_at=timezone.now(),
    )
    AuditEntry.objects.create(
        actor_username="otto-operator",
        action=AuditAction.NOTIFICATION_RETRY,
        outcome=AuditOutcome.REFUSED,
        target_type="orders.emailnotification",
        target_id=str(email.id),
        details={"nationalIdentityNumber": next_nin("audit")},
    )
    person = Person.objects.create(national_identity_number=next_nin("person"), name="Ola Nordmann")
    LogEntry.objects.create(
        user=User.objects.create_user("editor", is_staff=True),
        content_type=ContentType.objects.get_for_model(Person),
        object_id=str(person.pk),
        object_repr=f"person {next_nin('admin_history')}",
        action_flag=CHANGE,
        change_message=f"Changed name of {nins['admin_history']}.",
    )
    ProviderPause.objects.create(
        key="sms:sandbox", paused_until=timezone.now() + timedelta(minutes=5), reason=next_nin("pause")
    )
    ProviderHealthEvent.objects.create(
        created_at=timezone.now(),
        key="sms:sandbox",
        from_state=ProviderState.HEALTHY,
        to_state=ProviderState.DOWN,
        reason=f"errors for {next_nin('provider_health')}",
    )
    # Somebody typed their NIN into the login form's username.
    AccessAttempt.objects.create(
        username=next_nin("login_attempt"),
        ip_address="192.0.2.1",
        user_agent="browser",
        http_accept="*/*",
        path_info="/admin/login/",
        get_data="",
        post_data=f"username={nins['login_attempt']}",
        failures_since_start=1,
    )
    return nins


def _forms(digits: str) -> tuple[str, ...]:
    """How a NIN can be written: 11 digits, and the printed "DDMMYY NNNNN"."""
    return digits, f"{digits[:6]} {digits[6:]}"


def found(nins: dict[str, str], body: str) -> set[str]:
    return {name for name, digits in nins.items() if any(form in body for form in _forms(digits))}


def _model_of(route: str) -> type | None:
    parts = route.split("/")
    if len(parts) < 3:
        return None
    try:
        return apps.get_model(parts[1], parts[2])
    except (LookupError, ValueError):
        return None


def admin_paths() -> list[str]:
    """Every admin route with its parameters filled from every object of its model."""
    paths = ["/admin/"]
    for route in all_routes():
        if not route.route.startswith("admin/") or route.name in SKIPPED_ROUTES:
            continue
        if "(?P<" in route.route:
            # Regex routes: the app index (its app labels are the alternatives); the catch-all has none.
            match = _REGEX_ALTERNATIVES.search(route.route)
            assert match is not None
            if match["name"] == "app_label":
                for label in match["choices"].split("|"):
                    filled = route.route.replace(match.group(0), label)
                    paths.append("/" + filled.replace("^", "").replace("$", ""))
            continue
        names = [m["name"] for m in _PARAMETER.finditer(route.route)]
        if not names:
            paths.append("/" + route.route)
        elif names == ["content_type_id", "object_id"]:  # "view on site"
            for model in admin.site._registry:
                obj = model._default_manager.first()
                if obj is not None:
                    content_type = ContentType.objects.get_for_model(model)
                    paths.append(route.path(content_type_id=str(content_type.pk), object_id=str(obj.pk)))
        else:
            model = _model_of(route.route)
            assert model is not None, f"no model for {route.route}"
            assert len(names) == 1, route.route
            for pk in model._default_manager.values_list("pk", flat=True):
                paths.append(route.path(**{names[0]: str(pk)}))
    return paths


def _page(what: str, response) -> Page:
    content = (
        b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    )
    final_url = response.redirect_chain[-1][0] if getattr(response, "redirect_chain", None) else ""
    return Page(what, response.status_code, final_url, content.decode("utf-8", "replace"))


def walk(client: Client) -> list[Page]:
    """GET every admin path, then POST those that only take a POST, then run every action on every row."""
    pages, post_only = [], []
    for path in admin_paths():
        response = client.get(path, follow=True)
        if response.status_code == 405:
            post_only.append(path)
        else:
            pages.append(_page(f"GET {path}", response))
    # The buttons (retry, cancel, re-send, re-apply) change what the pages show: pressed after every GET.
    for path in post_only:
        pages.append(_page(f"POST {path}", client.post(path, follow=True)))
    # The CSV import's result page, with a rejected row.
    csv = f"kind,identifier,name,mobile_numbers,email_addresses,reserved\nperson,{nin(99)},X,bad,,maybe\n"
    upload = SimpleUploadedFile("contacts.csv", csv.encode(), content_type="text/csv")
    import_url = reverse("admin:orders_person_import")
    pages.append(_page(f"POST {import_url}", client.post(import_url, {"file": upload, "dry_run": "on"})))
    # Every action on every row (delete_selected stops at its confirmation page without "post").
    for model, model_admin in admin.site._registry.items():
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(changelist)
        action_form = response.context["action_form"] if response.status_code == 200 else None
        if action_form is None:
            continue
        pks = [str(pk) for pk in model_admin.get_queryset(response.wsgi_request).values_list("pk", flat=True)]
        for action, _label in action_form.fields["action"].choices:
            if not action:
                continue
            response = client.post(
                changelist, {"action": action, "_selected_action": pks, "index": 0}, follow=True
            )
            pages.append(_page(f"POST {changelist} action={action}", response))
    return pages


def walker(user: User) -> Client:
    # A server error is recorded as a page (its body checked like any other), not raised.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def leaks(nins: dict[str, str], pages: list[Page]) -> list[str]:
    return [f"{page.what}: {sorted(names)}" for page in pages if (names := found(nins, page.body))]


def all_but_full_nin_user() -> User:
    """Staff with every permission except view_full_nin: add, change and delete pages, every action."""
    user = staff_user("almost-everything")
    user.user_permissions.set(Permission.objects.exclude(codename="view_full_nin"))
    return user


def test_walk_as_superuser_finds_the_nins_of_every_shown_place() -> None:
    nins = seed()
    client = walker(staff_user("root", superuser=True))

    pages = walk(client)

    seen = set().union(*(found(nins, page.body) for page in pages))
    assert seen == set(nins) - NOT_SHOWN


@pytest.mark.parametrize("who", ["support", "all_but_full_nin"])
def test_no_admin_page_shows_a_full_nin_to_staff_without_the_permission(groups, who: str) -> None:
    nins = seed()
    user = staff_user("sue-support", "support") if who == "support" else all_but_full_nin_user()
    client = walker(user)

    pages = walk(client)

    assert not leaks(nins, pages), "\n".join(leaks(nins, pages))
    # The walk saw the pages, not the login form: the session held and most pages answered.
    assert not [page.what for page in pages if page.final_url.startswith("/admin/login/")]
    assert sum(page.status == 200 for page in pages) > 40
    assert {page.what for page in pages if page.status >= 500} == set()


# --- the masking rule ------------------------------------------------------------------------------------

_SEPARATORS = st.sampled_from([" ", ",", ";", ":", "(", ")", "<td>", "</td>", '"', "'", "=", "\n", "/", ". "])
_WORDS = st.text(alphabet="abcæøå XYZ", max_size=12)
_NINS = st.text(alphabet="0123456789", min_size=11, max_size=11)


@given(before=_WORDS, left=_SEPARATORS, digits=_NINS, right=_SEPARATORS, after=_WORDS, spaced=st.booleans())
def test_eleven_digits_standing_alone_are_masked_in_any_text(before, left, digits, right, after, spaced):
    written = f"{digits[:6]} {digits[6:]}" if spaced else digits
    masked = mask_nins_in_text(f"{before}{left}{written}{right}{after}")

    assert digits not in masked.replace(" ", "")
    assert masked == f"{before}{left}{mask_nin(digits)}{right}{after}"


# The rule as one regular expression: slower (a look-around at every position), plainly right.
_REFERENCE = re.compile(r"(?<![0-9A-Za-z_+-])(?P<nin>[0-9]{6} ?[0-9]{5})(?![0-9A-Za-z_-])")


@given(st.text(alphabet="0123456789 a+-_,", max_size=60))
def test_masking_agrees_with_the_rule_written_as_one_regular_expression(text):
    expected = _REFERENCE.sub(lambda m: mask_nin(m["nin"].replace(" ", "")), text)

    assert mask_nins_in_text(text) == expected


@given(
    key=st.sampled_from(
        ["nationalIdentityNumber", "NationalIdentityNumber", "national_identity_number", "nin"]
        + ["recipient_national_identity_number"]
    ),
    value=st.one_of(
        st.text(alphabet="0123456789 ", min_size=4, max_size=20).filter(str.strip),
        st.integers(10**5, 10**12),
    ),
    html=st.booleans(),
)
def test_the_value_of_a_nin_key_is_masked_whatever_its_form(key, value, html):
    text = json.dumps({"recipient": {key: value, "name": "Ola"}}, indent=2)
    if html:
        text = escape(text)

    masked = mask_nins_in_text(text)

    shown = json.loads(unescape(masked) if html else masked)["recipient"]
    assert shown == {key: mask_nin("".join(str(value).split())), "name": "Ola"}


@pytest.mark.parametrize(
    "text",
    [
        "8a9f3d1c-2b4e-4f6a-9c0d-010170123456",  # a UUID whose last group is digits
        "+46701234567",  # an E.164 number
        "010170123456",  # 12 digits
        "0101701234",  # 10 digits
        "order-01017012345",  # part of an identifier
        "sms_01017012345",
    ],
)
def test_what_is_not_a_nin_is_left_alone(text):
    assert mask_nins_in_text(text) == text


def test_the_users_own_search_term_stays_only_where_the_page_repeats_the_search():
    term = nin(7)
    page = (
        f'<input type="text" name="q" value="{term}" id="searchbar">'
        f'<a href="?q={term}&amp;status=failed">Has failed</a>'
        f'<a href="/admin/x/1/change/?_changelist_filters=q%3D{term}">1</a>'
        f"<td>{term}</td>"
    )

    masked = mask_nins_in_text(page, keep=frozenset({term}))

    assert masked.count(term) == 3
    assert f"<td>{mask_nin(term)}</td>" in masked
    assert mask_nins_in_text(page).count(term) == 0


def test_a_streamed_body_is_masked_even_where_a_chunk_boundary_splits_a_nin():
    digits = nin(8)
    response = StreamingHttpResponse(
        iter([b"a,b\n1,", digits[:5].encode(), digits[5:].encode() + b",x\n2,", digits.encode()]),
        content_type="text/csv",
    )

    body = b"".join(mask_response(response).streaming_content).decode()

    assert body == f"a,b\n1,{mask_nin(digits)},x\n2,{mask_nin(digits)}"


# --- searching by a full NIN ------------------------------------------------------------------------------


def test_support_finds_a_notification_by_full_nin_and_sees_it_masked_in_the_results(support_client):
    digits = nin(9)
    notification = SmsNotificationFactory(
        order=OrderFactory(status=OrderStatus.PROCESSED), recipient_national_identity_number=digits
    )
    SmsNotificationFactory(order=OrderFactory(status=OrderStatus.PROCESSED))

    response = support_client.get(reverse("admin:orders_smsnotification_changelist"), {"q": digits})

    assert [n.id for n in response.context["cl"].result_list] == [notification.id]
    page = response.content.decode()
    change_url = reverse("admin:orders_smsnotification_change", args=[notification.id])
    detail = support_client.get(change_url).content.decode()
    assert mask_nin(digits) in detail
    assert digits not in detail
    # The search box and the filter links keep the term, so filtering the results works; the row does not.
    assert f'name="q" value="{digits}"' in page
    assert f"q={digits}&amp;" in page or f"&amp;q={digits}" in page
    assert (
        page.replace(f'value="{digits}"', "")
        .replace(f"q={digits}", "")
        .replace(f"q%3D{digits}", "")
        .count(digits)
        == 0
    )
