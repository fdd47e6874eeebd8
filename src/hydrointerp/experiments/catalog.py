"""Every built-in experiment, in the order a study runs them, and the registry that holds them.

Importing this module defines (and so registers) the built-in experiments; an experiment
defined anywhere else registers itself the same way when its module is imported. Python API::

    from hydrointerp.experiments.catalog import HeatMap, Perturbation, registry

    result = HeatMap(perturbation=Perturbation(iters_total=200))(inputs)
    for name, cls in registry().items():
        print(name, cls.file, cls.title)
"""

from __future__ import annotations

from collections.abc import Mapping

from hydrointerp.errors import ConfigError
from hydrointerp.experiments.august import August
from hydrointerp.experiments.base import Experiment, Figure, registered
from hydrointerp.experiments.cell_states import CellStates
from hydrointerp.experiments.channels import ChannelImportance
from hydrointerp.experiments.daily import DailyMaps
from hydrointerp.experiments.drivers import Drivers
from hydrointerp.experiments.heat_map import HeatMap
from hydrointerp.experiments.map_experiment import MapExperiment
from hydrointerp.experiments.perturbation import Perturbation
from hydrointerp.experiments.warming import Warming

#: the built-in experiments in the order a study runs them
BUILTIN: tuple[type[Experiment], ...] = (
    HeatMap,
    DailyMaps,
    ChannelImportance,
    Warming,
    August,
    Drivers,
    CellStates,
)


def registry() -> Mapping[str, type[Experiment]]:
    """Every registered experiment by name: the built-ins in run order, then any other in the
    order it was defined."""
    out = {cls.name: cls for cls in BUILTIN}
    out.update({k: v for k, v in registered().items() if k not in out})
    return out


def experiment_class(name: str, where: str = "experiment") -> type[Experiment]:
    """The registered experiment called ``name`` (hyphens read as underscores).

    Raises
    ------
    ConfigError
        Naming ``where`` and the known experiments, for an unknown name.
    """
    known = registry()
    key = name.replace("-", "_")
    if key not in known:
        raise ConfigError(f"unknown {where} {name!r}; known: {', '.join(known)}")
    return known[key]


__all__ = [
    "BUILTIN",
    "August",
    "CellStates",
    "ChannelImportance",
    "DailyMaps",
    "Drivers",
    "Experiment",
    "Figure",
    "HeatMap",
    "MapExperiment",
    "Perturbation",
    "Warming",
    "experiment_class",
    "registry",
]
