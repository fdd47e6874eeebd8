"""Which report section each figure belongs to, and the short caption saying what it shows.

Figures are matched by the start of their file name (``figures/<stem>.png``); the first matching
prefix wins, so specific prefixes come before general ones.
"""

from __future__ import annotations

EXPERIMENT_TITLES = {
    "heat_map": "HESS spatial sensitivity heat maps",
    "daily": "Experiment 1: sensitivity through space and time",
    "channels": "Experiment 2: temperature vs precipitation importance through the year",
    "warming": "Uniform warming/cooling: freshet timing and peak",
    "august": "August temperature test in glacierised basins",
    "drivers": "Experiment 3: weather anomalies that drive streamflow rises",
    "cell_states": "Experiment 4: glacier runoff in LSTM cell states",
}

#: File stem of each experiment's result (``experiments/<stem>.nc``) where it differs from its name.
EXPERIMENT_FILES = {"daily": "sensitivity_daily", "channels": "channel_importance"}

#: (file-name prefix, section, caption), first match wins.
FIGURES: tuple[tuple[str, str, str], ...] = (
    (
        "study_region",
        "region",
        "Stations coloured by hydrological regime and by glacier cover, and each regime's"
        " median seasonal hydrograph (z-scored) with its 25–75 % range.",
    ),
    ("terrain", "region", "Terrain, basins and stations of the virtual region (truth)."),
    ("region_map", "region", "Terrain, basins and stations coloured by regime (truth)."),
    (
        "regime_hydrograph",
        "region",
        "Mean annual hydrographs per regime split into rain, snowmelt and glacier melt (truth).",
    ),
    ("fidelity", "fidelity", "Fidelity scores of each interpretation against the simulator."),
    ("dendrogram", "skill", "Ward dendrogram of the stations' seasonal flow and location."),
    (
        "cluster",
        "skill",
        "Station clusters in space and each cluster's normalised seasonal flow (grey: stations;"
        " colour: cluster mean), like HESS Fig 2.",
    ),
    (
        "nse_cdf",
        "skill",
        "Empirical CDF of the ensemble-mean NSE across gauges for each model (right = better).",
    ),
    (
        "gauges",
        "skill",
        "Hydrographs (left) and flow-duration curves (right) of the best, median and worst"
        " gauge by NSE, observed (black) against each model, in m³/s.",
    ),
    ("nse", "skill", "Nash–Sutcliffe efficiency per station (map and box plots, bulk vs fine)."),
    ("skill", "skill", "Model skill per station."),
    ("streamflow", "skill", "Ensemble mean ± 2σ against observations at example stations."),
    (
        "heat_vision",
        "daily",
        "Animation: the cluster-mean daily sensitivity map beside the cluster's hydrograph.",
    ),
    (
        "sensitivity_daily",
        "daily",
        "Daily sensitivity diagnostics (maximum, half-max area) and the two sensitivity patterns"
        " per cluster (high-flow vs low-flow days) with their in/near-vs-far statistic D.",
    ),
    ("daily", "daily", "Experiment 1: sensitivity through space and time."),
    (
        "heat_map",
        "heat_map",
        "Ensemble-mean z-scored sensitivity S(x, y) per cluster with basins and gauges, like HESS"
        " Fig 7: where in space the model looks.",
    ),
    ("ensemble_mean", "heat_map", "Ensemble-mean z-scored sensitivity maps per cluster."),
    ("sensitivity", "heat_map", "Spatial sensitivity maps."),
    ("in_out", "heat_map", "Sensitivity inside/near the basins against far from them (D)."),
    ("shed", "heat_map", "Sensitivity inside/near the basins against far from them (D)."),
    (
        "channel",
        "channels",
        "S_T,max (red) and S_P,max (blue), each min-max scaled, with the group-mean modelled flow"
        " (black) per regime group, like Frontiers channel_sensitivity.png.",
    ),
    (
        "freshet",
        "warming",
        "Freshet onset and peak against the spring freezing transition under ΔT (HESS Fig 10).",
    ),
    (
        "warming",
        "warming",
        "Cluster-mean seasonal flow under uniform ΔT from +5 to −5 K with the Tmin/Tmax = 0 °C"
        " transitions, like HESS Fig 9.",
    ),
    (
        "dqa",
        "august",
        "dQ_Aug/dT_Aug against glacier cover and its distribution per glacier class (HESS Fig 11).",
    ),
    (
        "august",
        "august",
        "August temperature sensitivity against glacier cover (HESS Fig 11): the slope grows"
        " with glacier cover.",
    ),
    (
        "antecedent",
        "drivers",
        "Weather anomalies (Tmax, Tmin, P) on the days of the largest modelled flow rises, by"
        " season and regime, like Frontiers 0antecedent_328top.png.",
    ),
    ("drivers", "drivers", "Weather anomalies that drive modelled streamflow rises."),
    (
        "cell_state",
        "cell_states",
        "(a) positive mean temperature and the glacier-like cell-state pattern; (b) their lagged"
        " residuals; (c) 60-day rolling correlation, like Frontiers cell_state_panels.png.",
    ),
)


def _match(stem: str) -> tuple[str, str] | None:
    low = stem.lower()
    for prefix, sec, cap in FIGURES:
        if low.startswith(prefix):
            return sec, cap
    return None


def section_of(stem: str) -> str:
    """The report section of a figure (``other`` when unknown)."""
    hit = _match(stem)
    return hit[0] if hit else "other"


def caption_for(stem: str) -> str:
    """A short caption saying what a figure shows."""
    hit = _match(stem)
    return hit[1] if hit else stem.replace("_", " ")
