"""A progress bar (tqdm) that shows generation, mean and best fitness, and env steps per second.

A goal task's bar also shows the normalised mean/best fitness (``norm``; normalised.py: 0 =
standing still, 1 = perfect), and says so in one line above the bar when it opens.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

from pbml_control.loop import EvolutionState, Metrics

__all__ = ["JobProgress", "ProgressBar"]


class ProgressBar:
    """Created lazily on the first generation, when the start is known.

    A run that an env-step budget ends (``max_env_steps``) counts env steps against that
    budget, so its bar and time estimate are true; otherwise it counts generations.
    """

    def __init__(
        self, total: int | None = None, env_step_budget: int = 0, legend: str | None = None
    ) -> None:
        self._bar: tqdm | None = None
        self._total = total
        self._budget = env_step_budget
        self._legend = legend

    def _open(self, state: EvolutionState, metrics: Metrics) -> tqdm:
        if self._legend and "fitness_mean_normalised" in metrics:
            note = f"pbml: note: norm = normalised mean/best fitness: {self._legend}"
            print(note, file=sys.stderr)
        if self._budget:
            done = int(metrics.get("env_steps_total", 0)) - int(metrics.get("env_steps", 0))
            return tqdm(total=self._budget, initial=done, unit="step", unit_scale=True,
                        file=sys.stderr, dynamic_ncols=True)  # fmt: skip
        return tqdm(total=self._total, initial=state.generation - 1, unit="gen",
                    file=sys.stderr, dynamic_ncols=True)  # fmt: skip

    def update(self, state: EvolutionState, metrics: Metrics, seconds: float) -> None:
        if self._bar is None:
            self._bar = self._open(state, metrics)
        postfix = {
            "mean": f"{metrics['fitness_mean']:.3g}",
            "best": f"{metrics['fitness_best']:.3g}",
        }
        if "fitness_mean_normalised" in metrics:
            postfix["norm"] = (
                f"{_fixed(metrics['fitness_mean_normalised'])}/"
                f"{_fixed(metrics.get('fitness_best_normalised'))}"
            )
        steps = metrics.get("env_steps")
        if steps and seconds > 0:
            postfix["steps/s"] = f"{float(steps) / seconds:.0f}"
        if self._budget:
            postfix = {"gen": str(metrics.get("generation", state.generation - 1)), **postfix}
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(int(steps or 0) if self._budget else 1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _fixed(value: object) -> str:
    """A normalised value with 3 decimals (nan for a missing or undefined one)."""
    return f"{value:.3f}" if isinstance(value, int | float) else "nan"


class JobProgress:
    """A bar over the generations of a grid of jobs (``pbml transfer``'s arms x seeds).

    Jobs that run in this process advance it generation by generation; jobs that run in other
    processes advance it by their whole length as each finishes; reused jobs count as done
    from the start. The postfix names the job now running or the last one finished.
    """

    def __init__(self, total: int, done: int = 0, jobs: int = 0, reused: int = 0) -> None:
        self._bar = tqdm(total=total, initial=done, unit="gen", desc="transfer", file=sys.stderr,
                         dynamic_ncols=True)  # fmt: skip
        self._jobs, self._finished = jobs, reused

    def start(self, name: str) -> None:
        """A job begins in this process."""
        self._bar.set_postfix_str(f"job {self._finished + 1}/{self._jobs}: {name}", refresh=True)

    def generation(self) -> None:
        self._bar.update(1)

    def finished(self, name: str, generations: int = 0) -> None:
        """A job finished; ``generations`` it ran that were not counted one by one."""
        self._finished += 1
        self._bar.set_postfix_str(f"{self._finished}/{self._jobs} jobs done, last: {name}",
                                  refresh=False)  # fmt: skip
        self._bar.update(generations)

    def close(self) -> None:
        self._bar.close()
