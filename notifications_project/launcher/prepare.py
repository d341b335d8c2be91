"""The embedded default's preparation steps in one Django process.

``python -m notifications_project.launcher.prepare --demo-user NAME --demo-password PW [--import-demo]
[--token-org ORG]``: the system checks, migrations, static files, the demo staff user, the staff groups, the
demo registry (``--import-demo``, into empty tables only) and a 24-hour demo token (``--token-org``, printed
last as ``TOKEN=...``). One process instead of one ``manage.py`` per step: each Django start-up costs about
two and a half seconds of CPU, which a first ``make run`` paid six times.

A failing step ends the process with status 1 after its error (no traceback) and the line
``Not started: `manage.py <step>` failed``, which names the step that stopped the start.
"""

from __future__ import annotations

import argparse
import io
import os
import sys

TOKEN_PREFIX = "TOKEN="


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="prepare")
    parser.add_argument("--demo-user", required=True)
    parser.add_argument("--demo-password", required=True)
    parser.add_argument("--import-demo", action="store_true")
    parser.add_argument("--token-org")
    options = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
    import django
    from django.core.management import call_command

    django.setup()
    steps: list[tuple[str, tuple[str, ...], dict[str, object]]] = [
        # call_command skips the system checks unless told: a configuration error must stop the start.
        ("migrate", (), {"interactive": False, "verbosity": 0, "skip_checks": False}),
        ("collectstatic", (), {"interactive": False, "verbosity": 0}),
        ("ensure_demo_user", (), {"username": options.demo_user, "password": options.demo_password}),
        ("ensure_groups", (), {"verbosity": 0}),
    ]
    if options.import_demo:
        # First start only: into empty registry tables, never over entries edited or imported since.
        steps.append(("import_contacts", (), {"demo": True, "if_empty": True}))
    for name, args, kwargs in steps:
        try:
            call_command(name, *args, **kwargs)
        except Exception as exc:
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            print(f"\n  Not started: `manage.py {name}` failed, see above.", file=sys.stderr, flush=True)
            return 1
    if options.token_org:
        token = io.StringIO()
        call_command("issue_token", org=options.token_org, expires=86400, stdout=token)
        print(f"{TOKEN_PREFIX}{token.getvalue().strip()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
