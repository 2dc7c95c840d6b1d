"""The goal-tracking summary of the locomotion index: rows per run, medians per budget."""

from pbml_control.experiments.locomotion_report import tracking_summary


def report(run, steps, errors, task="HalfCheetahVel"):
    goals = [
        {"goal": [g], "mean_velocity": g, "mean_abs_error": e, "met": e <= 0.15}
        for g, e in zip((-1.0, 1.0), errors, strict=True)
    ]
    return {"task": task, "run": run, "env_steps": steps, "criterion": "c", "goals": goals}


def test_rows_met_counts_and_medians_of_recipe_runs_only():
    """The median row covers the recipe's runs (pbml, long) of one budget, not other arms."""
    reports = [
        report("T__pbml__0", 80_400_000, [0.3, 0.1]),
        report("T__pbml__1", 80_700_000, [0.5, 0.2]),
        report("T__independent_goals__0", 80_600_000, [9.0, 9.0]),
        report("T__long__0", 200_300_000, [0.1, 0.2]),
    ]
    text = tracking_summary(reports)
    assert "| T__pbml__0 | 80M | 0.300 | 0.100 | 1 of 2 |" in text
    assert "| T__independent_goals__0 | 81M | 9.000 | 9.000 | 0 of 2 |" in text
    assert "| median of 2 recipe runs | 80M | 0.400 | 0.150 | |" in text
    assert "200M | 0.100" in text and "median of 1" not in text  # one run: no median row


def test_velocity_tasks_report_the_velocity():
    """A task without a velocity target (AntHeading: no error) shows the mean velocity."""
    r = report("A__pbml__0", 30_000_000, [float("nan"), float("nan")], task="AntHeading")
    text = tracking_summary([r])
    assert "mean velocity along the goal" in text
    assert "| A__pbml__0 | 30M | -1.000 | 1.000 | 0 of 2 |" in text
