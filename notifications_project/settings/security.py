"""Security: cookies, HTTPS, headers and admin login throttling. The defaults are the production ones;
DEBUG relaxes them for local use."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from notifications_project.env import env_bool, env_int, env_list, env_str
from notifications_project.settings.base import DEBUG

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# An admin session lasts a working day, not Django's two weeks.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
if SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE:
    # "__Host-": the browser keeps these cookies only when Secure, for this host alone and path "/", so
    # neither a sibling subdomain nor plain HTTP can set or overwrite them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Admin login throttling (django-axes): after this many failed logins for one username from one client
# address, that pair is locked out (429) for the cool-off time; a success resets the count. Counted per
# pair so that nobody can lock a colleague out from elsewhere, and behind a proxy all staff do not share
# one lockout. Stored in PostgreSQL, so a Redis outage does not lift it.
# The client address is taken through core.client_address: behind a reverse proxy, from
# the header the proxy sets, but only when the direct peer is one of the trusted proxies (CIDRs); a client
# that reaches the service directly cannot choose its address with a forged header.
NOTIFICATIONS_TRUSTED_PROXY_HEADER = env_str("NOTIFICATIONS_TRUSTED_PROXY_HEADER", "")
NOTIFICATIONS_TRUSTED_PROXIES = env_list("NOTIFICATIONS_TRUSTED_PROXIES", [])
for _cidr in NOTIFICATIONS_TRUSTED_PROXIES:  # a typo must stop startup, not every admin login
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"NOTIFICATIONS_TRUSTED_PROXIES: {_exc}") from _exc
AXES_CLIENT_IP_CALLABLE = "core.client_address.client_address"
AXES_FAILURE_LIMIT = env_int("NOTIFICATIONS_ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("NOTIFICATIONS_ADMIN_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Failed attempts are kept (for the lockout and for review in the admin); successful logins are not.
AXES_DISABLE_ACCESS_LOG = True
AXES_HTTP_RESPONSE_CODE = 429
