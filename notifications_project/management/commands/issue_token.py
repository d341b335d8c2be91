"""Mint a development token for a service owner: `manage.py issue_token --org ttd`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from notifications_project.tokens import mint_token


class Command(BaseCommand):
    help = "Print a JWT signed with the development key (bearer token by default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--org", default="ttd", help="The creator (urn:altinn:org, or iss with --platform)."
        )
        parser.add_argument(
            "--scope",
            action="append",
            help=f"A scope to grant (repeatable); default {settings.NOTIFICATIONS_CREATE_SCOPE}.",
        )
        parser.add_argument("--platform", action="store_true", help="Mint a PlatformAccessToken instead.")
        parser.add_argument("--expires", type=int, default=3600, help="Lifetime in seconds (default 3600).")

    def handle(self, *args: Any, **options: Any) -> None:
        token = mint_token(
            org=options["org"] or None,
            scopes=options["scope"],
            platform=options["platform"],
            expires_in=options["expires"],
        )
        self.stdout.write(token)
