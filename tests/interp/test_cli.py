"""The fidelity verb on a run folder with nothing to score is a user error."""

from __future__ import annotations

from typer.testing import CliRunner

from hydrointerp.cli import app
from hydrointerp.errors import DataError


def test_fidelity_verb_on_empty_folder_is_a_user_error(tmp_path) -> None:
    result = CliRunner().invoke(app, ["fidelity", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, DataError)
    assert "nothing to score" in str(result.exception)
