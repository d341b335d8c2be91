"""Properties of the phone and email rules, checked on generated values (hypothesis)."""

from __future__ import annotations

import phonenumbers
from hypothesis import given
from hypothesis import strategies as st

from orders.validation import (
    MSG_INVALID_NIN,
    is_valid_email,
    is_valid_mobile_number,
    recipient_errors,
)

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
atoms = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-=?^_`{|}~", min_size=1, max_size=12)
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
tlds = st.from_regex(r"[a-z]{2,14}", fullmatch=True)


@st.composite
def addresses(draw: st.DrawFn) -> str:
    local = ".".join(draw(st.lists(atoms, min_size=1, max_size=3)))
    domain = ".".join(draw(st.lists(labels, min_size=1, max_size=3)))
    return f"{local}@{domain}.{draw(tlds)}"


@st.composite
def valid_numbers(draw: st.DrawFn) -> str:
    """A number libphonenumber considers valid: a region's example mobile (or fixed-line) number."""
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(
        region, phonenumbers.PhoneNumberType.MOBILE
    ) or phonenumbers.example_number(region)
    if example is None:
        return "+4799315000"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


@given(addresses())
def test_well_formed_addresses_are_valid(address: str) -> None:
    assert is_valid_email(address)


@given(addresses(), st.text(alphabet=" \t", max_size=3), st.text(alphabet=" \t", max_size=3))
def test_surrounding_whitespace_is_trimmed_before_the_rule(address: str, before: str, after: str) -> None:
    assert is_valid_email(before + address + after)


@given(st.text(max_size=80).filter(lambda text: "@" not in text))
def test_a_text_without_an_at_sign_is_never_an_address(text: str) -> None:
    assert not is_valid_email(text)


@given(addresses(), addresses())
def test_two_at_signs_are_never_an_address(first: str, second: str) -> None:
    assert not is_valid_email(f"{first}@{second}")


@given(st.one_of(st.none(), st.text(max_size=80)))
def test_the_email_rule_never_raises(value: str | None) -> None:
    assert is_valid_email(value) in (True, False)


@given(valid_numbers())
def test_valid_e164_numbers_are_accepted_with_plus_or_00(number: str) -> None:
    assert is_valid_mobile_number(number)
    assert is_valid_mobile_number("00" + number[1:])


@given(valid_numbers())
def test_a_number_without_international_prefix_is_refused(number: str) -> None:
    assert not is_valid_mobile_number(number[1:])
    assert not is_valid_mobile_number("+" + number)  # "++..."


@given(st.text(max_size=40))
def test_the_phone_rule_never_raises_and_agrees_on_both_prefixes(value: str) -> None:
    assert is_valid_mobile_number(value) in (True, False)
    if value.startswith("+") and not value.startswith("++"):
        assert is_valid_mobile_number(value) == is_valid_mobile_number("00" + value[1:])


@given(st.text(max_size=15))
def test_a_nin_is_valid_exactly_when_it_is_eleven_ascii_digits(nin: str) -> None:
    errors = recipient_errors({"nationalIdentityNumber": nin}, "Sms")
    is_nin = len(nin) == 11 and all("0" <= char <= "9" for char in nin)

    assert (MSG_INVALID_NIN in errors.get("nationalIdentityNumber", [])) == (bool(nin) and not is_nin)


@given(
    st.dictionaries(
        st.sampled_from(
            ["emailAddress", "mobileNumber", "nationalIdentityNumber", "organizationNumber", "x"]
        ),
        st.one_of(st.none(), st.text(max_size=20), st.integers(), st.booleans()),
    ),
    st.one_of(
        st.none(), st.sampled_from(["Email", "Sms", "EmailPreferred", "SmsPreferred", "EmailAndSms", "?"])
    ),
)
def test_recipient_rules_never_raise_on_any_input(recipient: dict[str, object], channel: str | None) -> None:
    assert isinstance(recipient_errors(recipient, channel), dict)
