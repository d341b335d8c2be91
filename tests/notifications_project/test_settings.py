"""Production settings: secrets required, deploy checks clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "notifications_project.settings"
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=clean, capture_output=True, text=True, cwd=ROOT
    )


def test_startup_fails_clearly_without_secret_key_when_debug_is_off() -> None:
    result = _manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_deploy_checks_are_clean_with_production_settings() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="x" * 30 + "production-like-secret-key-with-enough-entropy-0123456789",
        ALLOWED_HOSTS="notifications.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_startup_fails_clearly_without_allowed_hosts_when_debug_is_off() -> None:
    """Else every request but /health would be a bare 400 while the instance looked healthy."""
    result = _manage("check", DEBUG="false", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "notifications.E003" in result.stderr
    assert "ALLOWED_HOSTS is empty" in result.stderr
