from __future__ import annotations

import pytest

from templates.services import KeywordValues, keywords_present, keywords_render

TEMPLATE = "Hei $recipientName$ ($recipientNumber$)!"


def test_organization_keywords_become_name_and_organization_number():
    values = KeywordValues.for_organization(organization_number="311000001", name="Testbedrift AS")

    assert keywords_render(TEMPLATE, values) == "Hei Testbedrift AS (311000001)!"


def test_person_number_keyword_is_empty_so_no_national_identity_number_is_written():
    values = KeywordValues.for_person(name="Ola Nordmann")

    assert keywords_render(TEMPLATE, values) == "Hei Ola Nordmann ()!"


def test_keywords_stay_verbatim_for_a_recipient_without_identity():
    assert keywords_render(TEMPLATE, None) == TEMPLATE


def test_a_missing_name_becomes_empty():
    assert keywords_render("[$recipientName$]", KeywordValues.for_person(name=None)) == "[]"


def test_keywords_are_case_sensitive():
    text = "Hei $RecipientName$ $recipientname$"

    assert keywords_render(text, KeywordValues.for_person(name="Kari")) == text
    assert not keywords_present(text)


def test_every_occurrence_is_replaced():
    values = KeywordValues.for_person(name="Kari")

    assert keywords_render("$recipientName$ $recipientName$", values) == "Kari Kari"


def test_a_name_containing_a_keyword_is_not_substituted_again():
    values = KeywordValues.for_organization(organization_number="311000001", name="$recipientNumber$ AS")

    assert keywords_render("$recipientName$", values) == "$recipientNumber$ AS"


def test_html_escaping_applies_to_substituted_values_only():
    values = KeywordValues.for_organization(organization_number="311000001", name="A & B <AS>")

    rendered = keywords_render("<p>$recipientName$</p>", values, html_escape=True)

    assert rendered == "<p>A &amp; B &lt;AS&gt;</p>"


@pytest.mark.parametrize(
    ("text", "present"),
    [("$recipientName$", True), ("x $recipientNumber$ y", True), ("$recipient$", False), ("", False)],
)
def test_keywords_present(text, present):
    assert keywords_present(text) is present
