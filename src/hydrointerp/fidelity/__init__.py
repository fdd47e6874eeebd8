"""Fidelity of interpretations against the virtual region's known truth.

See docs/fidelity.md. Modules: :mod:`.metrics` (per-sample scores), :mod:`.explainers` (broken
and trivial explainers), :mod:`.truth` (the exact contribution truth), :mod:`.skill` (skill,
intervals, flags), :mod:`.randomise` (cascading randomisation), :mod:`.controls` (the runs
behind each score), :mod:`.scorers` (one per experiment) and :mod:`.table` (the run's table).
"""
