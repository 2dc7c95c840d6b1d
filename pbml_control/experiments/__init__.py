"""Experiment building blocks shared by ``scripts/`` (no script imports another).

- ``runs``: arms x seeds over run folders (finished runs reused), the one process map, spans;
- ``compare``: paired comparisons by seed (t-intervals, censored tests) and their direction;
- ``sources`` and ``toy``: the robot source runs and the toy worlds' Square -> Hard Square;
- ``final`` and ``tracking``: a run's champion on fresh episodes, goal tracking per goal;
- ``*_stats``, ``*_results``, ``*_compare``: one experiment's numbers over seeds and arms;
- ``*_report``, ``*_claims``, ``*_figures``: one experiment's report, from its JSON only.

Statistics live in :mod:`pbml_control.stats`.
"""
