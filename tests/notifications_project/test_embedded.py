"""The embedded default: manage.py reaches its servers; its launcher restarts what crashes."""

from __future__ import annotations

import json
import os

from notifications_project.launcher.running_env import adopt_running_env


def test_commands_adopt_the_running_embedded_servers(tmp_path, monkeypatch) -> None:
    (tmp_path / "running.env.json").write_text(
        json.dumps({"DATABASE_URL": "postgres://postgres@127.0.0.1:5999/notifications", "DEBUG": "true"})
    )
    monkeypatch.setenv("NOTIFICATIONS_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DEBUG", "false")

    adopt_running_env()

    assert os.environ["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5999/notifications"
    assert os.environ["DEBUG"] == "false"  # what the caller set wins


def test_an_explicit_database_url_is_never_replaced(tmp_path, monkeypatch) -> None:
    (tmp_path / "running.env.json").write_text(json.dumps({"CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}))
    monkeypatch.setenv("NOTIFICATIONS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgres://elsewhere/db")
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)

    adopt_running_env()

    assert "CELERY_BROKER_URL" not in os.environ


def test_nothing_happens_without_a_running_embedded_default(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFICATIONS_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)

    adopt_running_env()

    assert "DATABASE_URL" not in os.environ


# --- the launcher's supervisor ----------------------------------------------------------------------

SUPERVISOR = """
import json, os, sys
from notifications_project.launcher.processes import RestartBackoff, supervise
backoff = lambda: RestartBackoff(first=0.2, most=1.0, stable_after=60.0)
sys.exit(supervise(json.loads(sys.argv[1]), env=dict(os.environ), backoff=backoff, poll_seconds=0.05))
"""
# Each supervised command appends its pid to a file, then waits to be stopped.
CHILD = "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); time.sleep(600)"


def _pids(path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_crashed_process_is_restarted_and_the_others_are_left_alone(tmp_path) -> None:
    import signal
    import subprocess
    import sys

    from tests.faults.support import wait_for

    files = {name: tmp_path / f"{name}.pids" for name in ("worker", "beat")}
    commands = {name: [sys.executable, "-c", CHILD, str(path)] for name, path in files.items()}
    log = tmp_path / "supervisor.log"
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR, json.dumps(commands)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for("both processes", lambda: all(_pids(path) for path in files.values()), timeout=15)
        (worker,), (beat,) = _pids(files["worker"]), _pids(files["beat"])

        os.kill(worker, signal.SIGKILL)
        wait_for("the worker's restart", lambda: len(_pids(files["worker"])) == 2, timeout=15)
        os.kill(_pids(files["worker"])[-1], signal.SIGKILL)
        wait_for("the second restart", lambda: len(_pids(files["worker"])) == 3, timeout=15)

        assert _pids(files["beat"]) == [beat]
        assert _alive(beat)
        output = log.read_text()
        assert "worker exited with -9; restarting in 0.2s (restart 1)" in output
        # Backing off: a process that keeps crashing waits longer each time.
        assert "worker exited with -9; restarting in 0.4s (restart 2)" in output

        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(20) == 0
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    survivors = [pid for path in files.values() for pid in _pids(path) if _alive(pid)]
    assert survivors == []
    assert "stopped worker, beat" in log.read_text()


def test_restarts_back_off_up_to_the_most_and_start_over_after_a_stable_run() -> None:
    from notifications_project.launcher.processes import RestartBackoff

    backoff = RestartBackoff(first=1, most=30, stable_after=60)

    delays = [backoff.delay(ran_for=0.5) for _ in range(7)]
    after_stable_run = backoff.delay(ran_for=61)

    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert after_stable_run == 1
    assert backoff.delay(ran_for=0.5) == 2


def test_no_demo_token_is_minted_with_the_operators_own_key_set(tmp_path) -> None:
    """With NOTIFICATIONS_JWKS_FILE set and no development key, start-up used to crash in issue_token."""
    from notifications_project.launcher.run import can_mint_tokens
    from notifications_project.launcher.run import token_lines as _token_lines

    env = {**os.environ, "NOTIFICATIONS_JWKS_FILE": str(tmp_path / "operator-jwks.json")}
    env.pop("NOTIFICATIONS_JWT_SIGNING_KEY_FILE", None)

    assert can_mint_tokens(env) is False
    # A signing key named but absent (a var/ copied without its keys) mints nothing either.
    assert can_mint_tokens({**env, "NOTIFICATIONS_JWT_SIGNING_KEY_FILE": str(tmp_path / "gone.pem")}) is False
    lines = _token_lines(None, "http://localhost:8000", env)
    assert "identity provider" in lines
    assert str(tmp_path / "operator-jwks.json") in lines


def test_the_demo_token_is_minted_when_the_development_key_exists(tmp_path) -> None:
    """The token itself is used end to end by the embedded default's start test (it posts an order)."""
    from core.tokens import ensure_dev_keys
    from notifications_project.launcher.run import can_mint_tokens

    ensure_dev_keys(tmp_path / "jwks.json", tmp_path / "dev.pem")
    env = {"NOTIFICATIONS_JWKS_FILE": str(tmp_path / "jwks.json")}

    assert can_mint_tokens({**env, "NOTIFICATIONS_JWT_SIGNING_KEY_FILE": str(tmp_path / "dev.pem")}) is True


def test_the_smpp_receiver_runs_when_smpp_is_the_default_of_production_settings(tmp_path) -> None:
    """With DEBUG off SMPP is the SMS provider unless one is named: its receipts need the receiver."""
    from notifications_project.launcher.processes import service_commands

    def names(**env: str) -> set[str]:
        return set(
            service_commands({"NOTIFICATIONS_VAR_DIR": str(tmp_path), **env}, host="127.0.0.1", port="1")
        )

    assert "smpp-receiver" in names(DEBUG="false")
    assert "smpp-receiver" not in names(DEBUG="true")
    assert "smpp-receiver" not in names(DEBUG="false", NOTIFICATIONS_SMS_PROVIDER="twilio")
    assert "smpp-receiver" in names(DEBUG="true", NOTIFICATIONS_SMS_PROVIDERS="twilio:1,smpp:3")


def test_no_development_key_is_made_next_to_the_operators_own_key_set(tmp_path) -> None:
    """Not even the platform's: its private key would sign platform tokens trusted for the demo org."""
    from notifications_project.launcher.run import dev_keys

    env = {"NOTIFICATIONS_JWKS_FILE": str(tmp_path / "operator-jwks.json")}

    dev_keys(env, tmp_path / "keys")

    assert not (tmp_path / "keys").exists()
    assert env == {"NOTIFICATIONS_JWKS_FILE": str(tmp_path / "operator-jwks.json")}


def test_development_keys_are_made_when_the_operator_named_none(tmp_path) -> None:
    from notifications_project.launcher.run import dev_keys

    env: dict[str, str] = {}

    dev_keys(env, tmp_path / "keys")

    assert env["NOTIFICATIONS_JWKS_FILE"] == str(tmp_path / "keys" / "jwks.json")
    assert env["NOTIFICATIONS_PLATFORM_JWKS_FILE"] == str(tmp_path / "keys" / "platform-jwks.json")
    assert env["NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS"] == "ttd"
    assert (tmp_path / "keys" / "dev-signing-key.pem").is_file()
