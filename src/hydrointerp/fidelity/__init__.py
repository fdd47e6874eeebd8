"""Fidelity of interpretations against the virtual region's known truth.

See docs/fidelity.md. Modules: :mod:`.metrics` (per-sample scores), :mod:`.explainers` (broken
and trivial explainers), :mod:`.truth` (the exact contribution truth), :mod:`.skill` (skill,
intervals, flags), :mod:`.randomise` (cascading randomisation), :mod:`.controls` (the runs
behind each score), :mod:`.bundle` with :mod:`.map_scores`, :mod:`.curve_scores` and
:mod:`.state_scores` (the scorers each experiment names as its ``scores`` hook) and
:mod:`.table` (the run's table).
"""
