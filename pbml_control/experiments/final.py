"""The final evaluation of a run: its best survivor on fresh episodes, and the run's costs.

The member is chosen by its training fitness (the fitness memory in the checkpoint), never by
the evaluation episodes, and the evaluation seeds are checked against every episode seed the
run trained on, so the number is an honest held-out estimate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbml_control.genome import Population
from pbml_control.rng import episode_seeds
from pbml_control.stats import mean_ci

__all__ = ["FinalEvaluation", "best_survivor", "cumulative_wall_seconds", "final_evaluation"]

EVAL_SEED_OFFSET = 1_000_003  # evaluation episode seeds come from (run seed + this)
PAUSE_SECONDS = 600.0  # a gap between generations longer than this is a pause between stages


def best_survivor(population: Population) -> int:
    """Row of the member with the best training fitness (members never evaluated excluded)."""
    fitness = np.where(np.isfinite(population.fitness), population.fitness, -np.inf)
    if not np.isfinite(fitness).any():
        raise ValueError("no member of this checkpoint has a training fitness")
    return int(np.argmax(fitness))


def cumulative_wall_seconds(run_dir: str | Path) -> np.ndarray:
    """Wall time at the end of each generation, pauses between stages left out.

    From ``timing.jsonl``: the gaps between consecutive generations' end times, plus the first
    generation's evaluation time; a gap over ``PAUSE_SECONDS`` counts as zero.
    """
    lines = (Path(run_dir) / "timing.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    ends = np.array([r["unix_time"] for r in rows])
    gaps = np.diff(ends, prepend=ends[0] - rows[0]["eval_seconds"])
    return np.cumsum(np.where(gaps > PAUSE_SECONDS, 0.0, gaps))


@dataclass(frozen=True)
class FinalEvaluation:
    """The protocol's first ``episodes`` returns (mean, 95% t-interval) and a wider check.

    ``check_returns`` extend the same seed stream to ``check_episodes``: a controller that
    flips or freezes in one episode out of seven shows there, where 10 episodes may miss it.
    ``failures`` counts check episodes more than half the median's size below the median.
    """

    member_id: int
    train_fitness: float
    episode_seeds: list[int]
    returns: list[float]
    mean: float
    ci95: tuple[float, float]
    check_returns: list[float]
    check_mean: float
    failures: int

    def to_json(self) -> dict:
        return {**self.__dict__, "ci95": list(self.ci95)}


def final_evaluation(
    run_dir: str | Path, episodes: int = 10, check_episodes: int = 50
) -> FinalEvaluation:
    """The run's best survivor on fresh episodes of the run's own task (see FinalEvaluation)."""
    from pbml_control.members import load_source
    from pbml_control.mujoco_problem import evaluate_genome
    from pbml_control.policies import LoadedGenome

    source = load_source(run_dir)
    try:
        ckpt, problem = source.checkpoint, source.problem
        seed = int(ckpt.config["seed"])
        pop = ckpt.population
        best = best_survivor(pop)
        eval_seed = seed + EVAL_SEED_OFFSET
        seeds = episode_seeds(eval_seed, 0, max(episodes, check_episodes))
        trained = problem.config.episodes
        used = {s for g in range(ckpt.generation + 1) for s in episode_seeds(seed, g, trained)}
        if used & set(seeds):
            raise ValueError(f"{run_dir}: an evaluation episode seed was used in training")
        genome = LoadedGenome(
            problem.policy_spec,
            pop.params[best],
            pop.log_sigma[best],
            pop.logit_p[best],
            source.normalizer_state,
            {},
        )
        check = evaluate_genome(
            genome, source.task_name, None, len(seeds), problem.config.max_episode_steps, eval_seed
        )
    finally:
        source.close()
    returns = check[:episodes]  # episode_seeds(s, 0, n) is a prefix of episode_seeds(s, 0, m > n)
    mean, lo, hi = mean_ci(returns)
    return FinalEvaluation(
        member_id=int(pop.ids[best]),
        train_fitness=float(pop.fitness[best]),
        episode_seeds=[int(s) for s in seeds[:episodes]],
        returns=returns.tolist(),
        mean=float(mean),
        ci95=(float(lo), float(hi)),
        check_returns=check.tolist(),
        check_mean=float(check.mean()),
        failures=int((check < np.median(check) - 0.5 * abs(np.median(check))).sum()),
    )
