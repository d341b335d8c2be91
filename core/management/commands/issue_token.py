"""Mint a development token: `manage.py issue_token --org ttd` (bearer) or `--platform` (platform token)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.tokens import mint_token


class Command(BaseCommand):
    help = (
        "Print a development JWT: a bearer token signed with the identity provider's development key, or "
        "with --platform a platform access token signed with the platform's development key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--org", default="ttd", help="The creator (urn:altinn:org, or iss with --platform)."
        )
        parser.add_argument(
            "--scope",
            action="append",
            help=f"A scope to grant (repeatable, bearer); default {settings.NOTIFICATIONS_CREATE_SCOPE}.",
        )
        parser.add_argument(
            "--platform",
            action="store_true",
            help="Mint a PlatformAccessToken (iss = --org, signed with the platform key) instead.",
        )
        parser.add_argument(
            "--app",
            help="The app named in urn:altinn:app (with --platform); default <org>/notifications-dev.",
        )
        parser.add_argument("--expires", type=int, default=3600, help="Lifetime in seconds (default 3600).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["platform"] and options["scope"]:
            raise CommandError("--scope applies to bearer tokens; a platform access token carries no scope.")
        if options["app"] and not options["platform"]:
            raise CommandError("--app applies to platform access tokens (--platform) only.")
        token = mint_token(
            org=options["org"] or None,
            scopes=options["scope"],
            platform=options["platform"],
            app=options["app"],
            expires_in=options["expires"],
        )
        self.stdout.write(token)
