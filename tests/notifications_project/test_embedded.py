"""manage.py reaches the servers of a running embedded default."""

from __future__ import annotations

import json

from notifications_project.embedded import adopt_running_env


def test_commands_adopt_the_running_embedded_servers(tmp_path, monkeypatch) -> None:
    (tmp_path / "running.env.json").write_text(
        json.dumps({"DATABASE_URL": "postgres://postgres@127.0.0.1:5999/notifications", "DEBUG": "true"})
    )
    monkeypatch.setenv("NOTIFICATIONS_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DEBUG", "false")

    adopt_running_env()

    import os

    assert os.environ["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5999/notifications"
    assert os.environ["DEBUG"] == "false"  # what the caller set wins


def test_an_explicit_database_url_is_never_replaced(tmp_path, monkeypatch) -> None:
    (tmp_path / "running.env.json").write_text(json.dumps({"CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}))
    monkeypatch.setenv("NOTIFICATIONS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgres://elsewhere/db")
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)

    adopt_running_env()

    import os

    assert "CELERY_BROKER_URL" not in os.environ


def test_nothing_happens_without_a_running_embedded_default(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFICATIONS_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)

    adopt_running_env()

    import os

    assert "DATABASE_URL" not in os.environ
