"""Settings of a MuJoCo problem (``[problem]`` with ``name = "mujoco"``), checked on creation.

Apart from the evaluator so that worker processes, the run loader and the config checks share
one definition without importing each other.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["MujocoProblemConfig", "chunks_per_worker", "ignored_dims", "parse_slice"]

# "auto" chunks per worker: on 8 and 16 workers, 4 chunks each mostly gave more env steps/s
# than 1 (waiting for the slowest worker was most of the gap to the simulator's ceiling); on 2
# workers they cost 7-17% (no waiting to win back). docs/performance.md has the numbers.
AUTO_CHUNKS_FROM_WORKERS = 8
AUTO_CHUNKS = 4


def chunks_per_worker(setting: int | str, workers: int) -> int:
    """The number of chunks per worker that ``problem.chunks_per_worker`` means on ``workers``."""
    if setting == "auto":
        return AUTO_CHUNKS if workers >= AUTO_CHUNKS_FROM_WORKERS else 1
    return int(setting)


def parse_slice(text: str) -> slice:
    """``"a:b"``, ``"a:"``, ``":b"`` or ``"i"`` as a slice; a ValueError that names it else."""
    parts = str(text).split(":")
    try:
        if len(parts) == 1:
            i = int(parts[0])
            return slice(i, i + 1 if i != -1 else None)
        if len(parts) == 2:
            return slice(*(int(p) if p.strip() else None for p in parts))
    except ValueError:
        pass
    raise ValueError(f"problem.ignore_observations: {text!r} is not a slice like '27:' or '3:5'")


def ignored_dims(texts: tuple[str, ...], obs_dim: int) -> tuple[int, ...]:
    """The sorted observation indices the slices select, for an observation of ``obs_dim``."""
    index = np.arange(obs_dim)
    picked = sorted({int(i) for text in texts for i in index[parse_slice(text)]})
    if texts and not picked:
        raise ValueError(f"problem.ignore_observations {list(texts)} selects no dimension "
                         f"of the {obs_dim}-dimensional observation")  # fmt: skip
    return tuple(picked)


@dataclass(frozen=True)
class MujocoProblemConfig:
    """Settings under ``[problem]`` when ``name = "mujoco"``."""

    task: str = "HalfCheetahVel"  # a task or variant name, e.g. "HalfCheetahVel-Heavy"
    hidden: tuple[int, ...] = (32, 32)
    activation: str = "tanh"
    episodes: int = 1  # episodes per member per generation
    max_episode_steps: int = 200
    workers: int = 1  # local worker processes or Ray actors; results do not depend on it
    # Simulations are cut into workers x chunks_per_worker chunks that free workers take in
    # turn: more than 1 lets workers whose chunks end early take over from the slow ones, at
    # the cost of smaller batches. "auto": 1 on fewer than 8 workers, else 4. Results do not
    # depend on it.
    chunks_per_worker: int | str = "auto"
    backend: str = "local"  # "local" (this process or worker processes) or "ray"
    ray_address: str = ""  # "" starts a local Ray with `workers` CPUs; else a cluster address
    obs_normalization: bool = True
    policy_dtype: str = "float64"  # "float32" is ~2x faster for large populations
    spec_overrides: dict[str, Any] = field(default_factory=dict)  # reward weights, ...
    # Subtracted from every step's reward in the training fitness only, as ARS (Mania et al.
    # 2018) does for the survival bonus of Hopper, Walker2d and Ant: without it, standing
    # still for 1000 steps is a strong local optimum. Evaluations report the true return.
    survival_shift: float = 0.0
    # Observation dimensions the policy ignores, as Python slices of the observation ("27:" is
    # every dimension from 27 on): Ant-v5's contact forces make its mutations erratic.
    ignore_observations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for text in self.ignore_observations:
            parse_slice(text)
        if self.episodes < 1:
            raise ValueError(f"problem.episodes must be >= 1, got {self.episodes}")
        if self.max_episode_steps < 1:
            raise ValueError(
                f"problem.max_episode_steps must be >= 1, got {self.max_episode_steps}"
            )
        if self.workers < 1:
            raise ValueError(f"problem.workers must be >= 1, got {self.workers}")
        chunks = self.chunks_per_worker
        if chunks != "auto" and (type(chunks) is not int or chunks < 1):
            raise ValueError(
                f'problem.chunks_per_worker must be "auto" or an integer >= 1, got {chunks!r}'
            )
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"problem.hidden sizes must be >= 1, got {self.hidden}")
        if self.backend not in ("local", "ray"):
            raise ValueError(f"problem.backend must be local or ray, got {self.backend!r}")
        if self.ray_address and self.backend != "ray":
            raise ValueError("problem.ray_address is set but problem.backend is not 'ray'")
        if self.backend == "ray" and importlib.util.find_spec("ray") is None:
            raise ValueError('problem.backend = "ray" needs Ray: pip install "pbml-control[ray]"')
        if not np.isfinite(self.survival_shift) or self.survival_shift < 0:
            raise ValueError(
                f"problem.survival_shift must be finite and >= 0, got {self.survival_shift}"
            )
        if self.policy_dtype not in ("float64", "float32"):
            raise ValueError(
                f"problem.policy_dtype must be float64 or float32, got {self.policy_dtype!r}"
            )
