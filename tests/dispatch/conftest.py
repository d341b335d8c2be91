"""Shared fixtures of the dispatch tests (each module keeps the fixtures only it needs)."""

from __future__ import annotations
