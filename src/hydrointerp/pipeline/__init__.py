"""The study pipeline: fingerprinted, resumable stages in one run directory.

``run_study(config, out=..., shared=..., force=..., workers=..., scheduler=..., until=...)`` runs
data -> windows -> clusters -> ensemble -> fine-tune -> skill -> experiments -> fidelity ->
figures -> report (see ``docs/pipeline.md``).
"""

from __future__ import annotations

from hydrointerp.pipeline.runner import InjectedFailure, RunContext, Stage, run_stages
from hydrointerp.pipeline.study import build_stages, run_study

__all__ = ["InjectedFailure", "RunContext", "Stage", "build_stages", "run_stages", "run_study"]
