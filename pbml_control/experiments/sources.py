"""Source runs of the robot transfer experiments: shifting (or static) train goals of a
goal-conditioned MuJoCo task, the same budget for every arm.

``scripts/experiment_transfer.py`` trains one per (arm, seed) and moves their final
populations to held-out goals; ``scripts/experiment_beyond.py`` does the same with operators
switched on. Both build their source runs here and summarise them with :func:`source_record`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pbml_control.config import RunConfig
from pbml_control.genome import module_series

__all__ = ["source_config", "source_record"]


def source_config(
    *,
    task: str,
    seed: int,
    scheme: str,
    static: bool,
    generations: int,
    population_size: int,
    hidden: Sequence[int],
    max_episode_steps: int,
    period: int,
    init_sigma: float,
    tau: float,
    death_rate: float,
) -> RunConfig:
    """One source run: ``scheme`` on shifting train goals, or on one goal when ``static``."""
    return RunConfig.from_dict(
        {
            "seed": seed,
            "generations": generations,
            "population_size": population_size,
            "checkpoint_every": generations,
            "keep_checkpoints": 1,
            "problem": {
                "name": "mujoco",
                "task": task,
                "hidden": list(hidden),
                "episodes": 1,
                "max_episode_steps": max_episode_steps,
                "workers": 1,
            },
            "selection": {"scheme": scheme, "death_rate": death_rate},
            "mutation": {"init_sigma": init_sigma, "tau": tau, "order": "decoupled"},
            "schedule": {
                "kind": "static" if static else "random",
                "period": period,
                "split": "train",
            },
        }
    )


def source_record(run: dict[str, Any], period: int) -> dict[str, Any]:
    """A trained source run (a :func:`~pbml_control.experiments.runs.train_run` record) with
    its first goal, last goal epoch's mean and best fitness, and mean log sigma at both ends."""
    from pbml_control.runner import read_metrics

    rows = read_metrics(run["run_dir"])
    last = rows[-min(len(rows), period) :]
    log_sigma = list(module_series(rows, "log_sigma").values())
    return {
        **{key: run[key] for key in ("run_dir", "seed", "seconds", "reused")},
        "first_goal": rows[0]["goal"],
        "last_epoch_mean": sum(r["fitness_mean"] for r in last) / len(last),
        "last_epoch_best": sum(r["fitness_best"] for r in last) / len(last),
        "first_log_sigma": sum(c[0] for c in log_sigma) / len(log_sigma),
        "final_log_sigma": sum(c[-1] for c in log_sigma) / len(log_sigma),
    }
