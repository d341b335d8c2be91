"""Channel plans of an organization with permitted contact persons (orders with a resourceId)."""

from __future__ import annotations

import pytest

from dispatch.services.generation import (
    EMAIL,
    SMS,
    ChannelPlan,
    RecipientRow,
    ResolvedRecipient,
    channel_plan,
)

ROW = RecipientRow(0, None, None, "311000179", None, None)
BOTH = frozenset({EMAIL, SMS})


def organization(emails=(), mobiles=(), persons=()) -> ResolvedRecipient:
    return ResolvedRecipient(ROW, tuple(emails), tuple(mobiles), False, "Org", None, tuple(persons))


def test_fixed_channels_add_every_persons_address_of_the_kind_once() -> None:
    recipient = organization(
        ["post@o.no"], ["+4791000000"], [("ida@o.no", "+4791000001"), ("post@o.no", None)]
    )
    assert channel_plan(recipient, "Email", available=BOTH) == [ChannelPlan(EMAIL, ("post@o.no", "ida@o.no"))]
    assert channel_plan(recipient, "EmailAndSms", available=BOTH) == [
        ChannelPlan(EMAIL, ("post@o.no", "ida@o.no")),
        ChannelPlan(SMS, ("+4791000000", "+4791000001")),
    ]


def test_a_person_without_an_address_of_the_kind_adds_nothing_and_no_address_at_all_fails() -> None:
    recipient = organization(persons=[(None, "+4791000001")])
    assert channel_plan(recipient, "Email", available=BOTH) == [ChannelPlan(EMAIL, failure="not_identified")]


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        (
            "SmsPreferred",
            # The organization's own list prefers SMS; Ida prefers SMS; Kari has only an email.
            [ChannelPlan(SMS, ("+4791000000", "+4791000001")), ChannelPlan(EMAIL, ("kari@o.no",))],
        ),
        (
            "EmailPreferred",
            [ChannelPlan(EMAIL, ("post@o.no", "ida@o.no", "kari@o.no"))],
        ),
    ],
)
def test_preferred_channels_are_decided_for_each_person(channel: str, expected: list[ChannelPlan]) -> None:
    recipient = organization(
        ["post@o.no"], ["+4791000000"], [("ida@o.no", "+4791000001"), ("kari@o.no", None)]
    )
    assert channel_plan(recipient, channel, available=BOTH) == expected


def test_a_preferred_channel_without_the_other_template_keeps_to_the_one_available() -> None:
    recipient = organization(["post@o.no"], [], [(None, "+4791000001")])
    assert channel_plan(recipient, "EmailPreferred", available=frozenset({EMAIL})) == [
        ChannelPlan(EMAIL, ("post@o.no",))
    ]


def test_an_unknown_channel_is_an_error() -> None:
    with pytest.raises(ValueError, match="Fax"):
        channel_plan(organization(persons=[("a@o.no", None)]), "Fax", available=BOTH)
