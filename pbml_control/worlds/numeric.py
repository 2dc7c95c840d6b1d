"""Numeric World: fitness X, learning ability R, decoupled (our definition; see docs/method.md).

The paper's text that we could read says only that fitness X is decoupled from learning
ability R, that under PBML R rises steadily while fitness follows a quadratic curve, and that
greedy single-genome evolution and random drift show no clear rise in R. We define:

- the genome has one module, ``x``, holding X; fitness is X itself (a static landscape);
- R is the genome's own mutation parameter for that module, R = log sigma_x, inherited and
  mutated log-normally like every mutation parameter in this package;
- with the paper's decoupled order a child's X is perturbed with its *parent's* sigma, so a
  genome's own R has no effect on its own fitness, only on its descendants'.

So the world uses exactly the machinery that the robot genomes use; the only thing it adds is
the fitness function. R can rise only if selection looks beyond the current generation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pbml_control.config import build_section
from pbml_control.genome import ModuleLayout
from pbml_control.problem import Evaluation, StatelessProblem

__all__ = ["NumericWorld", "NumericWorldConfig", "make"]


@dataclass(frozen=True)
class NumericWorldConfig:
    initial_x: float = 0.0
    fitness_noise: float = 0.0  # optional Gaussian evaluation noise, keyed by generation


class NumericWorld(StatelessProblem):
    """Fitness = X (+ optional noise); R = log sigma of module ``x``."""

    layout = ModuleLayout(("x",), ((1,),))

    def __init__(self, config: NumericWorldConfig) -> None:
        self.config = config

    def initial_params(self, rng: np.random.Generator) -> np.ndarray:
        return np.array([self.config.initial_x])

    def sample_goal(self, rng: np.random.Generator, split: str = "train") -> np.ndarray:
        return np.zeros(1)  # the landscape is static; goals exist only for the common interface

    def evaluate(
        self, params: np.ndarray, goal: np.ndarray, seed: int, generation: int
    ) -> Evaluation:
        fitness = params[:, 0].copy()
        if self.config.fitness_noise > 0:
            from pbml_control.rng import generator

            rng = generator(seed, "numeric-noise", generation)
            fitness += self.config.fitness_noise * rng.standard_normal(len(fitness))
        return Evaluation(fitness=fitness)


def make(**params) -> NumericWorld:
    return NumericWorld(build_section(NumericWorldConfig, params, "problem."))
