"""The production settings with one more URL, a view that fails, for the error page tests of the server."""

from __future__ import annotations

from notifications_project.settings import *  # noqa: F403

ROOT_URLCONF = "tests.notifications_project.serving_urls"
