"""7. The contact registry import (bench/registry_import.py)."""

from __future__ import annotations

from typing import Any

from bench.workloads.common import (
    Context,
    row,
)


def registry(ctx: Context) -> dict[str, Any]:
    """The contact import and lookups of bench/registry_import.py, at the run's size."""
    from bench.registry_import import run

    rows = ctx.sizes.registry_rows
    rates = run(rows)
    return {
        "results": {"rows": rows, **{key: round(value) for key, value in rates.items()}},
        "baseline": None,
        "summary": [
            row(
                "7 registry",
                f"CSV import, {rows:,} rows (insert / update)",
                f"{rates['import_insert']:,.0f} / {rates['import_update']:,.0f}",
                unit="rows/s",
            ),
        ],
    }
