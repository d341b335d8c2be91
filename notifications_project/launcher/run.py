"""``make run``: the whole service in the foreground on its embedded default.

PostgreSQL and Redis under ``var/`` (data survives restarts), migrations, the demo staff user, development
keys and a demo token, a banner saying how to use it; then web, a Celery worker and beat, supervised.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

from notifications_project.launcher import BASE_DIR
from notifications_project.launcher.prepare import TOKEN_PREFIX
from notifications_project.launcher.processes import service_commands, supervise
from notifications_project.launcher.running_env import share_env
from notifications_project.launcher.servers import missing_servers

DEMO_USERNAME = "admin"
DEMO_ORG = "ttd"


def run() -> int:
    """Run the whole service in the foreground on its embedded default.

    A preparation step that fails (``migrate`` runs the system checks, so a configuration error stops it)
    stops the servers started for it and ends the launcher with that step's exit status: nothing is served.
    """
    # SIGTERM while preparing (a service manager giving up on a slow start) still stops the servers
    # started so far; once everything runs, the supervisor takes SIGTERM over.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        return _run()
    except subprocess.CalledProcessError as exc:
        # The preparation process has said which step failed and why.
        return exc.returncode or 1


def _run() -> int:
    var_dir = Path(os.environ.get("NOTIFICATIONS_VAR_DIR", BASE_DIR / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    port = os.environ.get("PORT", "8000")
    # Loopback unless told otherwise: the embedded default is for one machine (HOST=0.0.0.0 to share it).
    host = os.environ.get("HOST", "127.0.0.1")
    # The demo registry goes only into the private PostgreSQL, never into a database the operator named.
    own_database = not os.environ.get("DATABASE_URL")
    with ExitStack() as stack:
        env = missing_servers(stack, var_dir, throwaway=False)
        env.setdefault("DEBUG", "true")
        env.setdefault("PORT", port)
        env.setdefault("NOTIFICATIONS_VAR_DIR", str(var_dir))
        # Evening trials should see SMS go out: the embedded default lifts the daytime SMS window.
        env.setdefault("NOTIFICATIONS_SMS_SEND_WINDOW", "anytime")
        env.setdefault("SECRET_KEY", _secret_key(var_dir))
        dev_keys(env, var_dir / "keys")
        stack.callback(share_env(var_dir, env).unlink, missing_ok=True)
        password = _demo_password(var_dir)
        token = _prepare(env, password=password, import_demo=own_database)
        _print_banner(port=port, password=password, token=token, env=env)
        return supervise(service_commands(env, host=host, port=port), env=env)
    return 0


def _prepare(env: dict[str, str], *, password: str, import_demo: bool) -> str | None:
    """Checks, migrations, static files, demo user, groups, demo registry and demo token, in one process
    (see ``prepare.py``); the demo token when a development signing key exists to mint it."""
    command = [sys.executable, "-m", "notifications_project.launcher.prepare"]
    command += [f"--demo-user={DEMO_USERNAME}", f"--demo-password={password}"]
    if import_demo:
        command.append("--import-demo")
    if can_mint_tokens(env):
        command.append(f"--token-org={DEMO_ORG}")
    result = subprocess.run(command, env=env, check=True, cwd=BASE_DIR, stdout=subprocess.PIPE, text=True)
    token = None
    for line in result.stdout.splitlines():
        if line.startswith(TOKEN_PREFIX):
            token = line.removeprefix(TOKEN_PREFIX)
        else:
            print(line, flush=True)
    return token


def _secret_key(var_dir: Path) -> str:
    path = var_dir / "secret-key.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _demo_password(var_dir: Path) -> str:
    path = var_dir / "demo-password.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def dev_keys(env: dict[str, str], keys: Path) -> None:
    """Development key pairs when the operator has configured no key set of their own: one for the
    identity provider (bearer tokens) and a separate one for the platform (platform access tokens), so
    that neither kind of token is ever accepted as the other. A platform key set of the operator's is
    used as it is, next to the development bearer key."""
    from core.tokens import DEV_PLATFORM_KID, ensure_dev_keys

    operator_keys = bool(env.get("NOTIFICATIONS_JWKS_FILE"))
    if not operator_keys:
        ensure_dev_keys(keys / "jwks.json", keys / "dev-signing-key.pem")
        env["NOTIFICATIONS_JWKS_FILE"] = str(keys / "jwks.json")
        env["NOTIFICATIONS_JWT_SIGNING_KEY_FILE"] = str(keys / "dev-signing-key.pem")
    # The operator's own key set means tokens from the operator's side only: no development platform key
    # (whose private half would lie next to the service, trusted for the demo org) is made then either.
    if not env.get("NOTIFICATIONS_PLATFORM_JWKS_FILE") and not operator_keys:
        ensure_dev_keys(
            keys / "platform-jwks.json", keys / "platform-dev-signing-key.pem", kid=DEV_PLATFORM_KID
        )
        env["NOTIFICATIONS_PLATFORM_JWKS_FILE"] = str(keys / "platform-jwks.json")
        env["NOTIFICATIONS_PLATFORM_SIGNING_KEY_FILE"] = str(keys / "platform-dev-signing-key.pem")
        # Only the demo org's development platform tokens, unless the operator names others.
        env.setdefault("NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS", DEMO_ORG)


def can_mint_tokens(env: Mapping[str, str]) -> bool:
    """Whether a development signing key exists to mint the demo token.

    With the operator's own key set (NOTIFICATIONS_JWKS_FILE set, no development key next to it) the
    service cannot mint tokens its verifier trusts: tokens then come from the operator's identity provider.
    """
    signing_key = env.get("NOTIFICATIONS_JWT_SIGNING_KEY_FILE")
    return bool(signing_key) and Path(str(signing_key)).is_file()


def token_lines(token: str | None, base: str, env: Mapping[str, str]) -> str:
    if token is None:
        return f"""  API tokens: bearer tokens come from your identity provider, verified against
    {env.get("NOTIFICATIONS_JWKS_FILE")} (no development signing key, so no demo token).
    curl -H "Authorization: Bearer $TOKEN" {base}/notifications/api/v1/whoami"""
    return f"""  Demo API token (org {DEMO_ORG}, valid 24 h):
    export TOKEN={token}
    curl -H "Authorization: Bearer $TOKEN" {base}/notifications/api/v1/whoami"""


def _print_banner(*, port: str, password: str, token: str | None, env: dict[str, str]) -> None:
    base = f"http://localhost:{port}"
    print(
        f"""
  Notification service is starting on {base}
    health:     {base}/health
    API docs:   {base}/notifications/api/v1/docs
    admin:      {base}/admin/   user: {DEMO_USERNAME}   password: {password}
    SMS window: {env.get("NOTIFICATIONS_SMS_SEND_WINDOW")} (the embedded default sends SMS at any hour)

{token_lines(token, base, env)}

  Press Ctrl-C to stop everything.
""",
        flush=True,
    )
