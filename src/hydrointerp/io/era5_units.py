"""ERA5 units: temperature to K and precipitation to mm per time step, read from ``units``.

Temperatures in K or degC (any common spelling); precipitation as an amount per step (m, mm,
kg m-2) or as a rate (kg m-2 s-1, mm/h, mm/day, m/day, ...) that is multiplied by the file's time
step. Tiny negative amounts from int16 packing become 0 (:data:`PACKING_NOISE_MM`); larger
negative values are kept so that the RegionData checks report them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from hydrointerp.errors import DataError

_TEMP_OFFSET = {"k": 0.0, "kelvin": 0.0, "degk": 0.0, "degreesk": 0.0}
_TEMP_OFFSET |= dict.fromkeys(
    ("degc", "c", "celsius", "deg_c", "degreesc", "degree_celsius", "degrees_celsius"), 273.15
)
# precipitation amounts: mm per unit
_PRECIP_AMOUNT = {"m": 1000.0, "mofwaterequivalent": 1000.0, "mm": 1.0, "kgm-2": 1.0}
_PRECIP_AMOUNT |= {"kg/m2": 1.0, "mmofwaterequivalent": 1.0}
# precipitation rates: mm per second per unit
_PRECIP_RATE = {"kgm-2s-1": 1.0, "mms-1": 1.0, "mm/s": 1.0, "ms-1": 1000.0, "m/s": 1000.0}
_PRECIP_RATE |= dict.fromkeys(("mmh-1", "mm/h", "mm/hr", "mmhr-1"), 1 / 3600)
_PRECIP_RATE |= dict.fromkeys(("mmd-1", "mm/d", "mm/day", "mmday-1"), 1 / 86400)
_PRECIP_RATE |= dict.fromkeys(("md-1", "m/d", "m/day", "mday-1"), 1000 / 86400)

#: Negative precipitation above this (mm per step) is int16 packing noise and becomes 0.
PACKING_NOISE_MM = 0.01


def _canon_unit(unit: str) -> str:
    u = unit.strip().lower()
    for old, new in (("**", ""), ("^", ""), (" ", ""), ("·", ""), ("°", "deg")):
        u = u.replace(old, new)
    return u


def temperature_k(da: xr.DataArray, source: str, variable: str) -> xr.DataArray:
    """Temperature in K (float32) from K or degC as its ``units`` attribute says.

    A ``units`` attribute that is neither (or none) is a DataError naming ``source`` and
    ``variable``.
    """
    unit = str(da.attrs.get("units", ""))
    if _canon_unit(unit) not in _TEMP_OFFSET:
        raise DataError(
            "unknown temperature units",
            source=source,
            variable=variable,
            expected="K or degC",
            found=unit or "no units attribute",
        )
    return (da + _TEMP_OFFSET[_canon_unit(unit)]).astype(np.float32)


def precip_mm_per_step(
    da: xr.DataArray, source: str, variable: str, step: pd.Timedelta
) -> xr.DataArray:
    """Precipitation as mm per time step (amounts as stored, rates times the step).

    ``step`` is the file's time step. A ``units`` attribute that is neither a known amount nor
    a known rate (or none) is a DataError naming ``source`` and ``variable``.
    """
    unit = str(da.attrs.get("units", ""))
    canon = _canon_unit(unit)
    if canon in _PRECIP_AMOUNT:
        return _clip_packing_noise((da * _PRECIP_AMOUNT[canon]).astype(np.float32))
    if canon in _PRECIP_RATE:
        scale = _PRECIP_RATE[canon] * step.total_seconds()
        return _clip_packing_noise((da * scale).astype(np.float32))
    raise DataError(
        "unknown precipitation units",
        source=source,
        variable=variable,
        expected="m, mm, kg m-2 (amounts) or kg m-2 s-1, mm/day (rates)",
        found=unit or "no units attribute",
    )


def _clip_packing_noise(mm: xr.DataArray) -> xr.DataArray:
    """Set tiny negative amounts (> -PACKING_NOISE_MM, from int16 packing) to 0.

    Larger negative values are kept, so RegionData validation reports them.
    """
    return xr.where((mm < 0) & (mm > -PACKING_NOISE_MM), np.float32(0), mm, keep_attrs=True)
