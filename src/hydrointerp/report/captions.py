"""Which report section each figure belongs to, and the short caption saying what it shows.

An experiment's own figures carry their captions (:class:`~hydrointerp.experiments.base.Figure`,
found through the registry; the section is the experiment's name). Every other figure is
matched by the start of its file name (``figures/<stem>.png``) in :data:`FIGURES`; the first
matching prefix wins, so specific prefixes come before general ones.
"""

from __future__ import annotations

from hydrointerp.experiments.catalog import registry

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
    ("sensitivity_daily", "daily", "Experiment 1: daily sensitivity maps and diagnostics."),
    ("daily", "daily", "Experiment 1: sensitivity through space and time."),
    ("ensemble_mean", "heat_map", "Ensemble-mean z-scored sensitivity maps per cluster."),
    ("sensitivity", "heat_map", "Spatial sensitivity maps."),
    ("in_out", "heat_map", "Sensitivity inside/near the basins against far from them (D)."),
    ("shed", "heat_map", "Sensitivity inside/near the basins against far from them (D)."),
    (
        "dqa",
        "august",
        "dQ_Aug/dT_Aug against glacier cover and its distribution per glacier class (HESS Fig 11).",
    ),
    ("drivers", "drivers", "Weather anomalies that drive modelled streamflow rises."),
)


def _match(stem: str) -> tuple[str, str] | None:
    low = stem.lower()
    for name, cls in registry().items():
        for fig in cls.figures:
            if low.startswith(fig.stem.lower()):
                return name, fig.caption
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
