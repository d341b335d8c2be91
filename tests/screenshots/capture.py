"""Screenshots of the admin in headless Chromium: log in, then save PNGs of the dashboard and a notification.

Drives the system's Chromium (Debian's ``chromium`` package) with Playwright, through ``executable_path``:
Playwright's own browser downloads (``playwright install``) are never needed.

Against a running service (``make run``)::

    python -m tests.screenshots.capture --base-url http://localhost:8000 --username admin \\
        --password "$(cat var/demo-password.txt)" --out var/screenshots

The notification page shown is the newest failed SMS, or the one given with ``--notification-path``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
WIDTH, HEIGHT = 1400, 900
TIMEOUT_MS = 30_000


def chromium_binary() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    pass


def _screenshot(page: Page, path: Path) -> Path:
    """The whole page (not only the viewport) as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)
    return path


def _log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("#login-form [type=submit]")
    if page.locator("body.dashboard").count() == 0:
        raise BrowserError("login failed: the admin index did not open")


def _newest_failed_sms(page: Page, base: str) -> str:
    page.goto(f"{base}/admin/orders/smsnotification/?status=failed")
    links = page.locator("#result_list tbody a")
    href = links.first.get_attribute("href") if links.count() else None
    if not href:
        raise BrowserError("no failed SMS to show; pass --notification-path")
    return href


def capture(
    *,
    base_url: str,
    username: str,
    password: str,
    out: Path,
    notification_path: str | None = None,
    binary: str | None = None,
) -> list[Path]:
    """Log in to the admin and save ``dashboard.png`` and ``notification.png`` under ``out``."""
    binary = binary or chromium_binary()
    if binary is None:
        raise BrowserError("no Chromium found (Debian: apt-get install chromium)")
    base = base_url.rstrip("/")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=binary, timeout=TIMEOUT_MS)
            try:
                page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
                page.set_default_timeout(TIMEOUT_MS)
                _log_in(page, base, username, password)
                shots = [_screenshot(page, out / "dashboard.png")]
                if notification_path is None:
                    notification_path = _newest_failed_sms(page, base)
                page.goto(base + notification_path)
                shots.append(_screenshot(page, out / "notification.png"))
                return shots
            finally:
                browser.close()
    except PlaywrightError as error:  # timeouts included; callers see one kind of error
        raise BrowserError(str(error)) from error


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://localhost:8000")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", type=Path, default=Path("var/screenshots"))
    parser.add_argument("--notification-path", help="e.g. /admin/orders/smsnotification/<id>/change/")
    args = parser.parse_args(argv)
    try:
        shots = capture(
            base_url=args.base_url,
            username=args.username,
            password=args.password,
            out=args.out,
            notification_path=args.notification_path,
        )
    except BrowserError as error:
        print(f"screenshots failed: {error}", file=sys.stderr)  # noqa: T201
        return 1
    for shot in shots:
        print(shot)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
