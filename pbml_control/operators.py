"""Operators beyond the paper, each off by default and each a small pure function.

The paper's own reading of its robot results is that PBML genomes learn to constrain their
mutation and so may miss an optimum outside the space they still explore. These operators are
the seed article's remedies; docs/method.md gives their equations and docs/results/beyond.md
measures them. With every rate at 0 the loop draws exactly what it draws without them.

- **Scouts**: a share ``scout_fraction`` of each generation's children is perturbed with
  sigma * ``scout_sigma_scale``. Scouts are ordinary members afterwards: they inherit the
  normal (unscaled) mutation parameters, compete normally (so they may die while exploring),
  and their descendants are simply part of the population.
- **Fatal passes**: each member that selection removes survives anyway with probability
  ``fatal_pass_probability``, and is then protected from death for ``fatal_pass_generations``
  generations (it still ranks by fitness and can be a parent). The population size stays N:
  every rescued member takes the place of one child.
- **Mating**: with probability ``crossover_rate`` a child has a second parent, drawn from the
  same rank-weighted parent pool; per module, the child takes the module's parameters *and*
  its mutation parameters from one of the two parents with equal chance, then mutates as usual.
- **Extra variance for low ranks**: a parent at normalised rank q (0 best, 1 worst) perturbs
  its child with sigma * (1 + ``low_rank_sigma_boost`` * q).
- **Mutation-parameter shuffle** (a control, not a remedy): with ``shuffle_mutation`` on, the
  rows of mutation parameters (log sigma and logit p of every module, kept together) are
  permuted among the members of each new generation. Their distribution is kept, their
  inheritance is broken: a null against which "sigma carries information" is tested.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pbml_control.genome import Genome, ModuleLayout

__all__ = [
    "OperatorsConfig",
    "crossover",
    "fatal_pass",
    "low_rank_sigma_scale",
    "mix_modules",
    "scout_mask",
    "shuffle_rows",
]


@dataclass(frozen=True)
class OperatorsConfig:
    scout_fraction: float = 0.0
    scout_sigma_scale: float = 5.0
    fatal_pass_probability: float = 0.0
    fatal_pass_generations: int = 3
    crossover_rate: float = 0.0
    low_rank_sigma_boost: float = 0.0
    shuffle_mutation: bool = False

    def __post_init__(self) -> None:
        for name in ("scout_fraction", "fatal_pass_probability", "crossover_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"operators.{name} must be in [0, 1], got {value}")
        if self.scout_sigma_scale <= 0:
            raise ValueError(
                f"operators.scout_sigma_scale must be > 0, got {self.scout_sigma_scale}"
            )
        if self.fatal_pass_generations < 1:
            raise ValueError("operators.fatal_pass_generations must be >= 1")
        if self.low_rank_sigma_boost < 0:
            raise ValueError("operators.low_rank_sigma_boost must be >= 0")


def shuffle_rows(rows: int, rng: np.random.Generator) -> np.ndarray:
    """The permutation of the mutation-parameter shuffle: row ``i`` of the new generation
    takes the mutation parameters of row ``perm[i]``."""
    return rng.permutation(rows)


def scout_mask(num_children: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Which children are scouts: exactly round(fraction * K) of them, at random."""
    mask = np.zeros(num_children, dtype=bool)
    count = round(fraction * num_children)
    if count:
        mask[rng.choice(num_children, size=count, replace=False)] = True
    return mask


def fatal_pass(
    dead: np.ndarray,
    protected: np.ndarray,
    probability: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Of the members selection removed (``dead``), those that survive anyway.

    Protected members always survive; every other dead member passes with ``probability``.
    """
    lucky = rng.random(len(dead)) < probability
    return dead[protected | lucky]


def crossover(first: Genome, second: Genome, rng: np.random.Generator) -> Genome:
    """Per-module uniform crossover of two parents: each module's parameters and mutation
    parameters come together from one of them."""
    layout = first.layout
    take_second = rng.random(layout.num_modules) < 0.5
    arrays = mix_modules(
        layout,
        take_second,
        (first.params, first.log_sigma, first.logit_p),
        (second.params, second.log_sigma, second.logit_p),
    )
    return Genome(layout, *arrays)


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def mix_modules(
    layout: ModuleLayout, take_second: np.ndarray, first: Arrays, second: Arrays
) -> Arrays:
    """(params, log_sigma, logit_p) with module k from ``second`` where ``take_second[..., k]``:
    one genome, or rows of many (every array then has a leading axis of children)."""
    columns = take_second[..., layout.module_index]
    return (
        np.where(columns, second[0], first[0]),
        np.where(take_second, second[1], first[1]),
        np.where(take_second, second[2], first[2]),
    )


def low_rank_sigma_scale(parent_rank: np.ndarray, population: int, boost: float) -> np.ndarray:
    """1 + boost * q for each parent, with q = rank / (N - 1)."""
    q = np.asarray(parent_rank, dtype=np.float64) / max(population - 1, 1)
    return 1.0 + boost * q
