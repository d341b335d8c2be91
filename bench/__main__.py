"""``python -m bench``: run the benchmark harness (see bench/cli.py)."""

from __future__ import annotations

import sys

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
