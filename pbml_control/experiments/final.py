"""The final evaluation of a run: its champion on fresh episodes, and the run's costs.

The champion is chosen without the test episodes: the ``candidates`` survivors with the best
training fitness (the fitness memory in the checkpoint) each run ``validation`` episodes, and
the best mean wins. Training fitness alone can crown a member that got one lucky episode (with
``survivor_fitness = "keep"`` it is never re-run); the validation episodes expose it, as Such et
al. (2017) did for the Deep GA's elite. Validation and test seeds come from their own streams
and are checked against every episode seed the run trained on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.genome import Population
from pbml_control.rng import episode_seeds
from pbml_control.stats import mean_ci

__all__ = [
    "FinalEvaluation",
    "best_survivor",
    "choose_champion",
    "cumulative_wall_seconds",
    "final_evaluation",
    "fresh_test_seeds",
    "member_genome",
    "top_survivors",
]

EVAL_SEED_OFFSET = 1_000_003  # test episode seeds come from (run seed + this)
VALIDATION_SEED_OFFSET = 2_000_003  # validation episode seeds: (run seed + this)


def top_survivors(population: Population, k: int) -> np.ndarray:
    """Rows of the ``k`` members with the best training fitness, best first (never-evaluated
    members excluded)."""
    fitness = np.where(np.isfinite(population.fitness), population.fitness, -np.inf)
    if not np.isfinite(fitness).any():
        raise ValueError("no member of this checkpoint has a training fitness")
    order = np.argsort(-fitness, kind="stable")
    return order[: min(k, int(np.isfinite(fitness).sum()))]


def best_survivor(population: Population) -> int:
    """Row of the member with the best training fitness."""
    return int(top_survivors(population, 1)[0])


def cumulative_wall_seconds(run_dir: str | Path) -> np.ndarray:
    """Wall time at the end of each generation, pauses between stages left out.

    From ``timing.jsonl``: the gap between consecutive generations' end times is the
    generation's wall time (evaluation plus selection, breeding, logging, checkpoints). A gap
    longer than twice the evaluation plus 5 s spans a pause (the run was stopped and resumed),
    and counts as the evaluation time alone.
    """
    lines = (Path(run_dir) / "timing.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    ends = np.array([r["unix_time"] for r in rows])
    evals = np.array([r["eval_seconds"] for r in rows])
    gaps = np.diff(ends, prepend=ends[0] - evals[0])
    return np.cumsum(np.where(gaps > 2 * evals + 5.0, evals, gaps))


@dataclass(frozen=True)
class FinalEvaluation:
    """The protocol's ``episodes`` test returns (mean, 95% t-interval) and a wider check.

    ``check_returns`` extend the same test seed stream to ``check_episodes``: a controller that
    flips or freezes in one episode out of seven shows there, where 10 episodes may miss it.
    ``failures`` counts check episodes more than half the median's size below the median.
    """

    member_id: int
    train_fitness: float
    validation_mean: float
    candidates: int
    episode_seeds: list[int]
    returns: list[float]
    mean: float
    ci95: tuple[float, float]
    check_returns: list[float]
    check_mean: float
    failures: int

    def to_json(self) -> dict:
        return {**self.__dict__, "ci95": list(self.ci95)}


def member_genome(source: Any, row: int) -> Any:
    """Row ``row`` of a loaded run (``run_loader.load_run``) as a genome evaluate_genome takes."""
    from pbml_control.export import override_metadata
    from pbml_control.policies import LoadedGenome

    pop = source.checkpoint.population
    spec = source.policy_spec
    metadata = override_metadata(source.evaluator.config.spec_overrides)
    return LoadedGenome(spec, pop.genome(row), source.normalizer_state, metadata)


def validation_seeds(run_seed: int, count: int) -> list[int]:
    return episode_seeds(run_seed + VALIDATION_SEED_OFFSET, 0, count)


def fresh_test_seeds(source: Any, count: int, validation: int = 10, name: str = "") -> list[int]:
    """The first ``count`` test episode seeds of a loaded run (from run seed +
    ``EVAL_SEED_OFFSET``), checked to share none with its training episodes up to its
    checkpoint or its first ``validation`` validation episodes: a champion is then measured on
    episodes it was neither selected nor validated on. ``name`` names the run in the error."""
    ckpt, trained = source.checkpoint, source.evaluator.config.episodes
    seed = int(ckpt.config["seed"])
    test = episode_seeds(seed + EVAL_SEED_OFFSET, 0, count)
    val = validation_seeds(seed, validation)
    used = {s for g in range(ckpt.generation + 1) for s in episode_seeds(seed, g, trained)}
    if (used | set(val)) & set(test) or used & set(val):
        raise ValueError(f"{name or 'run'}: test, validation and training episode seeds overlap")
    return test


def choose_champion(
    source: Any, goals: list[Any], candidates: int, validation: int
) -> tuple[int, float, int]:
    """(row, validation mean, candidates tried): the best of the top ``candidates`` survivors
    by their mean return over ``validation`` episodes on each of ``goals`` (None: the task's
    default goal)."""
    from pbml_control.run_loader import genome_evaluator

    seed = int(source.checkpoint.config["seed"])
    steps = source.evaluator.config.max_episode_steps
    rows = top_survivors(source.checkpoint.population, candidates)
    # One evaluator (float64, like evaluate_genome) and one batch per goal for all candidates.
    genome = member_genome(source, int(rows[0]))
    with genome_evaluator(genome, source.task_name, validation, steps) as evaluator:
        params = source.checkpoint.population.params[rows]
        per_goal = [
            evaluator.evaluate_genome(params, goal, validation, seed + VALIDATION_SEED_OFFSET,
                                      source.normalizer_state).mean(axis=1)
            for goal in goals
        ]  # fmt: skip
    scores = np.mean(per_goal, axis=0)
    best = int(np.argmax(scores))
    return int(rows[best]), float(scores[best]), len(rows)


def final_evaluation(
    run_dir: str | Path,
    episodes: int = 10,
    check_episodes: int = 50,
    candidates: int = 10,
    validation: int = 10,
) -> FinalEvaluation:
    """The run's champion on fresh test episodes of the run's own task (module docstring)."""
    from pbml_control.run_loader import evaluate_genome, load_run

    source = load_run(run_dir)
    try:
        ckpt, problem = source.checkpoint, source.evaluator.config
        seed, steps = int(ckpt.config["seed"]), problem.max_episode_steps
        test_seeds = fresh_test_seeds(
            source, max(episodes, check_episodes), validation, str(run_dir)
        )
        champion, score, count = choose_champion(source, [None], candidates, validation)
        check = evaluate_genome(
            member_genome(source, champion), source.task_name, None, len(test_seeds), steps,
            seed + EVAL_SEED_OFFSET,
        )  # fmt: skip
        pop = ckpt.population
    finally:
        source.close()
    returns = check[:episodes]  # episode_seeds(s, 0, n) is a prefix of episode_seeds(s, 0, m > n)
    mean, lo, hi = mean_ci(returns)
    median = float(np.median(check))
    return FinalEvaluation(
        member_id=int(pop.ids[champion]),
        train_fitness=float(pop.fitness[champion]),
        validation_mean=score,
        candidates=count,
        episode_seeds=[int(s) for s in test_seeds[:episodes]],
        returns=returns.tolist(),
        mean=float(mean),
        ci95=(float(lo), float(hi)),
        check_returns=check.tolist(),
        check_mean=float(check.mean()),
        failures=int((check < median - 0.5 * abs(median)).sum()),
    )
