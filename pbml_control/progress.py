"""A progress bar (tqdm) that shows generation, mean and best fitness, and env steps per second."""

from __future__ import annotations

import sys

from tqdm import tqdm

from pbml_control.loop import EvolutionState, Metrics

__all__ = ["ProgressBar"]


class ProgressBar:
    """Created lazily on the first generation, when the start is known.

    A run that an env-step budget ends (``max_env_steps``) counts env steps against that
    budget, so its bar and time estimate are true; otherwise it counts generations.
    """

    def __init__(self, total: int | None = None, env_step_budget: int = 0) -> None:
        self._bar: tqdm | None = None
        self._total = total
        self._budget = env_step_budget

    def _open(self, state: EvolutionState, metrics: Metrics) -> tqdm:
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
