"""Settings of the notification service, read from the environment.

Every variable is documented in docs/configuration.md. Production differences are
environment toggles, not a separate module; secrets are required when DEBUG is off. The settings are
grouped by role in the modules below; this module is what DJANGO_SETTINGS_MODULE names.
"""

from __future__ import annotations

# In the order they were written in: base first, as every other part reads DEBUG from it.
# isort: off
from notifications_project.settings.base import *  # noqa: F403
from notifications_project.settings.security import *  # noqa: F403
from notifications_project.settings.broker import *  # noqa: F403
from notifications_project.settings.api import *  # noqa: F403
from notifications_project.settings.pipeline import *  # noqa: F403
from notifications_project.settings.logs import *  # noqa: F403
from notifications_project.settings.attachments import *  # noqa: F403

# isort: on
from notifications_project.settings.base import DEBUG as _debug

# DEBUG only relaxes the defaults above for local use. Django's own debug mode stays off everywhere: it
# answers errors with technical pages (tracebacks with local variables and settings, the URL patterns)
# to any client, and keeps every SQL query in memory. Errors are problem details (urls.py handler*) and
# tracebacks go to the log. WhiteNoise still serves static files from the apps while developing.
WHITENOISE_USE_FINDERS = _debug
WHITENOISE_AUTOREFRESH = _debug
DEBUG = False
