"""The cell-state probe on a small virtual region with a quickly trained tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from hydrointerp.experiments.probe import probe_experiment, r_squared


def test_r_squared_is_squared_correlation() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    states = np.stack([2 * y + 1, rng.normal(size=200), np.ones(200), -y])
    r2 = r_squared(states, y)
    assert r2[0] == pytest.approx(1.0) and r2[3] == pytest.approx(1.0)
    assert r2[1] == pytest.approx(np.corrcoef(states[1], y)[0, 1] ** 2)
    assert r2[2] == 0.0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-year virtual region and one tiny CNN-LSTM trained for a few epochs on it."""
    from hydrointerp.config import Split, WindowSpec
    from hydrointerp.data.virtual import generate_region
    from hydrointerp.data.virtual_config import VirtualRegionConfig
    from hydrointerp.data.windows import Normaliser, make_windows
    from hydrointerp.models.cnn_lstm import Architecture
    from hydrointerp.models.saved import load_model
    from hydrointerp.training.config import TrainSettings
    from hydrointerp.training.train import train_member

    region = generate_region(
        VirtualRegionConfig(n_years=2, n_lat=6, n_lon=10, n_stations=12, seed=1)
    )
    spec = WindowSpec(
        lookback=30, split=Split(train=(2000, 2000), val=(2001, 2001), test=(2001, 2001))
    )
    norm = Normaliser().fit(region, spec.fit_years())
    windows = make_windows(region, norm, spec)
    arch = Architecture(
        n_out=windows.n_stations,
        conv_filters=(8, 8),
        conv_kernels=(1, 3),
        pool_after=0,
        lstm_units=16,
        dropout=0.0,
    )
    settings = TrainSettings(max_epochs=1, learning_rate=3e-3, batch_size=32, progress=False)
    path = train_member(windows, settings, 0, tmp_path_factory.mktemp("probe"), arch=arch)
    return region, norm.transform_weather(region), load_model(path)


def test_probe_on_virtual_region(trained) -> None:
    from hydrointerp.fidelity.truth import glacial_melt

    region, frames, model = trained
    melt = glacial_melt(region)
    window = frames.sel(time="2001")
    ds = probe_experiment(
        [model], window, region["glacier_fraction"], melt, p_threshold=0.2, n_draws=200
    )
    assert ds["r2"].dims == ("member", "unit") and ds.sizes["unit"] == 16
    assert bool(((ds["r2"] >= 0) & (ds["r2"] <= 1)).all())
    assert bool(((ds["r2_residual"] >= 0) & (ds["r2_residual"] <= 1)).all())
    # selection follows the head-weight correlation with glacier fraction
    w = model.head.weight.detach().numpy().T
    g = region["glacier_fraction"].values
    p_ok = [abs(np.corrcoef(w[u], g)[0, 1]) for u in range(16)]
    strongest = int(np.argmax(p_ok))
    assert ds.attrs["n_selected_units"] >= 1
    assert bool(ds["selected"].values[0, strongest])
    assert np.isfinite(ds.attrs["mean_r2_selected"]) and 0 < ds.attrs["p_value"] <= 1
    # the random baseline is a mean over the same count of units
    assert ds.attrs["mean_r2_random"] == pytest.approx(float(ds["r2"].mean()), abs=0.05)
    print(
        "probe:",
        ds.attrs["n_selected_units"],
        "selected; mean R2 selected",
        round(ds.attrs["mean_r2_selected"], 3),
        "random",
        round(ds.attrs["mean_r2_random"], 3),
        "residual selected",
        round(ds.attrs["mean_r2_residual_selected"], 3),
        "all",
        round(ds.attrs["mean_r2_residual_all"], 3),
    )
