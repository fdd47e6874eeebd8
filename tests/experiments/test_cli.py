"""The ``hydrointerp experiment`` verbs on a virtual region file with the simulator as predictor."""

from __future__ import annotations

import xarray as xr
from typer.testing import CliRunner

from hydrointerp.cli import app


def _region_files(tmp_path, region) -> str:  # noqa: ANN001
    from hydrointerp.data.region import save
    from hydrointerp.data.windows import Normaliser

    path = tmp_path / "region.nc"
    save(region, path)
    Normaliser().fit(region, (1999, 2000)).save(tmp_path / "normaliser.nc")
    return str(path)


def test_channels_verb_writes_resumable_output_and_figure(tmp_path, virtual_region) -> None:
    data = _region_files(tmp_path, virtual_region)
    out = tmp_path / "run"
    args = [
        "experiment",
        "channels",
        "--models",
        "simulator",
        "--data",
        data,
        "--out",
        str(out),
        "--quick",
        "--day-step",
        "120",
    ]
    runner = CliRunner()
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    nc = out / "experiments" / "channel_importance.nc"
    ds = xr.load_dataset(nc)
    assert {"s_temperature", "s_precipitation"} <= set(ds.data_vars)
    assert ds.sizes["time"] == 4 and "Glacial" in ds["group"].values
    assert (out / "figures" / "channel_sensitivity.png").stat().st_size > 10_000
    stamp = nc.stat().st_mtime_ns
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "skipping" in again.output
    assert nc.stat().st_mtime_ns == stamp


def test_bad_mask_mode_is_a_user_error(tmp_path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "experiment",
            "heat_map",
            "--set",
            "perturbation.mask_mode=sometimes",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code != 0
    assert (
        "'--set (heat_map).perturbation.mask_mode': Input should be 'shared' or 'per_day'"
        in str(result.exception)
    )
