"""The experiments package: the process map, arms x seeds over run folders, toy transfers and
the paired comparisons the scripts report."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fault_injection import is_running

from pbml_control.config import RunConfig
from pbml_control.experiments.compare import direction, paired_epochs, paired_time
from pbml_control.experiments.runs import grid, group_by_arm, is_finished, process_map, train_grid
from pbml_control.experiments.toy import evolve_curves, hit_summary, toy_config
from pbml_control.registry import make_problem
from pbml_control.runner import read_metrics
from pbml_control.transfer import transfer_start
from pbml_control.transfer_metrics import SavedPlan, aggregate, reaggregate

TOY = {"population_size": 8, "scheme": "pbml", "schedule": "random", "period": 3,
       "init_sigma": 1.0, "tau": 0.2}  # fmt: skip


def square(arm: str, seed: int) -> RunConfig:
    return toy_config("square", seed=seed, generations=4, **{**TOY, "scheme": arm})


def test_process_map_keeps_item_order_and_reports_each_result():
    seen: list[tuple[int, int]] = []
    out = process_map(abs, [-3, 1, -2], processes=2, on_result=lambda i, r: seen.append((i, r)))
    assert out == [3, 1, 2]
    assert sorted(seen) == [(0, 3), (1, 1), (2, 2)]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_process_map_workers_do_not_outlive_a_killed_parent(tmp_path, sig):
    """A driver stopped by a signal it does not handle takes its pool's jobs down with it."""
    driver = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from fault_injection import write_pid_and_sleep\n"
        "from pbml_control.experiments.runs import process_map\n"
        f"process_map(write_pid_and_sleep, [({str(tmp_path)!r}, 120.0)] * 2, processes=2)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", driver])
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [int(p.stem) for p in tmp_path.glob("*.pid")]
        assert len(workers) == 2 and all(is_running(pid) for pid in workers)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(is_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if is_running(pid)]
    finally:
        proc.kill()
        for pid in [int(p.stem) for p in tmp_path.glob("*.pid")]:
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)


def test_grid_names_folders_and_orders_runs(tmp_path):
    specs = grid(["pbml", "greedy"], [0, 1], square, tmp_path)
    assert [(s.arm, s.seed) for s in specs] == [
        ("pbml", 0),
        ("pbml", 1),
        ("greedy", 0),
        ("greedy", 1),
    ]
    assert specs[0].run_dir == str(tmp_path / "pbml__seed0") and specs[0].config.seed == 0
    by_seed = grid(
        ["a", "b"], [0, 1], lambda a, s: square("pbml", s), tmp_path, "{arm}_s{seed}", True
    )
    assert [s.run_dir.rsplit("/", 1)[1] for s in by_seed] == ["a_s0", "b_s0", "a_s1", "b_s1"]


def test_train_grid_reuses_a_finished_run_and_retrains_a_changed_one(tmp_path):
    specs = grid(["pbml"], [0], square, tmp_path)
    first = train_grid(specs)
    assert not first[0]["reused"] and is_finished(specs[0].run_dir, specs[0].config)
    rows = read_metrics(specs[0].run_dir)
    again = train_grid(specs)
    assert again[0]["reused"] and read_metrics(specs[0].run_dir) == rows
    changed = grid(["pbml"], [0], lambda a, s: square(a, s + 1), tmp_path)
    changed = [type(specs[0])("pbml", 0, changed[0].config, specs[0].run_dir)]
    assert not train_grid(changed)[0]["reused"]
    assert group_by_arm([*again, *first]) == {"pbml": [again[0], first[0]]}


def test_toy_transfer_moves_the_population_as_pbml_transfer_does():
    """Square -> Hard Square keeps the members and their ages (birth generations shift by the
    source's generation, the fix reproduce_paper lacked) and forgets their fitness."""
    (state, problem_state), curves = evolve_curves(square("pbml", 0))
    assert set(curves) >= {"fitness_mean", "fitness_best", "log_sigma_x", "log_sigma_y"}
    hard = toy_config("hard_square", seed=1000, generations=5, **TOY)
    problem = make_problem(hard.problem)
    start = transfer_start(state, problem_state, problem)
    assert start.generation == 0 and start.next_id == state.next_id
    assert np.array_equal(start.population.ids, state.population.ids)
    ages = state.generation - state.population.birth_generation
    assert np.array_equal(0 - start.population.birth_generation, ages) and ages.max() > 0
    fitness = start.population.fitness  # forgotten: none, or NaN for every member
    assert fitness is None or np.isnan(fitness).all()
    _, hard_curves = evolve_curves(hard, (state, problem_state))
    assert len(hard_curves["fitness_mean"]) == 5


def test_hit_summary_censors_epochs_without_a_hit_at_the_period():
    best = np.array([0, 0, 1, 0, 0, 0, 1, 0, 0])
    out = hit_summary({"fitness_best": best, "fitness_mean": best / 2}, period=3)
    assert out["hit_times"] == [2, 3, 0] and out["hit_reached"] == [True, False, True]
    assert out["success"] == pytest.approx(2 / 3) and math.isclose(out["mean_fitness"], 1 / 9)


def test_direction_reads_intervals_and_censored_tests():
    assert direction({"lo": 0.1, "hi": 2.0}) == 1
    assert direction({"ci_low": 0.1, "ci_high": 2.0}, higher_is_better=False) == -1
    assert direction({"lo": -1.0, "hi": 2.0}) == 0 and direction({"lo": None, "hi": None}) is None
    first = [{"generations_to_threshold": 1, "reached_threshold": True}] * 6
    never = [{"generations_to_threshold": 9, "reached_threshold": False}] * 6
    stat = paired_time(first, never)
    assert (stat["a_first"], stat["b_first"]) == (6, 0) and direction(stat) == 1
    assert direction(paired_time(never, first)) == -1
    assert direction(paired_time(never, never)) is None
    sooner = paired_epochs([([0, 1, 0], [True] * 3)] * 4, [([3, 3, 2], [False, False, True])] * 4)
    assert sooner["z"] < 0 and direction(sooner) == 1


def test_transfer_summary_of_time_to_threshold_is_censored_and_reaggregates():
    """Generations to threshold: no mean of 'not reached = N + 1', a Kaplan-Meier median and the
    share reached; a saved transfer aggregates again to the same numbers."""
    plan = {"seeds": [0, 1, 2], "k": 1, "threshold": 1.0, "threshold_fraction": 0.5,
            "arms": ["slow", "fresh"]}  # fmt: skip
    curves = {"slow": [[0, 0, 1], [0, 0, 0], [0, 1, 1]], "fresh": [[0, 0, 0]] * 3}
    results = [
        {
            "arm": arm,
            "seed": seed,
            "fitness_mean": curve,
            "fitness_best": curve,
            "members_evaluated": 6,
        }
        for arm, arm_curves in curves.items()
        for seed, curve in enumerate(arm_curves)
    ]
    data = aggregate(SavedPlan(plan), results)
    slow = data["arms"]["slow"]
    assert [s["metrics"]["generations_to_threshold"] for s in slow["seeds"].values()] == [2, 3, 1]
    time = slow["summary"]["generations_to_threshold"]
    assert "mean" not in time and time["median"] == 2 and (time["reached"], time["n"]) == (2, 3)
    assert 0 < time["reached_ci_low"] < 2 / 3 < time["reached_ci_high"] < 1
    assert data["arms"]["fresh"]["summary"]["generations_to_threshold"]["median"] is None
    assert reaggregate(data) == data


def test_a_run_from_before_a_new_config_key_still_counts_as_finished(tmp_path):
    """A key added to the code since a run was written (schedule.stratified, at its default)
    must not make the finished run look changed: train_grid would train it again from scratch."""
    import json

    specs = grid(["pbml"], [0], square, tmp_path)
    train_grid(specs)
    path = tmp_path / "pbml__seed0" / "config.json"
    old = json.loads(path.read_text(encoding="utf-8"))
    del old["schedule"]["stratified"]
    path.write_text(json.dumps(old), encoding="utf-8")
    assert is_finished(specs[0].run_dir, specs[0].config)
    assert train_grid(specs)[0]["reused"]
