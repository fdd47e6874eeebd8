"""The experiment docs say what the code does: the settings table of docs/experiments.md is the
one tools/experiment_table.py prints from the classes, and every `hydrointerp experiment ...`
command in a code block of the docs parses and validates its settings."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hydrointerp.cli.experiment_cmds as experiment_cmds
from hydrointerp.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _table_tool():
    spec = importlib.util.spec_from_file_location(
        "experiment_table", ROOT / "tools" / "experiment_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_experiment_table_matches_the_classes() -> None:
    tool = _table_tool()
    doc = (ROOT / "docs" / "experiments.md").read_text()
    for block in (tool.overview(), tool.settings()):
        assert "\n".join(block) in doc, "rerun: PYTHONPATH=src python tools/experiment_table.py"


def _documented_commands() -> list[tuple[str, str]]:
    out = []
    for path in DOCS:
        for block in re.findall(r"```[a-z]*\n(.*?)```", path.read_text(), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split("#")[0].strip()
                if line.startswith("hydrointerp experiment "):
                    out.append((path.name, line))
    return out


class _Parsed(Exception):
    """Raised where the command would load its inputs: everything before it parsed."""


@pytest.mark.parametrize(("doc", "command"), _documented_commands())
def test_documented_command_parses(doc: str, command: str, monkeypatch) -> None:
    def stop(*args, **kwargs):
        raise _Parsed

    monkeypatch.setattr(experiment_cmds, "resolve_inputs", stop)
    monkeypatch.setattr(experiment_cmds, "skip_if_done", lambda *a, **k: False)
    # "[--set a=b]" marks optional settings; "--models ..." a placeholder for any value
    text = command.replace("[", "").replace("]", "").replace(" ... ", " placeholder ")
    result = CliRunner().invoke(app, shlex.split(text)[1:])
    assert isinstance(result.exception, _Parsed), f"{doc}: {command}\n{result.output}"


def test_the_docs_show_experiment_commands() -> None:
    names = {line.split()[2] for _, line in _documented_commands()}
    assert {"heat_map", "daily", "channels", "warming", "august", "drivers", "cell_states"} <= names
