"""A pool process asked to stop by SIGTERM finishes its batch; a second SIGTERM ends it as before."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from notifications_project.launcher import BASE_DIR

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from dispatch.shutdown import stop_on_sigterm, stop_requested

    # The handler a pool process has before its first task (billiard's: it ends the process).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(7))
    stop_on_sigterm()
    assert not stop_requested()
    os.kill(os.getpid(), signal.SIGTERM)
    print("still running, stop requested:", stop_requested(), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    print("never reached", flush=True)
    """
)


def test_the_first_sigterm_asks_for_a_stop_and_the_second_ends_the_process() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=BASE_DIR, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout == "still running, stop requested: True\n", result.stderr
    assert result.returncode == 7
