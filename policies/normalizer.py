"""Running observation normalisation shared by the whole population (Salimans et al. 2017).

The statistics are problem-level state: every member sees observations normalised the same way,
and they are saved next to a genome because its weights only make sense with them. They are
frozen while a generation is evaluated and updated between generations from statistics that
rollout workers collect, so the result depends only on the order in which worker statistics
are merged, never on timing.

The MuJoCo evaluator's workers send raw per-simulation sums ``(count, sum, sumsq)``; the
evaluator turns each simulation's into :class:`ObsStats` ``(count, mean, m2)`` with
:meth:`ObsStats.from_sums` and folds them in, in simulation order, with Chan et al.'s pairwise
merge (:meth:`ObsNormalizer.update`). Within one simulation, ``sumsq - sum * mean`` loses
precision when an observation's mean is large relative to its spread (positions, for instance);
:meth:`ObsStats.from_batch` computes ``m2`` directly where the raw observations are at hand.

Normalisation follows Gymnasium's ``NormalizeObservation``:
``clip((obs - mean) / sqrt(var + eps), -clip, clip)`` with ``var`` the population variance.
Before two observations have been seen, ``mean = 0`` and ``var = 1`` (the identity, minus clip).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ObsNormalizer", "ObsStats", "normalizer_arrays"]


@dataclass(frozen=True)
class ObsStats:
    """Count, mean and sum of squared deviations (M2) of a set of observation vectors."""

    count: float
    mean: np.ndarray  # (obs_dim,)
    m2: np.ndarray  # (obs_dim,)

    @classmethod
    def empty(cls, obs_dim: int) -> ObsStats:
        return cls(0.0, np.zeros(obs_dim), np.zeros(obs_dim))

    @classmethod
    def from_batch(cls, obs: np.ndarray, mask: np.ndarray | None = None) -> ObsStats:
        """Statistics of ``obs (..., obs_dim)``; with ``mask (...)`` only True rows count.

        The mask lets a vectorised rollout pass all sims every step and count only live ones.
        """
        obs = np.asarray(obs, dtype=np.float64)
        x = obs.reshape(-1, obs.shape[-1])
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != obs.shape[:-1]:
                raise ValueError(f"ObsStats: mask shape {mask.shape} != obs {obs.shape[:-1]}")
            x = x[mask.reshape(-1)]
        n = x.shape[0]
        if n == 0:
            return cls.empty(obs.shape[-1])
        mean = x.mean(axis=0)
        m2 = np.square(x - mean).sum(axis=0)
        return cls(float(n), mean, m2)

    @classmethod
    def from_sums(cls, count: float, total: np.ndarray, total_sq: np.ndarray) -> ObsStats:
        """From ``(count, sum, sumsq)``; less accurate than :meth:`from_batch` (cancellation)."""
        total = np.asarray(total, dtype=np.float64)
        if count <= 0:
            return cls.empty(total.shape[-1])
        mean = total / count
        m2 = np.maximum(np.asarray(total_sq, dtype=np.float64) - total * mean, 0.0)
        return cls(float(count), mean, m2)

    def merge(self, other: ObsStats) -> ObsStats:
        """Chan et al.'s pairwise merge; merging in a fixed order makes the result reproducible."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / n)
        m2 = self.m2 + other.m2 + np.square(delta) * (self.count * other.count / n)
        return ObsStats(n, mean, m2)

    @property
    def var(self) -> np.ndarray:
        return self.m2 / self.count if self.count >= 2 else np.ones_like(self.m2)


class ObsNormalizer:
    """Running mean/variance of observations, with clipping, updated between generations."""

    def __init__(self, obs_dim: int, clip: float = 10.0, eps: float = 1e-8) -> None:
        self.obs_dim = int(obs_dim)
        self.clip = float(clip)
        self.eps = float(eps)
        self.stats = ObsStats.empty(self.obs_dim)

    @property
    def count(self) -> float:
        return self.stats.count

    @property
    def mean(self) -> np.ndarray:
        return self.stats.mean if self.stats.count >= 2 else np.zeros(self.obs_dim)

    @property
    def var(self) -> np.ndarray:
        return self.stats.var

    def update(self, stats: ObsStats | list[ObsStats]) -> None:
        """Merge one batch of statistics, or several in the given (deterministic) order."""
        batches = [stats] if isinstance(stats, ObsStats) else list(stats)
        for s in batches:
            if s.mean.shape != (self.obs_dim,):
                raise ValueError(
                    f"ObsNormalizer: stats for dim {s.mean.shape}, expected ({self.obs_dim},)"
                )
            self.stats = self.stats.merge(s)

    def update_from_batch(self, obs: np.ndarray, mask: np.ndarray | None = None) -> None:
        self.update(ObsStats.from_batch(obs, mask))

    def normalize(self, obs: np.ndarray) -> np.ndarray:
        mean, std, clip = normalizer_arrays(self.state_dict())
        return np.clip((np.asarray(obs, dtype=np.float64) - mean) / std, -clip, clip)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Plain arrays (safetensors-ready); ``count``, ``clip`` and ``eps`` are 0-d."""
        return {
            "count": np.asarray(self.stats.count, dtype=np.float64),
            "mean": self.stats.mean.astype(np.float64, copy=True),
            "m2": self.stats.m2.astype(np.float64, copy=True),
            "clip": np.asarray(self.clip, dtype=np.float64),
            "eps": np.asarray(self.eps, dtype=np.float64),
        }

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        check_normalizer_state(state, self.obs_dim)
        self.stats = ObsStats(
            float(state["count"]),
            np.array(state["mean"], dtype=np.float64),
            np.array(state["m2"], dtype=np.float64),
        )
        self.clip = float(state["clip"])
        self.eps = float(state["eps"])

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray]) -> ObsNormalizer:
        mean = np.asarray(state.get("mean", np.zeros(0)))
        norm = cls(mean.shape[0] if mean.ndim == 1 else 0)
        norm.load_state_dict(state)
        return norm


NORMALIZER_KEYS: tuple[str, ...] = ("count", "mean", "m2", "clip", "eps")


def check_normalizer_state(state: dict[str, np.ndarray], obs_dim: int) -> None:
    """Raise a one-line ValueError naming the first key that is missing or misshapen."""
    missing = [k for k in NORMALIZER_KEYS if k not in state]
    if missing:
        raise ValueError(f"normalizer state: missing key(s) {missing}")
    for key in NORMALIZER_KEYS:
        shape = (obs_dim,) if key in ("mean", "m2") else ()
        got = np.shape(state[key])
        if got != shape:
            raise ValueError(f"normalizer state: {key!r} has shape {got}, expected {shape}")


def normalizer_arrays(state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, float]:
    """``(mean, std, clip)`` that the numpy forward pass and the torch export both use."""
    count = float(state["count"])
    m2 = np.asarray(state["m2"], dtype=np.float64)
    if count >= 2:
        mean = np.asarray(state["mean"], dtype=np.float64).copy()
        var = m2 / count
    else:
        mean, var = np.zeros_like(m2), np.ones_like(m2)
    return mean, np.sqrt(var + float(state["eps"])), float(state["clip"])
