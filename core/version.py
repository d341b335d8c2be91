"""The service's version: the installed distribution's, as released (``pyproject.toml``'s ``version``).

Read from the package metadata, so what ``/health`` reports is what pip installed, not what a file in the
working tree says. A checkout run without installing (``PYTHONPATH=.``) has no metadata: its
``pyproject.toml`` is read instead, and with neither the version is ``UNKNOWN`` rather than an error.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "notifications-service"
UNKNOWN = "0+unknown"
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def version_from_pyproject(path: Path) -> str | None:
    """``[project] version`` of a ``pyproject.toml``, or None when there is none to read."""
    try:
        with path.open("rb") as file:
            project = tomllib.load(file).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    version = project.get("version") if isinstance(project, dict) else None
    return version if isinstance(version, str) and version else None


@functools.cache
def service_version() -> str:
    # Cached: the metadata lookup scans sys.path, and the installed version cannot change under a process.
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return version_from_pyproject(PYPROJECT) or UNKNOWN
