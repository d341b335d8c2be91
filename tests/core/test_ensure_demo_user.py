"""The embedded default's demo staff user: any generated password works, however it begins."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("password", ["-starts-with-a-dash", "--looks-like-an-option", "a=b c", "plain"])
def test_the_demo_user_gets_any_password_as_the_launcher_passes_it(password):
    # As notifications_project/launcher/prepare.py calls it (options by keyword), then again: a reset.
    call_command("ensure_demo_user", username="-demo", password="first")
    call_command("ensure_demo_user", username="-demo", password=password)

    user = get_user_model().objects.get(username="-demo")
    assert user.check_password(password)
    assert (user.is_staff, user.is_superuser) == (True, True)


def test_from_the_command_line_both_options_are_still_needed():
    call_command("ensure_demo_user", "--username=demo", "--password=-dash")
    assert get_user_model().objects.get(username="demo").check_password("-dash")

    with pytest.raises(CommandError, match="--password is required"):
        call_command("ensure_demo_user", "--username=demo")
    with pytest.raises(CommandError, match="--username is required"):
        call_command("ensure_demo_user", password="x")
