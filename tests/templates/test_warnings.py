"""Content warnings about an order's texts: what each check says, and that it stays quiet otherwise."""

from __future__ import annotations

from templates.warnings import (
    KEYWORD_NOT_SUBSTITUTED,
    SMS_LINK,
    SMS_MANY_PARTS,
    SMS_UNICODE,
    KeywordRecipients,
    keyword_warnings,
    sms_warnings,
)


def test_a_plain_gsm7_text_has_no_warnings() -> None:
    assert sms_warnings("Hei Åse, fristen er 1. mai. Hilsen Skatteetaten", field="body") == []


def test_characters_outside_gsm7_are_named_with_the_parts_they_cost(settings) -> None:
    text = "Fristen er i morgen’ " + "x" * 140  # 161 characters: the curly apostrophe makes it UCS-2

    [warning] = sms_warnings(text, field="smsTemplate.body")

    assert warning.code == SMS_UNICODE
    assert warning.field == "smsTemplate.body"
    assert "1 character(s) outside GSM-7 (’)" in warning.message
    assert "3 part(s) instead of 2 without them" in warning.message


def test_invisible_characters_are_named_by_code_point() -> None:
    [warning] = sms_warnings("Hei\u00a0du", field="body")

    assert "(U+00A0)" in warning.message


def test_only_the_first_ten_distinct_characters_are_listed() -> None:
    [warning] = sms_warnings("αβγδεζηθικλμ", field="body")  # Δ Θ Λ ... are GSM-7, these lower-case are not

    assert warning.message.startswith("12 character(s)")
    assert "and 2 more" in warning.message


def test_more_parts_than_the_setting_is_a_warning_and_zero_turns_it_off(settings) -> None:
    settings.NOTIFICATIONS_SMS_WARN_PARTS = 2
    text = "a" * 400  # 3 parts of 153

    [warning] = sms_warnings(text, field="body")
    assert warning.code == SMS_MANY_PARTS
    assert "3 parts, more than 2" in warning.message

    settings.NOTIFICATIONS_SMS_WARN_PARTS = 0
    assert sms_warnings(text, field="body") == []


def test_links_are_found_with_or_without_a_scheme() -> None:
    for text in ("Logg inn på https://www.altinn.no/", "Se www.skatteetaten.no for mer"):
        [warning] = sms_warnings(text, field="body")
        assert warning.code == SMS_LINK
    assert sms_warnings("Svar JA til 2222", field="body") == []


def test_keywords_left_as_written_for_address_only_recipients() -> None:
    texts = {"emailTemplate.subject": "Til $recipientName$", "emailTemplate.body": "Hei"}

    [warning] = keyword_warnings(texts, KeywordRecipients(without_identity=3))

    assert warning.code == KEYWORD_NOT_SUBSTITUTED
    assert warning.field == "emailTemplate.subject"
    assert warning.message == "$recipientName$ stays as written for 3 recipient(s) given only by an address."


def test_keywords_that_become_empty_are_told_apart() -> None:
    texts = {"body": "$recipientName$ ($recipientNumber$)"}

    warnings = keyword_warnings(texts, KeywordRecipients(without_name=1, persons=2))

    assert [w.message for w in warnings] == [
        "$recipientName$ becomes empty for 1 recipient(s) without a name.",
        "$recipientNumber$ becomes empty for 2 person(s).",
    ]


def test_keywords_every_recipient_gets_filled_in_are_no_warning() -> None:
    assert keyword_warnings({"body": "Hei $recipientName$"}, KeywordRecipients()) == []
    assert keyword_warnings({"body": "Hei"}, KeywordRecipients(without_identity=5)) == []
