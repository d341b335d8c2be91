"""The admin of the pipeline: notifications (with retry), the order admin (with retry), delivery attempts
and reports, status callbacks, the providers' state, and the operations dashboard on the index page.

Django's autodiscovery imports this package; importing the modules registers their admins, and the
dashboard is put on the admin site here.
"""

from django.contrib import admin

from dispatch.admin import callbacks, dashboard, notifications, orders, providers, reports  # noqa: F401

dashboard.dashboard_install(admin.site)
