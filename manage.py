#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
    from notifications_project.launcher.running_env import adopt_running_env

    # With `make run` up, commands such as import_contacts and issue_token reach its private servers.
    adopt_running_env()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
