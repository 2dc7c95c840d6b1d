"""The evolution loop: determinism, resume, NaN handling, lineage bookkeeping."""

import dataclasses
import json

import numpy as np
import pytest

from pbml_control.config import RunConfig
from pbml_control.genome import ModuleLayout
from pbml_control.loop import evolve, initial_state
from pbml_control.problem import Evaluation
from pbml_control.registry import make_problem
from pbml_control.runner import read_metrics, train


def run_metrics(config: RunConfig) -> list[dict]:
    problem = make_problem(config.problem)
    rows: list[dict] = []
    evolve(initial_state(config, problem), config, problem, [lambda s, m, t: rows.append(m)])
    return rows


def test_same_seed_gives_bit_identical_metrics(square_config):
    """Two runs with one seed agree exactly, row for row."""
    assert json.dumps(run_metrics(square_config)) == json.dumps(run_metrics(square_config))


def test_different_seed_gives_different_run(square_config):
    """The seed matters (guards against a loop that ignores it)."""
    other = dataclasses.replace(square_config, seed=8)
    assert run_metrics(square_config) != run_metrics(other)


def test_population_size_is_constant_and_ids_unique(square_config):
    """Every generation has N distinct members and newborns get ids never used before."""
    problem = make_problem(square_config.problem)
    n = square_config.population_size
    births = []

    def check(state, metrics, seconds):
        assert len(state.population) == n
        assert len(set(state.population.ids.tolist())) == n
        births.append(metrics["offspring"])

    final = evolve(initial_state(square_config, problem), square_config, problem, [check])
    assert final.next_id == n + sum(births)
    assert final.population.ids.max() < final.next_id


class NaNProblem:
    """A problem whose evaluation returns NaN and inf for some members."""

    layout = ModuleLayout(("w",), ((2,),))

    def initial_params(self, rng):
        return rng.standard_normal(2)

    def sample_goal(self, rng, split="train"):
        return np.zeros(1)

    def evaluate(self, params, goal, seed, generation):
        fitness = -np.abs(params).sum(axis=1)
        fitness[::3] = np.nan
        fitness[1::5] = np.inf
        return Evaluation(fitness)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

    def close(self):
        pass


def test_nan_and_inf_fitness_do_not_crash_and_are_counted(square_config):
    """Invalid fitness ranks last, is counted, and the finite stats stay finite."""
    config = dataclasses.replace(square_config, generations=5)
    problem = NaNProblem()
    rows: list[dict] = []
    evolve(initial_state(config, problem), config, problem, [lambda s, m, t: rows.append(m)])
    assert all(r["invalid_fitness"] > 0 for r in rows)
    assert all(np.isfinite(r["fitness_mean"]) for r in rows)


def test_resumed_run_equals_uninterrupted_run(tmp_path, square_config):
    """Stopping at a checkpoint and resuming gives the same metrics and final population."""
    full = train(tmp_path / "full", square_config)
    half = dataclasses.replace(square_config, generations=17)
    train(tmp_path / "split", half)
    resumed = train(tmp_path / "split", square_config, resume=True)
    assert read_metrics(tmp_path / "full") == read_metrics(tmp_path / "split")
    for name, value in full.state.population.arrays().items():
        assert np.array_equal(value, resumed.state.population.arrays()[name], equal_nan=True), name


def test_resume_after_crash_drops_rows_past_the_checkpoint(tmp_path, square_config):
    """Rows logged after the last checkpoint (and a torn line) are replaced, not duplicated."""
    train(tmp_path / "full", square_config)
    run = tmp_path / "crash"
    train(run, dataclasses.replace(square_config, generations=13))
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write('{"generation": 13, "fitness_mean": 99}\n{"generation": 14, "fitn')
    train(run, square_config, resume=True)
    assert read_metrics(run) == read_metrics(tmp_path / "full")


INTERRUPT_AT: list[int] = []  # evaluation count at which CountingProblem raises, once


class CountingProblem(NaNProblem):
    """A problem with state (evaluations so far) that is updated inside evaluate()."""

    def __init__(self) -> None:
        self.count = 0

    def evaluate(self, params, goal, seed, generation):
        self.count += 1
        if INTERRUPT_AT and self.count == INTERRUPT_AT[0]:
            INTERRUPT_AT.clear()
            raise KeyboardInterrupt  # after the state changed: Ctrl-C mid-generation
        return Evaluation(-np.abs(params).sum(axis=1), {"evaluations_total": self.count})

    def state_dict(self):
        return {"count": np.array(self.count)}

    def load_state_dict(self, state):
        self.count = int(state["count"])


def make_counting() -> CountingProblem:
    return CountingProblem()


def test_interrupt_after_the_problem_changed_resumes_exactly(tmp_path, monkeypatch, square_config):
    """The interrupt checkpoint holds the problem state of its own generation, not a later one."""
    from pbml_control.config import ProblemConfig
    from pbml_control.registry import PROBLEMS
    from pbml_control.runner import RunInterrupted

    monkeypatch.setitem(PROBLEMS, "counting", f"{__name__}:make_counting")
    config = dataclasses.replace(square_config, problem=ProblemConfig("counting", {}))
    train(tmp_path / "full", config)
    INTERRUPT_AT[:] = [8]
    with pytest.raises(RunInterrupted):
        train(tmp_path / "split", config)
    train(tmp_path / "split", config, resume=True)
    assert read_metrics(tmp_path / "split") == read_metrics(tmp_path / "full")
