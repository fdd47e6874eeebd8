"""Write a run's fidelity artefacts: ``fidelity.csv``, ``fidelity.nc``, ``figures/fidelity.png``."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from hydrointerp.atomic import write_netcdf, write_text
from hydrointerp.fidelity.table import fidelity_table, table_dataset
from hydrointerp.plots.fidelity import plot_fidelity


def write_fidelity(run_dir: str | os.PathLike[str], n_boot: int = 1000) -> pd.DataFrame:
    """Score ``run_dir`` and write its fidelity table, dataset and figure (atomically).

    Returns
    -------
    pandas.DataFrame
        The table (:func:`~hydrointerp.fidelity.table.fidelity_table`).
    """
    run = Path(run_dir)
    table = fidelity_table(run, n_boot=n_boot)
    write_text(run / "fidelity.csv", table.to_csv(index=False))
    write_netcdf(table_dataset(table), run / "fidelity.nc")
    plot_fidelity(table, run / "figures" / "fidelity.png")
    return table
