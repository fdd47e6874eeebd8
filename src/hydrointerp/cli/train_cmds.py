"""CLI verbs: train."""

from __future__ import annotations

from hydrointerp.cli.app import app  # noqa: F401
