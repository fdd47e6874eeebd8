"""CLI verbs: drivers, cell states and fidelity."""

from __future__ import annotations

from hydrointerp.cli.app import app, experiment_app  # noqa: F401
