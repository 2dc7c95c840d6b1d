"""The progress bar counts env steps against a budget, generations otherwise."""

from types import SimpleNamespace

from pbml_control.progress import ProgressBar


def _row(generation: int, steps: int, total: int) -> dict:
    return {"generation": generation, "fitness_mean": 1.0, "fitness_best": 2.0,
            "env_steps": steps, "env_steps_total": total}  # fmt: skip


def test_a_budgeted_run_counts_env_steps_from_where_it_resumed():
    bar = ProgressBar(total=1_000_000, env_step_budget=4_000)
    bar.update(SimpleNamespace(generation=6), _row(5, 500, 3_000), seconds=1.0)
    bar.update(SimpleNamespace(generation=7), _row(6, 700, 3_700), seconds=1.0)
    assert (bar._bar.total, bar._bar.n, bar._bar.unit) == (4_000, 3_700, "step")
    bar.close()


def test_an_unbudgeted_run_counts_generations():
    bar = ProgressBar(total=10)
    bar.update(SimpleNamespace(generation=3), _row(2, 500, 1_500), seconds=1.0)
    assert (bar._bar.total, bar._bar.n, bar._bar.unit) == (10, 3, "gen")
    bar.close()
