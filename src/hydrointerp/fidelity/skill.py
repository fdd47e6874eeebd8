"""Skill against the best trivial baseline, with bootstrap intervals, and the table's flags.

For one experiment, metric and truth, the scorer hands over per-unit scores (units: stations,
clusters, groups, days) of

* the method (one row per independent draw, ``draw`` dimension),
* every baseline explainer (random on the same masks, untrained network, priors...),
* the ceiling: an independent truth scored against the truth (the noise ceiling).

:func:`skill_row` averages over units, picks the best baseline, and computes
``skill = (score - baseline) / (ceiling - baseline)`` (1 = as good as the truth agrees with
itself, 0 = no better than the best trivial explainer, < 0 worse). Intervals come from a paired
bootstrap: the same resampled units for method, baselines and ceiling, and a random draw of the
method per unit, so they cover the spread over units *and* over mask draws.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import xarray as xr

from hydrointerp.errors import DataError

N_BOOT = 1000
LEVEL = 0.95
MIN_UNITS = 5  # fewer units than this: the bootstrap interval is not meaningful (flagged)

#: table columns, in order
COLUMNS = (
    "experiment",
    "method",
    "metric",
    "truth",
    "value",
    "low",
    "high",
    "baseline",
    "baseline_name",
    "ceiling",
    "skill",
    "skill_low",
    "skill_high",
    "flag",
    "n_units",
    "units",
    "higher_is_better",
    "converged",
)


@dataclass
class ScoreRow:
    """One row of ``fidelity.csv``."""

    experiment: str
    method: str
    metric: str
    truth: str
    value: float
    low: float
    high: float
    baseline: float = float("nan")
    baseline_name: str = ""
    ceiling: float = float("nan")
    skill: float = float("nan")
    skill_low: float = float("nan")
    skill_high: float = float("nan")
    flag: str = ""
    n_units: int = 0
    units: str = "1"
    higher_is_better: bool = True
    converged: bool = True
    flags: list[str] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        """The row as a plain dict in :data:`COLUMNS` order (flags joined by ``;``)."""
        d = asdict(self)
        d["flag"] = ";".join(dict.fromkeys([*filter(None, self.flag.split(";")), *self.flags]))
        return {k: d[k] for k in COLUMNS}


def _units_matrix(scores: xr.DataArray, unit_dim: str) -> np.ndarray:
    """``[draw, unit]`` float64 of per-unit scores (a ``draw`` dim is optional)."""
    if unit_dim not in scores.dims:
        raise DataError(
            "scores lack the unit dimension",
            variable=unit_dim,
            expected=unit_dim,
            found=list(scores.dims),
        )
    s = scores if "draw" in scores.dims else scores.expand_dims(draw=[0])
    extra = [d for d in s.dims if d not in ("draw", unit_dim)]
    if extra:
        s = s.mean(extra, skipna=True)
    return s.transpose("draw", unit_dim).values.astype(np.float64)


def _agg(m: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        return float(np.nanmean(m)) if np.isfinite(m).any() else float("nan")


def _agg_rows(m: np.ndarray) -> np.ndarray:
    """:func:`_agg` of every row (one bootstrap resample per row)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN resamples give NaN
        return np.nanmean(m, axis=-1)


def _skill(score, base, ceiling):  # noqa: ANN001, ANN202 - floats or arrays alike
    """``(score - base) / (ceiling - base)``; NaN where the denominator is 0 or not finite."""
    den = np.asarray(ceiling - base, dtype=np.float64)
    ok = np.isfinite(den) & (den != 0)
    out = np.where(ok, (score - base) / np.where(ok, den, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def skill_row(
    experiment: str,
    method: str,
    metric: str,
    truth: str,
    scores: xr.DataArray,
    baselines: Mapping[str, xr.DataArray],
    ceiling: xr.DataArray | None,
    unit_dim: str,
    higher_is_better: bool = True,
    units: str = "1",
    converged: bool = True,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> ScoreRow:
    """Aggregate per-unit scores into one :class:`ScoreRow` with skill and intervals.

    Parameters
    ----------
    scores
        The method's per-unit scores ``(unit_dim[, draw])``.
    baselines
        Per-unit scores of each baseline explainer (same units).
    ceiling
        Per-unit scores of an independent truth against the truth (None: the truth is exact,
        ceiling = the metric's perfect value is not known here, so no skill).
    higher_is_better
        Direction of the metric; the best baseline is the max (or min) of the baselines' means.
    """
    m = _units_matrix(scores, unit_dim)
    n_units = m.shape[1]
    sign = 1.0 if higher_is_better else -1.0
    base_m = {
        k: _units_matrix(v, unit_dim).mean(axis=0, keepdims=True) for k, v in baselines.items()
    }
    base_vals = {k: _agg(v) for k, v in base_m.items()}
    finite = {k: v for k, v in base_vals.items() if np.isfinite(v)}
    best = max(finite, key=lambda k: sign * finite[k]) if finite else ""
    ceil_m = _units_matrix(ceiling, unit_dim).mean(axis=0) if ceiling is not None else None
    value = _agg(m)
    b = finite.get(best, float("nan"))
    c = _agg(ceil_m) if ceil_m is not None else float("nan")
    row = ScoreRow(
        experiment,
        method,
        metric,
        truth,
        value,
        np.nan,
        np.nan,
        b,
        best,
        c,
        _skill(value, b, c),
        n_units=n_units,
        units=units,
        higher_is_better=higher_is_better,
        converged=converged,
    )
    # all resamples at once; the bounds interleave as a loop would draw them (units, then the
    # method's draw per unit), so the stream is that of one resample after another
    rng = np.random.default_rng(seed)
    high = np.empty((n_boot, 2, n_units), dtype=np.int64)
    high[:, 0], high[:, 1] = n_units, m.shape[0]
    picks = rng.integers(0, high) if n_boot else high
    idx, draw = picks[:, 0], picks[:, 1]
    boots = _agg_rows(m[draw, idx])
    skills = np.empty(0)
    if best and ceil_m is not None and n_boot:
        skills = _skill(boots, _agg_rows(base_m[best][0, idx]), _agg_rows(ceil_m[idx]))
    alpha = (1 - LEVEL) / 2
    if n_units > 1 and n_boot and np.isfinite(boots).any():
        row.low, row.high = (float(x) for x in np.nanquantile(boots, [alpha, 1 - alpha]))
    if skills.size and np.isfinite(skills).any():
        row.skill_low, row.skill_high = (
            float(x) for x in np.nanquantile(skills, [alpha, 1 - alpha])
        )
    _flag(row)
    return row


def _flag(row: ScoreRow) -> None:
    sign = 1.0 if row.higher_is_better else -1.0
    if not row.converged:
        row.flags.append("not_converged")
    if np.isfinite(row.ceiling) and np.isfinite(row.baseline):
        if sign * (row.ceiling - row.baseline) <= 0:
            row.flags.append("ceiling_not_above_baseline")
    if np.isfinite(row.skill_low) and row.skill_low <= 0:
        row.flags.append("worse_than_baseline" if row.skill_high < 0 else "no_skill")
    if row.n_units < MIN_UNITS:
        row.flags.append("few_units")


def reference_row(
    experiment: str,
    method: str,
    metric: str,
    truth: str,
    scores: xr.DataArray,
    unit_dim: str,
    higher_is_better: bool = True,
    units: str = "1",
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> ScoreRow:
    """A row without skill: a reference level (noise ceiling, self-agreement, a baseline)."""
    return skill_row(
        experiment,
        method,
        metric,
        truth,
        scores,
        {},
        None,
        unit_dim,
        higher_is_better,
        units,
        True,
        n_boot,
        seed,
    )


def verdict(row: Mapping) -> str:
    """One sentence a user can act on, from a table row."""
    flag = str(row.get("flag", "") or "")
    skill, lo, hi = (float(row.get(k, np.nan)) for k in ("skill", "skill_low", "skill_high"))
    if not np.isfinite(skill):
        return "no skill computed (no ceiling or baseline for this score)"
    span = f"skill {skill:.2f} [{lo:.2f}, {hi:.2f}]"
    if "ceiling_not_above_baseline" in flag:
        return f"{span}: the truth is no better than a trivial explainer here; not interpretable"
    if "worse_than_baseline" in flag:
        return f"{span}: worse than the trivial '{row.get('baseline_name')}'; do not trust it"
    if "no_skill" in flag:
        return f"{span}: not distinguishable from '{row.get('baseline_name')}'; do not trust it"
    if "randomisation" in flag:
        return f"{span}: does not change when the model is randomised; do not trust it"
    if lo >= 0.5:
        return f"{span}: trustworthy (at least half of the attainable agreement)"
    return f"{span}: better than trivial, but well below the attainable agreement; use with care"
