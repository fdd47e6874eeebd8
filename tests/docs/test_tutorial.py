"""docs/tutorial.ipynb runs from top to bottom (nbclient): a failing cell fails the suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "tutorial.ipynb"


@pytest.mark.slow
def test_tutorial_notebook_runs(shared, tmp_path, monkeypatch) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # stored clean
    # the kernel imports this checkout's hydrointerp and finds the same shared folder
    src = str(Path(__file__).resolve().parents[2] / "src")
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([src, *rest]))
    monkeypatch.setenv("HYDROINTERP_SHARED", str(shared))
    client = nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError naming the cell when one fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the hydrographs and the experiment figures, inline
    text = "".join(o.get("text", "") for o in outputs)
    assert "median NSE over 226 gauges" in text and "scores" in text
