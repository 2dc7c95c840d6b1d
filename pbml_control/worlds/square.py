"""Square World and Hard Square: sparse fitness on moving squares (our definition).

The paper says genomes must find high-fitness squares that move, that fitness is sparse, and
that genomes evolved there are transferred to a harder world. Its exact geometry is unknown, so
we define one with structure a per-module mutation function can learn (docs/method.md):

- a genome is a point (x, y), two modules ``x`` and ``y`` with their own sigma;
- squares of half-width ``half_width`` sit on a lattice: rows every ``spacing_y`` along y, one
  square every ``spacing_x`` along each row, with the lattice shifted by the goal offset
  ``c_x``;
- fitness is 1 inside a square and 0 elsewhere (sparse, no gradient);
- a goal shift moves the squares along x only (a new ``c_x``), so a good mutation function
  jumps about ``spacing_x`` along x and keeps y still, i.e. learns sigma_x ~ spacing_x and
  sigma_y -> 0. A genome that learned to stop mutating (sigma_x -> 0, as a static world
  teaches) cannot find the moved squares.

Hard Square keeps that structure but makes squares rarer and smaller: a random jump finds one
with probability 2 * half_width / spacing_x = 0.05 instead of 0.2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pbml_control.config import build_section
from pbml_control.genome import ModuleLayout
from pbml_control.problem import Evaluation, StatelessProblem

__all__ = ["SquareWorld", "SquareWorldConfig", "make", "make_hard"]


@dataclass(frozen=True)
class SquareWorldConfig:
    spacing_x: float = 10.0
    spacing_y: float = 10.0
    half_width: float = 1.0

    def __post_init__(self) -> None:
        if min(self.spacing_x, self.spacing_y, self.half_width) <= 0:
            raise ValueError("problem.spacing_x, spacing_y and half_width must be > 0")
        if 2 * self.half_width >= min(self.spacing_x, self.spacing_y):
            raise ValueError("problem.half_width must be < spacing / 2: squares would overlap")


HARD_SQUARE = SquareWorldConfig(spacing_x=20.0, spacing_y=20.0, half_width=0.5)


class SquareWorld(StatelessProblem):
    """Points on a plane; fitness 1 inside a square of the shifted lattice, else 0."""

    layout = ModuleLayout(("x", "y"), ((1,), (1,)))

    def __init__(self, config: SquareWorldConfig) -> None:
        self.config = config

    def initial_params(self, rng: np.random.Generator) -> np.ndarray:
        """Founders start on a row (y = 0) at a random x, so none is favoured by the goal."""
        return np.array([rng.uniform(0.0, self.config.spacing_x), 0.0])

    def sample_goal(self, rng: np.random.Generator, split: str = "train") -> np.ndarray:
        """Goal = lattice offset along x; every offset is equally likely in both splits."""
        return np.array([rng.uniform(0.0, self.config.spacing_x)])

    def inside(self, points: np.ndarray, goal: np.ndarray) -> np.ndarray:
        c = self.config
        dx = np.mod(points[:, 0] - goal[0], c.spacing_x)
        dy = np.mod(points[:, 1], c.spacing_y)
        near_x = np.minimum(dx, c.spacing_x - dx) <= c.half_width
        near_y = np.minimum(dy, c.spacing_y - dy) <= c.half_width
        return near_x & near_y

    def evaluate(
        self, params: np.ndarray, goal: np.ndarray, seed: int, generation: int
    ) -> Evaluation:
        points = np.where(np.isfinite(params), params, np.nan)
        fitness = self.inside(points, goal).astype(np.float64)
        return Evaluation(fitness=fitness)


def make(**params) -> SquareWorld:
    return SquareWorld(build_section(SquareWorldConfig, params, "problem."))


def make_hard(**params) -> SquareWorld:
    defaults = {
        "spacing_x": HARD_SQUARE.spacing_x,
        "spacing_y": HARD_SQUARE.spacing_y,
        "half_width": HARD_SQUARE.half_width,
    }
    return SquareWorld(build_section(SquareWorldConfig, {**defaults, **params}, "problem."))
