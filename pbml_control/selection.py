"""Selection schemes, all run by the same evolution loop.

Every scheme takes the generation's fitness and returns which members survive and which
parents fill the free places, so a population keeps a constant size N. Ranks come first:
position i = 0 is the best member, NaN and +-inf fitness rank last, ties are broken at random
(from the generation's own stream) so that sparse worlds do not favour old members.

With q_i = i / (N - 1) the normalised rank (0 best, 1 worst):

- ``pbml`` (docs/method.md, "Selection"): overlapping generations. Member i dies with probability
      d_i = min(1, D * (beta + 1) * q_i ** beta),
  so the expected share of deaths is D (the mean of q**beta is 1/(beta+1)) and the best never
  dies. With ``offspring_count = K`` set, exactly K members die instead, drawn without
  replacement with weights q_i ** beta. Each free place gets a child of a survivor drawn with
  probability proportional to (1 - i / N) ** alpha: alpha = 0 is uniform, larger is greedier.
  Weak genomes survive several generations and still reproduce, which is what lets a lineage
  with a better mutation function show its worth (the paper's key intuition).
- ``fixed_mutation``: ``pbml`` selection; the strategy freezes the mutation parameters
  (``StrategyConfig.effective_mutation``).
- ``greedy``: (1 + lambda) with lambda = N - 1: the best survives, all children are its.
- ``truncation``: top-k elitism, k = max(1, round(truncation_fraction * N)); children of
  parents drawn uniformly from the top k fill the other N - k places.
- ``drift``: random drift; each member dies with probability D whatever its fitness, parents
  are drawn uniformly from the survivors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "SCHEMES",
    "SURVIVOR_FITNESS",
    "SelectionConfig",
    "SelectionResult",
    "rank_order",
    "select",
]

SCHEMES = ("pbml", "fixed_mutation", "greedy", "truncation", "drift")
#: What a survivor's fitness is (see docs/method.md, "Survivor fitness"):
#: ``reevaluate`` - every member runs fresh episodes each generation and is ranked on them;
#: ``keep`` - only members with no fitness under the current goal run (newborns, and everyone
#: after a goal shift); survivors keep theirs, so a generation costs only its offspring;
#: ``average`` - everyone runs each generation and is ranked on the mean of its returns since
#: the goal last moved, so an elite kept on one lucky episode regresses to its true mean.
SURVIVOR_FITNESS = ("reevaluate", "keep", "average")


@dataclass(frozen=True)
class SelectionConfig:
    scheme: str = "pbml"
    death_rate: float = 0.2  # D
    death_exponent: float = 1.0  # beta: how sharply death concentrates on low ranks
    parent_pressure: float = 1.0  # alpha: rank weighting of parents
    offspring_count: int = 0  # 0: Bernoulli deaths; K > 0: exactly K deaths per generation
    truncation_fraction: float = 0.2
    survivor_fitness: str = "reevaluate"

    def __post_init__(self) -> None:
        if self.survivor_fitness not in SURVIVOR_FITNESS:
            raise ValueError(
                f"selection.survivor_fitness must be one of {SURVIVOR_FITNESS}, "
                f"got {self.survivor_fitness!r}"
            )
        if self.scheme not in SCHEMES:
            raise ValueError(f"selection.scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if not 0.0 < self.death_rate <= 1.0:
            raise ValueError(f"selection.death_rate must be in (0, 1], got {self.death_rate}")
        if self.death_exponent < 0 or self.parent_pressure < 0:
            raise ValueError("selection.death_exponent and parent_pressure must be >= 0")
        if self.offspring_count < 0:
            raise ValueError(f"selection.offspring_count must be >= 0, got {self.offspring_count}")
        if not 0.0 < self.truncation_fraction <= 1.0:
            raise ValueError(
                f"selection.truncation_fraction must be in (0, 1], got {self.truncation_fraction}"
            )


@dataclass(frozen=True)
class SelectionResult:
    """Survivors (best first) and one parent index per new child."""

    order: np.ndarray  # all members, best first
    survivors: np.ndarray
    parents: np.ndarray


def rank_order(fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices best first; non-finite fitness last; ties in random order."""
    fitness = np.asarray(fitness, dtype=np.float64)
    shuffle = rng.permutation(len(fitness))
    key = np.where(np.isfinite(fitness), -fitness, np.inf)[shuffle]
    return shuffle[np.argsort(key, kind="stable")]


def _normalised_rank(n: int) -> np.ndarray:
    return np.arange(n) / max(n - 1, 1)


def _pbml(order: np.ndarray, cfg: SelectionConfig, rng: np.random.Generator):
    n = len(order)
    q = _normalised_rank(n)
    weights = q**cfg.death_exponent
    if cfg.offspring_count > 0:
        k = min(cfg.offspring_count, n - 1)
        dead_pos = rng.choice(n, size=k, replace=False, p=weights / weights.sum())
        dies = np.zeros(n, dtype=bool)
        dies[dead_pos] = True
    else:
        death_p = np.minimum(1.0, cfg.death_rate * (cfg.death_exponent + 1.0) * weights)
        dies = rng.random(n) < death_p
    alive_pos = np.flatnonzero(~dies)
    parent_w = (1.0 - alive_pos / n) ** cfg.parent_pressure
    parents_pos = rng.choice(alive_pos, size=int(dies.sum()), p=parent_w / parent_w.sum())
    return order[alive_pos], order[parents_pos]


def _greedy(order: np.ndarray, cfg: SelectionConfig, rng: np.random.Generator):
    return order[:1], np.repeat(order[:1], len(order) - 1)


def _truncation(order: np.ndarray, cfg: SelectionConfig, rng: np.random.Generator):
    k = max(1, round(cfg.truncation_fraction * len(order)))
    return order[:k], order[rng.integers(0, k, size=len(order) - k)]


def _drift(order: np.ndarray, cfg: SelectionConfig, rng: np.random.Generator):
    dies = rng.random(len(order)) < cfg.death_rate
    if dies.all():
        dies[rng.integers(len(order))] = False
    alive_pos = np.flatnonzero(~dies)
    return order[alive_pos], order[rng.choice(alive_pos, size=int(dies.sum()))]


_SCHEMES = {
    "pbml": _pbml,
    "fixed_mutation": _pbml,
    "greedy": _greedy,
    "truncation": _truncation,
    "drift": _drift,
}


def select(fitness: np.ndarray, cfg: SelectionConfig, rng: np.random.Generator) -> SelectionResult:
    """Rank, then apply the configured scheme."""
    order = rank_order(fitness, rng)
    survivors, parents = _SCHEMES[cfg.scheme](order, cfg, rng)
    return SelectionResult(order, np.asarray(survivors), np.asarray(parents, dtype=np.int64))
