"""Peak resident memory of one PBML generation: 1,024 Ant genomes with a 64x64 MLP.

Prints the peak RSS in MiB (target: under 1 GiB). Episodes are short because memory, not
time, is measured here; the population, its policy weights, the batched simulator state and
the offspring all exist at once, as in a real run.

    python scripts/memory_check.py [--population 1024] [--steps 20]
"""

from __future__ import annotations

import argparse
import resource

from pbml_control.config import RunConfig
from pbml_control.loop import initial_state, step
from pbml_control.registry import make_problem
from pbml_control.schedules import GoalSchedule


def peak_rss_mib(population: int, steps: int) -> float:
    config = RunConfig.from_dict(
        {
            "generations": 2,
            "population_size": population,
            "problem": {
                "name": "mujoco",
                "task": "AntHeading",
                "hidden": [64, 64],
                "max_episode_steps": steps,
            },
        }
    )
    problem = make_problem(config.problem)
    try:
        schedule = GoalSchedule(config.schedule, problem.sample_goal, config.seed)
        state = initial_state(config, problem)
        for _ in range(config.generations):
            state, _, _ = step(state, config, problem, schedule)
    finally:
        problem.close()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--population", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    print(f"peak RSS: {peak_rss_mib(args.population, args.steps):.0f} MiB")


if __name__ == "__main__":
    main()
