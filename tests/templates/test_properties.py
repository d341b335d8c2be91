"""Properties of keyword substitution and SMS part counting, checked on generated texts (hypothesis)."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from templates.services import (
    RECIPIENT_NAME,
    RECIPIENT_NUMBER,
    KeywordValues,
    keywords_present,
    keywords_render,
)
from templates.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    GSM7_PART_SEPTETS,
    GSM7_SINGLE_SEPTETS,
    UCS2_PART_UNITS,
    UCS2_SINGLE_UNITS,
    SmsEncoding,
    sms_length,
)

# Literal text around keywords: anything that does not itself spell the start of a keyword.
literals = st.text(max_size=40).filter(lambda text: "$recipient" not in text and not text.endswith("$"))
keywords = st.sampled_from([RECIPIENT_NAME, RECIPIENT_NUMBER])
values = st.builds(KeywordValues, name=st.text(max_size=30), number=st.text(max_size=12))
gsm_text = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=700)
# Mostly GSM-7 with now and then a character outside it: Norwegian, Cyrillic, emoji (a surrogate pair in
# UTF-16). Lone surrogates are not text: the API refuses them before anything is counted.
unicode_chars = st.characters(codec="utf-8")
any_text = st.text(
    alphabet=st.one_of(st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)), unicode_chars), max_size=700
)


@st.composite
def templates_with_keywords(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """A template as alternating literals and keywords: (literals, keywords), one more literal."""
    used = draw(st.lists(keywords, max_size=6))
    parts = draw(st.lists(literals, min_size=len(used) + 1, max_size=len(used) + 1))
    return parts, used


def _join(parts: list[str], between: list[str]) -> str:
    return parts[0] + "".join(keyword + part for keyword, part in zip(between, parts[1:], strict=True))


@given(templates_with_keywords(), values)
def test_every_keyword_becomes_its_value_and_nothing_else_changes(template, keyword_values) -> None:
    parts, used = template
    expected = [keyword_values.name if k == RECIPIENT_NAME else keyword_values.number for k in used]

    assert keywords_render(_join(parts, used), keyword_values) == _join(parts, expected)


@given(templates_with_keywords(), st.text(max_size=30))
def test_a_value_that_spells_a_keyword_is_not_substituted_again(template, name) -> None:
    parts, used = template
    rendered = keywords_render(_join(parts, used), KeywordValues(name=RECIPIENT_NUMBER + name, number="X"))

    assert rendered == _join(parts, [RECIPIENT_NUMBER + name if k == RECIPIENT_NAME else "X" for k in used])


@given(st.text(max_size=200), st.one_of(st.none(), values))
def test_text_without_keywords_and_recipients_without_identity_are_left_as_written(
    text, keyword_values
) -> None:
    if keyword_values is None or not keywords_present(text):
        assert keywords_render(text, keyword_values) == text


@given(templates_with_keywords(), values)
def test_html_bodies_get_escaped_values_and_an_untouched_template(template, keyword_values) -> None:
    parts, used = template
    expected = [
        html.escape(keyword_values.name if k == RECIPIENT_NAME else keyword_values.number) for k in used
    ]

    assert keywords_render(_join(parts, used), keyword_values, html_escape=True) == _join(parts, expected)


@given(templates_with_keywords(), st.text(max_size=30))
def test_a_person_never_gets_a_number_written_into_the_message(template, name) -> None:
    parts, used = template
    rendered = keywords_render(_join(parts, used), KeywordValues.for_person(name=name))

    assert rendered == _join(parts, [name if k == RECIPIENT_NAME else "" for k in used])


def _oracle_parts(text: str) -> tuple[SmsEncoding, int, int]:
    """Encoding, units and parts the slow way: each character's size, parts filled greedily."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        sizes = [2 if char in GSM7_EXTENSION else 1 for char in text]
        encoding, single, per_part = SmsEncoding.GSM7, GSM7_SINGLE_SEPTETS, GSM7_PART_SEPTETS
    else:
        sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]
        encoding, single, per_part = SmsEncoding.UCS2, UCS2_SINGLE_UNITS, UCS2_PART_UNITS
    units = sum(sizes)
    if units <= single:
        return encoding, units, 1
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:  # a two-unit character is never split over two parts
            parts, used = parts + 1, 0
        used += size
    return encoding, units, parts


@given(st.one_of(gsm_text, any_text))
def test_part_count_agrees_with_a_character_by_character_split(text) -> None:
    length = sms_length(text)

    assert (length.encoding, length.units, length.parts) == _oracle_parts(text)


@given(st.one_of(gsm_text, any_text))
def test_a_text_is_one_part_exactly_when_it_fits_a_single_message(text) -> None:
    length = sms_length(text)
    single = GSM7_SINGLE_SEPTETS if length.encoding is SmsEncoding.GSM7 else UCS2_SINGLE_UNITS

    assert length.parts >= 1
    assert (length.parts == 1) == (length.units <= single)


@given(gsm_text, st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)))
def test_a_longer_gsm_text_never_needs_fewer_parts(text, char) -> None:
    assert sms_length(text + char).parts >= sms_length(text).parts


@given(gsm_text, unicode_chars.filter(lambda c: c not in GSM7_BASIC and c not in GSM7_EXTENSION))
def test_one_character_outside_gsm7_makes_the_whole_text_ucs2(text, char) -> None:
    length = sms_length(text + char)

    assert length.encoding is SmsEncoding.UCS2
    assert length.units == len((text + char).encode("utf-16-le")) // 2
