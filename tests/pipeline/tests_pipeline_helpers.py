"""Helpers of the pipeline tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import xarray as xr


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a run directory (to resume or modify without touching the reference run)."""
    shutil.copytree(src, dst)
    return dst


def compare_outputs(
    a: Path, b: Path, files: list[str], rtol: float = 0.0, atol: float = 0.0
) -> None:
    """Assert the NetCDF outputs of two runs hold the same numbers (exactly when rtol=0)."""
    for name in files:
        with (
            xr.open_dataset(a / name, engine="h5netcdf") as da,
            xr.open_dataset(b / name, engine="h5netcdf") as db,
        ):
            assert set(da.data_vars) == set(db.data_vars), name
            for var in da.data_vars:
                x, y = da[var].values, db[var].values
                if x.dtype.kind in "fc":
                    np.testing.assert_allclose(
                        x, y, rtol=rtol, atol=atol, equal_nan=True, err_msg=f"{name}:{var}"
                    )
                else:
                    assert np.array_equal(x, y), f"{name}:{var}"
