"""Screenshots of the admin in headless Chromium: log in, then save PNGs of the dashboard and a notification.

Drives Chromium over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages ending in
a NUL byte on file descriptors 3 and 4), so it needs nothing but the browser (Debian's ``chromium``
package) — no webdriver, no websocket library, no network beyond the server it photographs.

Against a running service (``make run``)::

    python -m tests.screenshots.capture --base-url http://localhost:8000 --username admin \\
        --password "$(cat var/demo-password.txt)" --out var/screenshots

The notification page shown is the newest failed SMS, or the one given with ``--notification-path``.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


def chromium_binary() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless browser with one page, driven over the DevTools pipe."""

    def __init__(self, binary: str, *, width: int = 1400, height: int = 900, timeout: float = 30.0) -> None:
        self.width, self.height, self.timeout = width, height, timeout
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire_pipes() -> None:  # runs in the child: the protocol expects fds 3 (in) and 4 (out)
            # Copies above 10 first: the pipe ends may themselves be 3 or 4, and dup2 onto itself would
            # leave the close-on-exec flag set (the browser would start without its pipe).
            high_in = fcntl.fcntl(to_browser_read, fcntl.F_DUPFD, 10)
            high_out = fcntl.fcntl(from_browser_write, fcntl.F_DUPFD, 10)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,  # our other descriptors are close-on-exec anyway; 3 and 4 must survive
            preexec_fn=wire_pipes,  # noqa: PLW1509 (single-threaded caller; dup2 only)
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)
        self._viewport(height)

    # --- protocol ---

    def _send(self, message: dict[str, Any]) -> None:
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_for(self, event: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for index, message in enumerate(self._events):
                if message.get("method") == event:
                    return self._events.pop(index)
            self._events.append(self._receive(deadline))

    # --- page ---

    def _viewport(self, height: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    def navigate(self, url: str) -> None:
        self._events.clear()
        result = self.call("Page.navigate", {"url": url}, session=True)
        if result.get("errorText"):
            raise BrowserError(f"cannot load {url}: {result['errorText']}")
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def submit_form(self, expression: str) -> None:
        """Run a script that submits a form, and wait for the page it leads to."""
        self._events.clear()
        self.evaluate(expression)
        self.wait_for("Page.loadEventFired")

    def screenshot(self, path: Path) -> Path:
        """The whole page (not only the viewport) as a PNG."""
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)") or self.height)
        self._viewport(max(height, self.height))
        data = self.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        self._viewport(self.height)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


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
    browser = Chromium(binary)
    try:
        browser.navigate(f"{base}/admin/login/?next=/admin/")
        browser.submit_form(
            "document.getElementById('id_username').value = " + json.dumps(username) + ";"
            "document.getElementById('id_password').value = " + json.dumps(password) + ";"
            "document.getElementById('login-form').submit();"
        )
        if not browser.evaluate("document.body.classList.contains('dashboard')"):
            raise BrowserError("login failed: the admin index did not open")
        shots = [browser.screenshot(out / "dashboard.png")]
        if notification_path is None:
            browser.navigate(f"{base}/admin/orders/smsnotification/?status=failed")
            notification_path = browser.evaluate(
                "(document.querySelector('#result_list tbody a') || {}).getAttribute?.('href') || null"
            )
            if not notification_path:
                raise BrowserError("no failed SMS to show; pass --notification-path")
        browser.navigate(base + notification_path)
        shots.append(browser.screenshot(out / "notification.png"))
        return shots
    finally:
        browser.close()


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
