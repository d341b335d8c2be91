from __future__ import annotations

import pytest

from orders.registry.normalise import (
    registry_email_address,
    registry_mobile_number,
    unique_email_addresses,
    unique_mobile_numbers,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The reference's examples: 8 digits starting with 4 or 9 are Norwegian mobiles.
        ("99315000", "+4799315000"),
        ("40000001", "+4740000001"),
        # ...other 8-digit numbers and short numbers are left as they are, and then fail validation.
        ("81549300", None),
        ("4123", None),
        ("12345678", None),
        # 00 is the international prefix.
        ("004799315000", "+4799315000"),
        ("00233242426224", "+233242426224"),
        ("+4799315000", "+4799315000"),
        ("+233242426224", "+233242426224"),
        # Invalid for libphonenumber: dropped.
        ("+4750000004", None),
        ("+47900000001", None),
        ("++4740000000", None),
        ("dasdsadSASA", None),
        ("", None),
        ("   ", None),
        (None, None),
        # Whitespace is ignored and the result is E.164.
        ("+47 993 15 000", "+4799315000"),
        (" 993 15 000 ", "+4799315000"),
        ("0047 40 00 00 00", "+4740000000"),
    ],
)
def test_registry_mobile_number_follows_the_reference_rule(raw: str | None, expected: str | None) -> None:
    assert registry_mobile_number(raw) == expected


def test_registry_email_address_is_trimmed_and_empty_is_none() -> None:
    assert registry_email_address("  a@example.com ") == "a@example.com"
    assert registry_email_address("  ") is None
    assert registry_email_address(None) is None


def test_unique_mobile_numbers_collapses_spellings_of_one_number_and_drops_invalid_ones() -> None:
    numbers = ["99315000", "+4799315000", "004799315000", "123", "+4740000001"]

    assert unique_mobile_numbers(numbers) == ("+4799315000", "+4740000001")


def test_unique_email_addresses_ignores_case_and_keeps_the_first_spelling_in_order() -> None:
    addresses = ["Post@Demo.no", "post@demo.no", "", "faktura@demo.no", " POST@DEMO.NO "]

    assert unique_email_addresses(addresses) == ("Post@Demo.no", "faktura@demo.no")
