"""Print the markdown tables of docs/experiments.md ("Every experiment") from the built-ins.

Every registered experiment's name, class, result files, figures and quick settings, then every
settings field with its default and description, read from the classes themselves (the shared
fields, the ``Perturbation`` block, the map and temperature bases, then each experiment's own
fields and changed defaults). Rerun after adding or changing an experiment and paste the output:

    PYTHONPATH=src python tools/experiment_table.py
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from hydrointerp.experiments.base import Experiment
from hydrointerp.experiments.catalog import BUILTIN, MapExperiment, Perturbation
from hydrointerp.experiments.warming import TemperatureShift

BASES: tuple[type[Experiment], ...] = (MapExperiment, TemperatureShift)


def _value(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, tuple):
        value = list(value)
    return "`" + json.dumps(value, separators=(", ", ": ")) + "`"


def _default(model: type[BaseModel], field: str) -> Any:
    return model.model_fields[field].get_default(call_default_factory=True)


def _base(cls: type[Experiment]) -> type[Experiment]:
    return next((b for b in BASES if issubclass(cls, b)), Experiment)


def _rows(model: type[BaseModel], fields: list[str], where: str = "") -> list[str]:
    out = []
    for name in fields:
        info = model.model_fields[name]
        default = _default(model, name)
        if isinstance(default, Perturbation):
            changed = {
                k: v
                for k, v in default.model_dump(mode="json").items()
                if v != Perturbation().model_dump(mode="json")[k]
            }
            shown = "`Perturbation(" + ", ".join(f"{k}={v}" for k, v in changed.items()) + ")`"
            text = "the perturbation block (fields above); these defaults differ"
        else:
            shown, text = _value(default), info.description or ""
        text = text.replace("|", "\\|")  # a literal bar inside a table cell
        out.append(f"| `{where}{name}` | {shown} | {text} |")
    return out


def overview() -> list[str]:
    """One row per registered experiment."""
    lines = [
        "| name | class (base) | result (`experiments/`) | figures (`figures/`) | simulator |"
        " `quick` settings |",
        "|---|---|---|---|---|---|",
    ]
    for name, cls in ((c.name, c) for c in BUILTIN):  # the package's own, not test ones
        files = f"`{cls.file}.nc`"
        if cls.truth_outputs is not Experiment.truth_outputs:
            scored = ", ".join(f"`{s}.nc`" for s in cls.scores if s != cls.file)
            files += " + `truth_outputs` files" + (f" (scored: {scored})" if scored else "")
        figs = ", ".join(f"`{f.stem}.png`" for f in cls.figures) or "—"
        quick = _value(dict(cls.quick)) if cls.quick else "— (none)"
        sim = "yes" if cls.on_simulator else "no"
        lines.append(
            f"| `{name}` | `{cls.__name__}` ({_base(cls).__name__}) | {files} |"
            f" {figs} | {sim} | {quick} |"
        )
    return lines


def settings() -> list[str]:
    """Every settings field: shared, the Perturbation block, the bases, each experiment's own."""
    lines = ["| field | default | meaning (unit) |", "|---|---|---|"]
    lines += ["| **every experiment** | | |"]
    lines += _rows(Experiment, list(Experiment.model_fields))
    lines += ["| **`perturbation` block** (map experiments) | | |"]
    lines += _rows(Perturbation, list(Perturbation.model_fields), "perturbation.")
    for base in BASES:
        own = [f for f in base.model_fields if f not in Experiment.model_fields]
        lines += [f"| **{base.__name__}** | | |"]
        lines += _rows(base, [f for f in own if f != "perturbation"])
    for name, cls in ((c.name, c) for c in BUILTIN):  # the package's own, not test ones
        base = _base(cls)
        own = [
            f
            for f in cls.model_fields
            if f not in base.model_fields or _default(cls, f) != _default(base, f)
        ]
        if own:
            lines += [f"| **`{name}`** | | |"]
            lines += _rows(cls, own)
    return lines


def main() -> None:
    print("\n".join(overview()))
    print()
    print("\n".join(settings()))


if __name__ == "__main__":
    main()
