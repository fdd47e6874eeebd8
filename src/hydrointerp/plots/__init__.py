"""Figures of every stage, written to files only.

Importing any module of this package selects matplotlib's non-interactive ``Agg`` backend (here,
once, before any of them imports ``matplotlib.pyplot``).
"""

import matplotlib

matplotlib.use("Agg")
