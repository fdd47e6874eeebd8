"""The one window spec, the one architecture and the published seeds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hydrointerp.config import Split, WindowSpec, published_seeds
from hydrointerp.data.windows import Normaliser, make_windows, resolve_split
from hydrointerp.errors import ConfigError, ModelFormatError
from hydrointerp.models.cnn_lstm import CNNLSTM, Architecture


def test_unresolved_split_is_refused_and_resolved_from_the_region(region) -> None:
    norm = Normaliser().fit(region, (2000, 2001))
    with pytest.raises(ConfigError, match="windows.split.train is not set"):
        make_windows(region, norm, WindowSpec(lookback=20))
    # 2000-2003 with a 20-day look-back: targets from 2000-01-21, so 2001-2003 are whole years
    spec = resolve_split(WindowSpec(lookback=20, split=Split(test=(2003, 2003))), region)
    assert [spec.split.years(n) for n in ("train", "val", "test")] == [
        (2001, 2001),
        (2002, 2002),
        (2003, 2003),
    ]
    assert spec.fit_years() == (2000, 2001)  # one look-back year before the training years
    given = WindowSpec(split=Split(train=(2000, 2000), val=(2001, 2001), test=(2002, 2003)))
    assert resolve_split(given, region) == given
    win = make_windows(region, norm, spec)
    assert win.dates[win.splits["test"][0]].year == 2003 and win.lookback == 20


def test_one_architecture_for_configs_models_and_saved_files() -> None:
    arch = Architecture.for_region(
        {"lstm_units": 8, "conv_filters": [4, 4], "conv_kernels": [1, 3]}, 5
    )
    assert arch == Architecture(n_out=5, lstm_units=8, conv_filters=(4, 4), conv_kernels=(1, 3))
    assert arch.in_channels == 3 and arch.conv_filters == (4, 4)  # YAML lists become tuples
    with pytest.raises(ConfigError, match="ensemble.model.in_channels is taken from the region"):
        Architecture.for_region({"in_channels": 4}, n_out=5)
    with pytest.raises(ValidationError, match="lstm_unit"):
        Architecture.for_region({"lstm_unit": 8}, n_out=5)
    with pytest.raises(ValidationError, match="same length"):
        CNNLSTM(conv_filters=(4,), conv_kernels=(1, 3))
    published = Architecture()
    saved = published.to_dict()
    assert saved["conv_filters"] == [32, 16, 16, 32, 32] and saved["spatial_pool"] is None
    assert Architecture.from_dict(saved) == published
    # files written before the single class carry an always-empty "extra" entry
    assert Architecture.from_dict({**saved, "extra": {}}) == published
    with pytest.raises(ModelFormatError, match="extra"):
        Architecture.from_dict({**saved, "extra": {"x": 1}})
    assert published.with_outputs(12).n_out == 12 and published.with_outputs(12).lstm_units == 80
    undocumented = [n for n, f in Architecture.model_fields.items() if not f.description]
    assert undocumented == []


def test_published_seeds() -> None:
    assert published_seeds(10) == [0, 11, 22, 33, 44, 55, 66, 77, 88, 99]
    assert published_seeds(2) == [0, 11]
