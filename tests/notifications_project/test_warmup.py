"""The web entry point loads the URL configuration, the views and the broker's transport before the first
request."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

_PROBE = """
import json, sys
import notifications_project.asgi
from django.urls import get_resolver
resolver = get_resolver()
print(json.dumps({
    "urlconf": "urlconf_module" in vars(resolver),
    "populated": resolver._populated,
    "views": [name for name in ("orders.api.views", "orders.api.decoder", "core.views")
              if name in sys.modules],
    "broker transport": "kombu.transport.redis" in sys.modules,
}))
"""


def test_importing_the_web_application_warms_the_url_configuration(tmp_path) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "notifications_project.settings_test"}
    env["NOTIFICATIONS_JWKS_FILE"] = str(settings.NOTIFICATIONS_JWKS_FILE)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120, check=True
    )

    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe == {
        "urlconf": True,
        "populated": True,
        "views": ["orders.api.views", "orders.api.decoder", "core.views"],
        "broker transport": True,
    }
