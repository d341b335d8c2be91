from __future__ import annotations

import pytest

from templates.sms import SmsEncoding, sms_length, sms_part_count


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("", SmsEncoding.GSM7, 0, 1),
        ("Hello", SmsEncoding.GSM7, 5, 1),
        ("a" * 160, SmsEncoding.GSM7, 160, 1),
        ("a" * 161, SmsEncoding.GSM7, 161, 2),
        ("a" * 306, SmsEncoding.GSM7, 306, 2),
        ("a" * 307, SmsEncoding.GSM7, 307, 3),
        ("Blåbærsyltetøy på Æsøy og Ålesund", SmsEncoding.GSM7, 33, 1),
        ("€" * 80, SmsEncoding.GSM7, 160, 1),
        ("€" * 81, SmsEncoding.GSM7, 162, 2),
        ("ä" * 70, SmsEncoding.GSM7, 70, 1),
        ("Привет", SmsEncoding.UCS2, 6, 1),
        ("ł" * 70, SmsEncoding.UCS2, 70, 1),
        ("ł" * 71, SmsEncoding.UCS2, 71, 2),
        ("ł" * 134, SmsEncoding.UCS2, 134, 2),
        ("ł" * 135, SmsEncoding.UCS2, 135, 3),
        ("Hei 👋", SmsEncoding.UCS2, 6, 1),
    ],
)
def test_sms_length_counts_encoding_units_and_parts(text, encoding, units, parts):
    length = sms_length(text)

    assert (length.encoding, length.units, length.parts) == (encoding, units, parts)


def test_one_non_gsm_character_makes_the_whole_text_ucs2():
    text = "a" * 100 + "ł"

    assert sms_length(text).encoding is SmsEncoding.UCS2
    assert sms_part_count(text) == 2  # 101 units > 70, so 67 per part


def test_an_extension_character_is_not_split_across_two_parts():
    # 152 plain septets then "€" (2 septets) fill the first part's 153 only with a split: it moves whole.
    text = "a" * 152 + "€" + "a" * 152

    assert sms_length(text).units == 306
    assert sms_part_count(text) == 3


def test_a_surrogate_pair_is_not_split_across_two_parts():
    text = "ł" * 66 + "😀" + "ł" * 66

    assert sms_length(text).units == 134
    assert sms_part_count(text) == 3


@pytest.mark.parametrize("char", ["æ", "ø", "å", "Æ", "Ø", "Å"])
def test_norwegian_letters_are_gsm7(char):
    assert sms_length(char * 160).encoding is SmsEncoding.GSM7
    assert sms_part_count(char * 160) == 1


def test_escape_character_itself_is_not_gsm7_text():
    assert sms_length("\x1b").encoding is SmsEncoding.UCS2
