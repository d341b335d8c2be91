"""Create (or reset) the demo staff user of the embedded default."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Create or update a superuser with the given username and password."

    def add_arguments(self, parser: CommandParser) -> None:
        # Not ``required=True``: call_command hands a required option to argparse as a separate word, and
        # a generated password that starts with "-" (one in 64) was then read as an option, which stopped
        # the embedded default's start for good (the password is kept). Checked in handle() instead.
        parser.add_argument("--username")
        parser.add_argument("--password")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("username", "password"):
            if not options[name]:
                raise CommandError(f"--{name} is required.")
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=options["username"])
        user.is_staff = True
        user.is_superuser = True
        user.set_password(options["password"])
        user.save()
