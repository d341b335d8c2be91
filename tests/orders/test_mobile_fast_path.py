"""The fast path of the mobile number rule agrees with libphonenumber on every number it decides."""

from __future__ import annotations

import random
from collections.abc import Iterator

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders import validation
from orders.validation import _FAST_MOBILE, is_valid_mobile_number


def _libphonenumber(value: str) -> bool:
    """The rule without the fast path: exactly what is_valid_mobile_number did before it."""
    if not value or value.startswith("++") or not value.startswith(("+", "00")):
        return False
    candidate = "+" + value[2:] if value.startswith("00") else value
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def _generated() -> Iterator[str]:
    """Every four-digit start of a Norwegian national number (Norway's patterns decide on at most the
    first four digits) with two endings, in both international spellings; one digit short and one too
    many for every three-digit start; and numbers of the neighbouring country codes."""
    rng = random.Random(47)

    def digits(count: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(count))

    for prefix in range(10_000):
        for _ in range(2):
            yield f"+47{prefix:04d}{digits(4)}"
        yield f"0047{prefix:04d}{digits(4)}"
    for prefix in range(1_000):
        yield f"+47{prefix:03d}{digits(4)}"
        yield f"+47{prefix:03d}{digits(6)}"
    for country in ("4", "46", "45", "470", "471", "474", "479", "358", "1", "44"):
        for _ in range(50):
            yield f"+{country}{digits(rng.randint(6, 12))}"


EDGE_CASES = [
    "+4799999999",
    "004799999999",
    "+47 99999999",  # spaces: not the fast path's form, libphonenumber accepts it
    "+47 999 99 999",
    "+47-99999999",
    "+4799999999 ",
    " +4799999999",
    "+4799999999\n",
    "+479999999",  # 7 digits
    "+47999999999",  # 9 digits
    "++4799999999",
    "+ 4799999999",
    "4799999999",  # no + or 00
    "99999999",
    "0004799999999",
    "+4799999999x",
    "+4799999999;ext=1",
    "+47９９９９９９９９",  # full-width digits: not ASCII, so libphonenumber decides
    "+47٩٩٩٩٩٩٩٩",  # Arabic-Indic digits
    "+4742000000",  # 42: no mobile range
    "+4745300000",  # 453: outside 45's mobile ranges
    "+4745400000",
    "+4759000000",
    "+4740000000",
    "+4790000000",
    "+4780000000",  # not a mobile (freephone)
    "+4722000000",  # landline
    "+4701234",
    "+47",
    "+",
    "00",
]


def test_the_fast_path_only_accepts_numbers_libphonenumber_accepts() -> None:
    fast = 0
    for index, number in enumerate(_generated()):
        if _FAST_MOBILE.fullmatch(number):
            fast += 1
            assert _libphonenumber(number), number
        elif index % 7 == 0:
            # Anything else is libphonenumber's to decide; a sample shows the rule still gives its answer.
            assert is_valid_mobile_number(number) == _libphonenumber(number), number
    # The generated set exercises the fast path broadly (Norway's mobile ranges), not only the fallback.
    assert fast > 4_000


@pytest.mark.parametrize("number", EDGE_CASES)
def test_edge_cases_agree_with_libphonenumber(number: str) -> None:
    assert is_valid_mobile_number(number) == _libphonenumber(number)


def test_the_fast_path_is_taken_for_plain_norwegian_mobiles() -> None:
    assert _FAST_MOBILE.fullmatch("+4799999999")
    assert _FAST_MOBILE.fullmatch("004741234567")
    assert not _FAST_MOBILE.fullmatch("+47 99999999")
    assert not _FAST_MOBILE.fullmatch("+47９９９９９９９９")


@given(
    st.one_of(
        st.text(alphabet="+0123456789 -()x٩９", max_size=16),
        st.text(alphabet="0123456789 -٩９", max_size=12).map(lambda tail: "+47" + tail),
    )
)
def test_any_text_of_number_characters_agrees(text: str) -> None:
    assert validation.is_valid_mobile_number(text) == _libphonenumber(text)
