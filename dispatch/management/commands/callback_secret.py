"""Show or rotate a creator's status callback signing secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from dispatch.services.callback_secrets import (
    callback_secret_get_or_create,
    callback_secret_rotate,
    callback_signing_secrets,
)


class Command(BaseCommand):
    help = (
        "Print the secret that signs a creator's status callbacks (created on first use); with --rotate, "
        "start signing with a new one while the previous one co-signs for "
        "NOTIFICATIONS_CALLBACK_SECRET_GRACE_HOURS. The secret alone goes to stdout, details to stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--creator", required=True, help="The creator (organisation code, e.g. ttd).")
        parser.add_argument("--rotate", action="store_true", help="Create a new secret and sign with it.")

    def handle(self, *args: Any, **options: Any) -> None:
        creator: str = options["creator"]
        if options["rotate"]:
            secret = callback_secret_rotate(creator=creator)
            grace = timedelta(hours=settings.NOTIFICATIONS_CALLBACK_SECRET_GRACE_HOURS)
            signing = callback_signing_secrets(creators=[creator])[creator]
            note = (
                f"the previous secret also signs until {(secret.created_at + grace).isoformat()}"
                if len(signing) > 1
                else "there was no previous secret"
            )
            self.stderr.write(f"Rotated the callback secret of {creator}; {note}.")
        else:
            secret = callback_secret_get_or_create(creator=creator)
            self.stderr.write(f"Callback secret of {creator}, created {secret.created_at.isoformat()}:")
        self.stdout.write(secret.secret)
