"""The kernel's part of the admin: what every app's admin builds on, and the admin of third-party models.

``base`` holds the defaults for the large tables (``OpsModelAdmin``: capped counts, no facets, read-only
pages with POST buttons), ``filters`` the list filters that read an index instead of the table, ``html``
the small HTML pieces of detail pages. None of them imports an app; the apps' admin packages import them.

Django's autodiscovery imports this package, which registers django-axes' login attempts. The admin site
itself (NIN masking) is ``core.admin_site``: it is named in INSTALLED_APPS and so must import before the
models are ready, which this package (importing axes' models) cannot.
"""

from core.admin import login_attempts as _login_attempts  # noqa: F401  (registers on import)
