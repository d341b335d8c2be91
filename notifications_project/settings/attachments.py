"""Composed emails: who may order them, and how their attachments are checked and fetched at send time."""

from __future__ import annotations

from notifications_project.env import env_float, env_int, env_list, env_str

# The only scope that allows POST /future/orders/composed-email (and allows nothing else).
NOTIFICATIONS_COMPOSED_EMAIL_SCOPE = "altinn:serviceowner/notifications.composedemail.create"
# Hosts attachment links may point at ("files.example.com", "*.blob.core.windows.net"). Empty: any host
# on the public internet; the outbound guard refuses internal addresses either way.
NOTIFICATIONS_ATTACHMENT_ALLOWED_HOSTS = env_list("NOTIFICATIONS_ATTACHMENT_ALLOWED_HOSTS", [])
# The attachment types the reference's email provider accepts (no text/html), compared case-insensitively.
NOTIFICATIONS_ATTACHMENT_MIME_TYPES = env_list(
    "NOTIFICATIONS_ATTACHMENT_MIME_TYPES",
    [
        "video/3gpp", "video/3gpp2", "application/x-7z-compressed", "audio/aac", "video/x-msvideo",
        "image/bmp", "text/csv", "application/msword", "application/vnd.ms-word.document.macroEnabled.12",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-fontobject", "application/epub+zip", "image/gif", "application/gzip",
        "image/vnd.microsoft.icon", "text/calendar", "image/jpeg", "application/json", "audio/midi",
        "audio/mpeg", "video/mp4", "video/mpeg", "audio/ogg", "video/ogg", "application/ogg",
        "application/onenote", "audio/opus", "font/otf", "application/pdf", "image/png",
        "application/vnd.ms-powerpoint.slideshow.macroEnabled.12",
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
        "application/vnd.ms-powerpoint", "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.ms-publisher", "application/x-rar-compressed", "application/vnd.ms-outlook",
        "application/rtf", "image/svg+xml", "application/x-tar", "image/tiff", "font/ttf", "text/plain",
        "application/vnd.visio", "audio/wav", "audio/webm", "video/webm", "image/webp", "audio/x-ms-wma",
        "video/x-ms-wmv", "font/woff", "font/woff2", "application/vnd.ms-excel",
        "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
        "application/vnd.ms-excel.sheet.macroEnabled.12",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/xml", "text/xml",
        "application/zip",
    ],
)  # fmt: skip
# Limits the reference leaves to its email provider: checked at registration (count) and while fetching.
NOTIFICATIONS_ATTACHMENT_MAX_COUNT = env_int("NOTIFICATIONS_ATTACHMENT_MAX_COUNT", 10)
NOTIFICATIONS_ATTACHMENT_MAX_BYTES = env_int("NOTIFICATIONS_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)
NOTIFICATIONS_ATTACHMENT_MAX_TOTAL_BYTES = env_int(
    "NOTIFICATIONS_ATTACHMENT_MAX_TOTAL_BYTES", 10 * 1024 * 1024
)
# Each read of a download, and the whole download of one file (the reference's blob timeout: 30 s).
NOTIFICATIONS_ATTACHMENT_TIMEOUT_SECONDS = env_float("NOTIFICATIONS_ATTACHMENT_TIMEOUT_SECONDS", 30.0)
# A CA bundle (PEM) to verify attachment hosts with instead of the system's (a private CA). Empty: system.
NOTIFICATIONS_ATTACHMENT_CA_FILE = env_str("NOTIFICATIONS_ATTACHMENT_CA_FILE", "")
