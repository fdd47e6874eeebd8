"""Adding an experiment is one class: a toy defined here, outside the package, runs through
``hydrointerp run`` (a config naming it), ``hydrointerp experiment NAME``, the fidelity stage and
the report with no edit to package code."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from pydantic import Field  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from hydrointerp.cli import app  # noqa: E402
from hydrointerp.config import load_config  # noqa: E402
from hydrointerp.errors import ConfigError  # noqa: E402
from hydrointerp.experiments.base import Experiment, Figure  # noqa: E402
from hydrointerp.experiments.catalog import registry  # noqa: E402
from hydrointerp.fidelity.skill import skill_row  # noqa: E402
from hydrointerp.pipeline import run_study  # noqa: E402

CAPTION = "Mean flow response of each gauge to wetter recent days (toy experiment)."


def _bars(result: xr.Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(np.arange(result.sizes["station"]), result["response"].values)
    fig.savefig(path)
    plt.close(fig)
    return path


def _score(b: Any) -> list:
    """Per-gauge absolute error of the network's response against the simulator's, with the
    two trivial answers (no response; the regional mean response) as baselines."""
    if b.truth is None:
        return []
    truth = b.truth["response"]
    model = b.model["perturbation"]["response"]
    err = abs(model - truth)
    baselines = {"zero": abs(truth), "regional_mean": abs(truth.mean() - truth)}
    row = skill_row(
        "rain_step", "perturbation", "abs_error", "simulator", err, baselines, None, "station",
        higher_is_better=False, n_boot=b.n_boot,
    )  # fmt: skip
    return [row]


class RainStep(Experiment):
    """Toy: add ``step`` training standard deviations of precipitation everywhere on every
    ``days``-th input day and record each gauge's mean flow change."""

    name: ClassVar[str] = "rain_step"
    title: ClassVar[str] = "Toy: flow response to a wetter recent past"
    quick: ClassVar[dict[str, Any]] = {"days": 3}
    figures: ClassVar[tuple[Figure, ...]] = (Figure(_bars, "rain_step_bars", CAPTION),)
    scores: ClassVar[dict[str, Any]] = {"rain_step": _score}

    step: float = Field(0.5, description="precipitation added (training std)")
    days: int = Field(10, ge=1, description="every n-th input day is made wetter")

    def run(self, inputs: Any, progress: bool = False) -> xr.Dataset:
        frames = inputs.frames_array()
        precip = [str(c) for c in inputs.frames["channel"].values].index("precip")
        wet = frames.copy()
        wet[..., precip] += self.step * (np.arange(len(frames)) % self.days == 0)[:, None, None]
        both = np.asarray(
            inputs.predictor.predict_block(np.stack([frames, wet]), inputs.target_indices())
        )
        base, shifted = both[0], both[1]
        station = inputs.stations["station"].values
        return xr.Dataset(
            {
                "response": ("station", (shifted - base).mean(0), {"units": "1"}),
                "flow": ("station", base.mean(0), {"units": "1"}),
            },
            coords={"station": station},
        )


def test_defining_the_class_registers_it() -> None:
    assert registry()["rain_step"] is RainStep
    assert list(registry())[:7] == [
        "heat_map", "daily", "channels", "warming", "august", "drivers", "cell_states"
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="unknown key 'experiments.settings.rain_step.dayz'"):
        RainStep.from_settings({"dayz": 3})
    assert RainStep.from_settings({}, quick=True).days == 3


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = load_config("tiny")
    experiments = cfg.experiments.model_copy(
        update={"run": ["rain_step"], "settings": {"rain_step": {"n_targets": 20, "days": 5}}}
    )
    fidelity = cfg.fidelity.model_copy(update={"controls": ["random_all"], "n_boot": 50})
    cfg = cfg.model_copy(update={"experiments": experiments, "fidelity": fidelity})
    out = tmp_path_factory.mktemp("toy")
    run_study(cfg, out=out)
    return out


def test_the_pipeline_runs_scores_and_reports_the_toy(toy_run: Path) -> None:
    model = xr.load_dataset(toy_run / "experiments" / "rain_step.nc")
    truth = xr.load_dataset(toy_run / "experiments" / "simulator" / "rain_step.nc")
    assert (toy_run / "experiments" / "controls" / "random_all" / "rain_step.nc").is_file()
    # more precipitation never lowers the simulator's flow (in the December days of the tiny
    # region's last targets much of it falls as snow: little response at some gauges)
    assert bool((truth["response"] >= 0).all()) and float(truth["response"].max()) > 0.1
    assert model.sizes["station"] == truth.sizes["station"] == 6
    assert (toy_run / "figures" / "rain_step_bars.png").stat().st_size > 1000
    table = pd.read_csv(toy_run / "fidelity.csv")
    rows = table[table["experiment"] == "rain_step"]
    assert list(rows["metric"]) == ["abs_error"]
    want = float(abs(model["response"] - truth["response"]).mean())
    assert rows["value"].iloc[0] == pytest.approx(want, rel=1e-6)
    report = (toy_run / "report.html").read_text()
    assert "Toy: flow response to a wetter recent past" in report
    assert CAPTION in report


def test_the_cli_runs_the_toy_by_name(toy_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = [
        "experiment", "rain_step", "--models", "simulator", "--data", str(toy_run),
        "--out", str(out), "--set", "days=5", "--set", "n_targets=20",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    got = xr.load_dataset(out / "experiments" / "rain_step.nc")
    want = xr.load_dataset(toy_run / "experiments" / "simulator" / "rain_step.nc")
    # the same experiment on the same simulator through the two ways in: the same numbers
    np.testing.assert_allclose(got["response"], want["response"], rtol=1e-6)
    assert (out / "figures" / "rain_step_bars.png").is_file()
