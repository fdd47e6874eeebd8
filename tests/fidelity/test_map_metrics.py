"""The broken-explainer suite: every map metric kept must rank a faithful map above every
broken or trivial one, and an untrained network's map below it (FIDELITY.md rule 4)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hydrointerp.errors import DataError
from hydrointerp.experiments.heat_map import run_masks
from hydrointerp.fidelity import explainers as ex
from hydrointerp.fidelity import metrics as mt
from hydrointerp.fidelity.bundle import truth_sensitivity
from hydrointerp.fidelity.map_scores import _map_metrics

BROKEN = ("shuffled", "constant", "distance_to_centre", "other_station", "same_mask_random")


def _candidates(sim_b: xr.Dataset, untrained: xr.Dataset) -> dict[str, xr.DataArray]:
    maps = sim_b["sensitivity"]
    out = {"faithful": maps, "untrained": untrained["sensitivity"]}
    out.update({k: f(maps) for k, f in ex.MAP_BROKEN.items()})
    out["same_mask_random"] = ex.same_mask_random(run_masks(sim_b), maps)
    return out


def _suite(truth_name: str, sim_a, fid_region, contribution):  # noqa: ANN001, ANN202
    basin = fid_region["basin_mask"]
    if truth_name == "contribution":
        return _map_metrics("contribution", contribution["contribution_magnitude"], basin)
    return _map_metrics(truth_name, truth_sensitivity(sim_a), basin)


@pytest.mark.parametrize(
    ("truth_name", "metric"),
    [
        ("simulator", "support_pearson"),
        ("simulator", "support_spearman"),
        ("basin", "detection_auc"),
        ("basin", "centroid_distance"),
        ("basin", "relevance_mass"),
        ("contribution", "support_pearson"),
        ("contribution", "support_spearman"),
    ],
)
def test_metric_ranks_faithful_map_above_every_broken_one(
    truth_name, metric, sim_a, sim_b, untrained_a, fid_region, contribution
) -> None:
    fn = _suite(truth_name, sim_a, fid_region, contribution)[metric]
    sign = 1.0 if mt.MAP_METRICS[metric].higher_is_better else -1.0
    scores = {k: float(fn(v).mean()) for k, v in _candidates(sim_b, untrained_a).items()}
    for name in (*BROKEN, "untrained"):
        # a clear margin, not a tie: at least a tenth of the metric's spread among candidates
        margin = 0.1 * (max(scores.values()) - min(scores.values()))
        assert sign * (scores["faithful"] - scores[name]) > margin, (metric, name, scores)


def test_scores_pair_labels_not_positions(sim_a, sim_b) -> None:
    truth = truth_sensitivity(sim_a)
    maps = sim_b["sensitivity"]
    ref = mt.support_spearman(maps, truth)
    reordered = truth.transpose("lon", "station", "lat").isel(station=slice(None, None, -1))
    np.testing.assert_allclose(mt.support_spearman(maps, reordered).sel(station=ref.station), ref)


def test_constant_map_carries_no_information(sim_a) -> None:
    truth = truth_sensitivity(sim_a)
    const = ex.constant(truth)
    assert float(abs(mt.support_pearson(const, truth)).max()) == 0.0
    assert np.allclose(mt.detection_auc(const, truth > 0.5 * truth.max(("lat", "lon"))), 0.5)


def test_maps_on_other_grids_are_refused(sim_a) -> None:
    truth = truth_sensitivity(sim_a)
    shifted = truth.assign_coords(lat=truth["lat"] + 0.75)
    with pytest.raises(DataError, match="different grids"):
        mt.check_same_grid(shifted, truth, "heat_map")


def test_support_covers_a_one_cell_basin_and_its_halo(sim_a, contribution) -> None:
    mag = contribution["contribution_magnitude"]
    core = mt.support(mag, halo=0).sum(("lat", "lon"))
    halo = mt.support(mag, halo=2).sum(("lat", "lon"))
    assert int(core.min()) >= 1 and bool((halo > core).all())
    assert int(halo.max()) <= int(core.max()) * 25


def test_sign_agreement_pairs_entries_whatever_the_dimension_order() -> None:
    # the defect of the old experiments/fidelity.py: entries compared after xr.align without
    # one dimension order; a reordered, reversed copy of the truth must score exactly the same
    rng = np.random.default_rng(0)
    dims = ("station", "season", "lag")
    coords = {"station": [f"S{i}" for i in range(5)], "season": list("ABCD"), "lag": [0, 1, 2]}
    truth = xr.DataArray(rng.normal(size=(5, 4, 3)), dims=dims, coords=coords)
    values = truth + rng.normal(scale=0.8, size=truth.shape)
    sig = abs(truth) > 0.5
    ref = mt.weighted_sign_agreement(values, truth, sig, ["season", "lag"])
    flipped = truth.transpose("lag", "station", "season").isel(station=slice(None, None, -1))
    sig_flipped = sig.transpose("season", "lag", "station")
    got = mt.weighted_sign_agreement(values, flipped, sig_flipped, ["season", "lag"])
    np.testing.assert_allclose(got.sel(station=ref.station), ref, rtol=0, atol=0)
    assert 0.5 < float(ref.mean()) < 1.0  # informative, not perfect
    err = mt.absolute_error(values, flipped).transpose(*dims)
    np.testing.assert_allclose(err, abs(values - truth), atol=1e-12)
