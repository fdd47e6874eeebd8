"""io test fixtures; the file writers live in ``io_rawfiles.py`` beside this file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture()
def flow_series() -> dict[str, pd.Series]:
    """Two stations' daily flow 2001-2003 with known gaps."""
    days = pd.date_range("2001-01-01", "2003-12-31", freq="D")
    doy = days.day_of_year.to_numpy()
    a = 5 + 40 * np.exp(-(((doy - 160) / 30.0) ** 2))
    b = 2 + 10 * np.exp(-(((doy - 130) / 25.0) ** 2))
    b[100:130] = np.nan
    return {"08AA001": pd.Series(a, index=days), "08BB002": pd.Series(b, index=days)}
