"""A progress bar (tqdm) that shows generation, mean and best fitness, and env steps per second."""

from __future__ import annotations

import sys

from tqdm import tqdm

from pbml_control.loop import EvolutionState, Metrics

__all__ = ["ProgressBar"]


class ProgressBar:
    """Created lazily on the first generation, when the total is known from the config."""

    def __init__(self, total: int | None = None) -> None:
        self._bar: tqdm | None = None
        self._total = total

    def update(self, state: EvolutionState, metrics: Metrics, seconds: float) -> None:
        if self._bar is None:
            self._bar = tqdm(
                total=self._total,
                initial=state.generation - 1,
                unit="gen",
                file=sys.stderr,
                dynamic_ncols=True,
            )
        postfix = {
            "mean": f"{metrics['fitness_mean']:.3g}",
            "best": f"{metrics['fitness_best']:.3g}",
        }
        steps = metrics.get("env_steps")
        if steps and seconds > 0:
            postfix["steps/s"] = f"{float(steps) / seconds:.0f}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
