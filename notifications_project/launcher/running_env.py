"""How ``manage.py`` reaches the servers of a running ``make run`` (their ports change per start)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from notifications_project.launcher import BASE_DIR

# What `manage.py` needs to reach the servers of a running `make run`.
SHARED_ENV_KEYS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DEBUG",
    "PORT",
    "SECRET_KEY",
    "NOTIFICATIONS_VAR_DIR",
    "NOTIFICATIONS_SMS_SEND_WINDOW",
    "NOTIFICATIONS_JWKS_FILE",
    "NOTIFICATIONS_JWT_SIGNING_KEY_FILE",
    "NOTIFICATIONS_PLATFORM_JWKS_FILE",
    "NOTIFICATIONS_PLATFORM_SIGNING_KEY_FILE",
    "NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS",
)


def share_env(var_dir: Path, env: dict[str, str]) -> Path:
    """Write the variables of the running embedded default where ``adopt_running_env`` finds them."""
    path = var_dir / "running.env.json"
    path.write_text(json.dumps({key: env[key] for key in SHARED_ENV_KEYS if key in env}))
    path.chmod(0o600)
    return path


def adopt_running_env() -> None:
    """Let `manage.py` commands run against a running `make run` without any setup.

    Only when no DATABASE_URL is set: then the variables of the running embedded default (its private
    PostgreSQL and Redis, dev keys) are taken over, each only where the environment does not set it.
    """
    if os.environ.get("DATABASE_URL"):
        return
    path = Path(os.environ.get("NOTIFICATIONS_VAR_DIR", BASE_DIR / "var")) / "running.env.json"
    try:
        shared = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    for key, value in shared.items():
        os.environ.setdefault(key, value)
