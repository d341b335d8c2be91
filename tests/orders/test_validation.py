"""The reference's validation rules, checked against its own test vectors (reference §1.3, §1.5)."""

from __future__ import annotations

import pytest

from orders import validation
from orders.models import NotificationChannel

VALID_EMAILS = [
    "æge_sjøåsen@domain.com",
    "stephanie@kul.no",
    "john.doe@sub.domain.example",
    "gratis-netflix+1@gmail.com",
    # Quirks of the legacy pattern the reference keeps: ";" in the local part, a bare IPv4 domain.
    "a;b@example.com",
    "user@1.2.3.4",
    "  padded@example.com  ",
]
INVALID_EMAILS = [
    ".user@example.com",
    "user.@example.com",
    "",
    "userexample.com",
    "user@",
    "@example.com",
    "user@example..com",
    "user@exa!mple.com",
    "one@example.com;two@example.com",
    "user@[1.2.3.4]",
    "user@localhost",
    "user@example.c",
    "user@example.com.",
    '"john doe"@example.com',
    "a/b@example.com",
    "john doe@example.com",
]


@pytest.mark.parametrize("address", VALID_EMAILS)
def test_email_rule_accepts_the_reference_valid_vectors(address: str) -> None:
    assert validation.is_valid_email(address)


@pytest.mark.parametrize("address", INVALID_EMAILS)
def test_email_rule_refuses_the_reference_invalid_vectors(address: str) -> None:
    assert not validation.is_valid_email(address)


VALID_MOBILES = [
    "+4740000001",
    "004740000000",
    "+4790000000",
    "004790000002",
    "+233242426224",
    "+47 99999999",
    "+47 9999 9999",
    "+47 99 99 99 99",
    "+47 99 99 99 99 ",
    "+4722225555",  # fixed-line numbers are valid too
]
INVALID_MOBILES = [
    "40000001",
    "90000000",
    "12345678",
    "+4750000004",
    "+47900000001",
    "+14790000000",
    "111100000",
    "dasdsadSASA",
    "",
    "   ",
    "++4740000000",
    " +4799999999",
]


@pytest.mark.parametrize("number", VALID_MOBILES)
def test_mobile_rule_accepts_the_reference_valid_vectors(number: str) -> None:
    assert validation.is_valid_mobile_number(number)


@pytest.mark.parametrize("number", INVALID_MOBILES)
def test_mobile_rule_refuses_the_reference_invalid_vectors(number: str) -> None:
    assert not validation.is_valid_mobile_number(number)


@pytest.mark.parametrize(
    "url",
    [
        "https://vg.no/cond",
        "http://vg.no/cond?id=4711&x=y",
        "https://a.b.example.no:8443/x",
        "HTTPS://VG.NO/x",
    ],
)
def test_condition_endpoint_accepts_absolute_http_urls_on_dotted_host_names(url: str) -> None:
    assert validation.is_valid_condition_endpoint(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:5000/x",
        "https://127.0.0.1/x",
        "https://foobar/x",
        "https://[::1]/x",
        "urn:altinn:notifications:condition",
        "ftp://vg.no/x",
        "vg.no/x",
        "/relative/path",
        "https://vg.no:port/x",
        "https://vg.n0/x",
    ],
)
def test_condition_endpoint_refuses_what_the_reference_refuses(url: str) -> None:
    assert not validation.is_valid_condition_endpoint(url)


@pytest.mark.parametrize(
    ("subject", "folded"),
    [
        ("one\r\ntwo", "one two"),
        ("one\rtwo", "one two"),
        ("one\ntwo", "one two"),
        ("a\n\nb", "a  b"),
        ("\r\n\n\r", "   "),
        ("no breaks", "no breaks"),
    ],
)
def test_subject_newlines_become_one_space_each(subject: str, folded: str) -> None:
    assert validation.fold_subject_newlines(subject) == folded


SMS, EMAIL = NotificationChannel.SMS, NotificationChannel.EMAIL


@pytest.mark.parametrize(
    ("recipient", "channel", "expected"),
    [
        ({"nationalIdentityNumber": "11876995923"}, SMS, {}),
        ({"organizationNumber": "311000179"}, EMAIL, {}),
        ({"emailAddress": "a@b.no", "mobileNumber": "+4799999999"}, NotificationChannel.EMAIL_PREFERRED, {}),
        ({}, EMAIL, {"": [validation.MSG_NO_EMAIL_IDENTIFIER]}),
        ({}, SMS, {"": [validation.MSG_NO_SMS_IDENTIFIER]}),
        ({}, NotificationChannel.SMS_PREFERRED, {"": [validation.MSG_NO_IDENTIFIER]}),
        ({"mobileNumber": "+4799999999"}, EMAIL, {"": [validation.MSG_NO_EMAIL_IDENTIFIER]}),
        ({"emailAddress": "a@b.no"}, SMS, {"": [validation.MSG_NO_SMS_IDENTIFIER]}),
        (
            {"nationalIdentityNumber": "1187699592"},
            SMS,
            {"nationalIdentityNumber": [validation.MSG_INVALID_NIN]},
        ),
        (
            {"nationalIdentityNumber": "1187699592x"},
            SMS,
            {"nationalIdentityNumber": [validation.MSG_INVALID_NIN]},
        ),
        (
            {"nationalIdentityNumber": "١١٨٧٦٩٩٥٩٢٣"},  # Arabic-Indic digits are not 0-9
            SMS,
            {"nationalIdentityNumber": [validation.MSG_INVALID_NIN]},
        ),
        (
            {"organizationNumber": "31100017"},
            EMAIL,
            {"organizationNumber": [validation.MSG_INVALID_ORGANIZATION_NUMBER]},
        ),
        ({"mobileNumber": "98765432"}, SMS, {"mobileNumber": [validation.MSG_INVALID_MOBILE]}),
        ({"emailAddress": "user@localhost"}, EMAIL, {"emailAddress": [validation.MSG_INVALID_EMAIL]}),
        # The email channel ignores the mobile number's format, the SMS channel the address's.
        ({"emailAddress": "a@b.no", "mobileNumber": "garbage"}, EMAIL, {}),
        ({"mobileNumber": "+4799999999", "emailAddress": "garbage"}, SMS, {}),
        (
            {"nationalIdentityNumber": "11876995923", "mobileNumber": "+4799999999"},
            NotificationChannel.EMAIL_PREFERRED,
            {"": [validation.MSG_NIN_COMBINED]},
        ),
        (
            {"organizationNumber": "311000179", "emailAddress": "a@b.no"},
            NotificationChannel.SMS_PREFERRED,
            {"": [validation.MSG_ORGANIZATION_NUMBER_COMBINED]},
        ),
        (
            {"organizationNumber": "311000179", "nationalIdentityNumber": "11876995923"},
            SMS,
            {"": [validation.MSG_NIN_COMBINED, validation.MSG_ORGANIZATION_NUMBER_COMBINED]},
        ),
        # NIN combined with a mobile number is refused even on the email channel, which ignores mobiles.
        (
            {"nationalIdentityNumber": "11876995923", "mobileNumber": "x"},
            EMAIL,
            {"": [validation.MSG_NIN_COMBINED]},
        ),
        # Empty strings count as absent, as string.IsNullOrEmpty does.
        ({"emailAddress": "", "organizationNumber": "311000179"}, EMAIL, {}),
    ],
)
def test_recipient_rules_follow_the_reference(
    recipient: dict[str, str], channel: str, expected: dict
) -> None:
    assert validation.recipient_errors(recipient, channel) == expected


def test_the_v1_email_endpoint_reports_an_invalid_address_at_the_recipient() -> None:
    recipient = {"emailAddress": "user@localhost"}

    assert validation.recipient_errors(recipient, EMAIL, address_at_recipient=True) == {
        "": [validation.MSG_NO_EMAIL_IDENTIFIER]
    }
    # The generic endpoint's Email channel keeps the field message, as the reference's newer rules do.
    assert validation.recipient_errors(recipient, EMAIL) == {"emailAddress": [validation.MSG_INVALID_EMAIL]}


def test_recipient_rules_without_a_known_channel_check_every_field() -> None:
    errors = validation.recipient_errors({"emailAddress": "bad", "mobileNumber": "bad"}, None)

    assert errors == {
        "emailAddress": [validation.MSG_INVALID_EMAIL],
        "mobileNumber": [validation.MSG_INVALID_MOBILE],
    }
