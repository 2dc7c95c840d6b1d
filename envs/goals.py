"""Goal spaces: where training goals are drawn from and which region is held out for transfer.

PBML evolves under a goal that shifts over time; transfer then measures adaptation to goals
never seen in training. Each task therefore has a "train" region and a disjoint "heldout"
region (they may share a boundary point, which has measure zero), both inside `low/high`
bounds that a configuration's goal must respect. The split "all" is the whole goal space
(the bounds; for a polar space, the whole annulus): for a controller meant to serve every goal,
at the price of holding none out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Split = Literal["train", "heldout", "all"]
Interval = tuple[float, float]

_SPLITS = ("train", "heldout", "all")


def _check_split(split: str) -> None:
    if split not in _SPLITS:
        raise ValueError(f"unknown goal split {split!r}; expected one of {_SPLITS}")


#: (j, k): draw from the j-th of k equal-measure slices of a region (stratified goal sets)
Stratum = tuple[int, int]


def _sample_intervals(
    rng: np.random.Generator, intervals: tuple[Interval, ...], stratum: Stratum | None = None
) -> float:
    """Uniform over a union of disjoint intervals (one interval chosen by its length).

    With ``stratum=(j, k)`` the draw is uniform over the j-th of k slices of equal length,
    the union laid end to end in order: k strata together cover the region evenly.
    """
    lengths = np.array([hi - lo for lo, hi in intervals], dtype=np.float64)
    if stratum is not None:
        j, k = stratum
        if not 0 <= j < k:
            raise ValueError(f"stratum {j} of {k} does not exist")
        position = (j + rng.uniform()) / k * lengths.sum()
        for (lo, hi), length in zip(intervals, lengths, strict=True):
            if position <= length:
                return float(min(lo + position, hi))
            position -= length
        return float(intervals[-1][1])
    k = int(rng.choice(len(intervals), p=lengths / lengths.sum()))
    lo, hi = intervals[k]
    return float(rng.uniform(lo, hi))


def _in_intervals(x: float, intervals: tuple[Interval, ...]) -> bool:
    return any(lo <= x <= hi for lo, hi in intervals)


def wrap_angle(theta: float) -> float:
    """Map an angle to [-pi, pi) so heading sectors can be tested by plain intervals."""
    return (theta + math.pi) % (2.0 * math.pi) - math.pi


@dataclass(frozen=True)
class IntervalGoalSpace:
    """A scalar goal (shape (1,)) drawn from unions of intervals.

    `periodic=True` treats the goal as an angle: `contains` wraps it into [-pi, pi) first.
    """

    train: tuple[Interval, ...]
    heldout: tuple[Interval, ...]
    bounds: Interval
    periodic: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return (1,)

    @property
    def low(self) -> np.ndarray:
        return np.array([self.bounds[0]], dtype=np.float64)

    @property
    def high(self) -> np.ndarray:
        return np.array([self.bounds[1]], dtype=np.float64)

    def sample(
        self, rng: np.random.Generator, split: Split = "train", stratum: Stratum | None = None
    ) -> np.ndarray:
        """Draw one goal uniformly from the split's region (or from one stratum of it)."""
        return np.array([_sample_intervals(rng, self._region(split), stratum)], dtype=np.float64)

    def _region(self, split: str) -> tuple[Interval, ...]:
        _check_split(split)
        return (self.bounds,) if split == "all" else getattr(self, split)

    def _scalar(self, goal: np.ndarray | float) -> float | None:
        g = np.asarray(goal, dtype=np.float64).reshape(-1)
        if g.shape != (1,) or not np.isfinite(g).all():
            return None
        x = float(g[0])
        return wrap_angle(x) if self.periodic else x

    def in_bounds(self, goal: np.ndarray | float) -> bool:
        """Whether a goal is a finite value inside `low/high` (either split or between)."""
        x = self._scalar(goal)
        return x is not None and self.bounds[0] <= x <= self.bounds[1]

    def contains(self, goal: np.ndarray | float, split: Split = "train") -> bool:
        """Whether a goal lies in the split's region."""
        region = self._region(split)
        x = self._scalar(goal)
        return x is not None and _in_intervals(x, region)


@dataclass(frozen=True)
class PolarGoalSpace:
    """A 2-D position goal (shape (2,)) drawn from an annulus cut into angular sectors.

    Sampling is uniform in area (radius via the square root of a uniform draw).
    """

    radius: Interval
    train: tuple[Interval, ...]
    heldout: tuple[Interval, ...]
    bound: float

    @property
    def shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def low(self) -> np.ndarray:
        return np.full(2, -self.bound, dtype=np.float64)

    @property
    def high(self) -> np.ndarray:
        return np.full(2, self.bound, dtype=np.float64)

    def sample(
        self, rng: np.random.Generator, split: Split = "train", stratum: Stratum | None = None
    ) -> np.ndarray:
        """Draw one goal uniformly (in area) from the split's sectors of the annulus; a
        stratum slices the sectors' angles."""
        theta = _sample_intervals(rng, self._sectors(split), stratum)
        r0, r1 = self.radius
        r = math.sqrt(rng.uniform(r0 * r0, r1 * r1))
        return np.array([r * math.cos(theta), r * math.sin(theta)], dtype=np.float64)

    def _sectors(self, split: str) -> tuple[Interval, ...]:
        _check_split(split)
        return ((-math.pi, math.pi),) if split == "all" else getattr(self, split)

    def _vector(self, goal: np.ndarray) -> np.ndarray | None:
        g = np.asarray(goal, dtype=np.float64).reshape(-1)
        if g.shape != (2,) or not np.isfinite(g).all():
            return None
        return g

    def in_bounds(self, goal: np.ndarray) -> bool:
        """Whether a goal is a finite point inside the `low/high` box."""
        g = self._vector(goal)
        return g is not None and bool(np.all(np.abs(g) <= self.bound))

    def contains(self, goal: np.ndarray, split: Split = "train") -> bool:
        """Whether a goal lies in the split's sectors of the annulus."""
        sectors = self._sectors(split)
        g = self._vector(goal)
        if g is None:
            return False
        r = math.hypot(g[0], g[1])
        theta = math.atan2(g[1], g[0])
        r0, r1 = self.radius
        return r0 <= r <= r1 and _in_intervals(theta, sectors)


@dataclass(frozen=True)
class NoGoalSpace:
    """The goal space of a task without goals (Gymnasium's standard tasks): shape (0,).

    Its one goal is the empty array, so schedules, metrics (`"goal": []`) and checkpoints work
    unchanged. It has no held-out region: sampling it raises, because a transfer "to unseen
    goals" of a task that has none would silently be a transfer to the same task.
    """

    task: str

    @property
    def shape(self) -> tuple[int, ...]:
        return (0,)

    @property
    def low(self) -> np.ndarray:
        return np.zeros(0, dtype=np.float64)

    @property
    def high(self) -> np.ndarray:
        return np.zeros(0, dtype=np.float64)

    def sample(
        self, rng: np.random.Generator, split: Split = "train", stratum: Stratum | None = None
    ) -> np.ndarray:
        """The empty goal; the held-out split raises ValueError (there are no goals to hold out)."""
        _check_split(split)
        if split == "heldout":
            raise ValueError(
                f"{self.task} has no goals, so it has no held-out goals; "
                "use the train split (pbml transfer --goals train) or a dynamics variant"
            )
        return np.zeros(0, dtype=np.float64)

    def in_bounds(self, goal: np.ndarray | float) -> bool:
        """Only the empty goal is valid."""
        return np.asarray(goal, dtype=np.float64).reshape(-1).shape == (0,)

    def contains(self, goal: np.ndarray | float, split: Split = "train") -> bool:
        """The empty goal is in the train split (and all); nothing is in the held-out split."""
        _check_split(split)
        return split != "heldout" and self.in_bounds(goal)


GoalSpace = IntervalGoalSpace | PolarGoalSpace | NoGoalSpace

_PI = math.pi
_SECTOR = _PI / 8  # half-width of a heading sector

#: Goal spaces by base task name. Choices (ours, not the paper's) are documented inline.
GOAL_SPACES: dict[str, GoalSpace] = {
    # Forward and backward running; faster speeds in both directions are held out.
    "HalfCheetahVel": IntervalGoalSpace(
        train=((-2.0, -0.5), (0.5, 2.0)),
        heldout=((-3.0, -2.0), (2.0, 3.0)),
        bounds=(-3.0, 3.0),
    ),
    # Headings near the four axes train; the four diagonals (+-pi/16) are held out.
    "AntHeading": IntervalGoalSpace(
        train=(
            (-_SECTOR, _SECTOR),
            (_PI / 2 - _SECTOR, _PI / 2 + _SECTOR),
            (-_PI / 2 - _SECTOR, -_PI / 2 + _SECTOR),
            (_PI - _SECTOR, _PI),
            (-_PI, -_PI + _SECTOR),
        ),
        heldout=tuple(
            (c - _PI / 16, c + _PI / 16) for c in (_PI / 4, 3 * _PI / 4, -_PI / 4, -3 * _PI / 4)
        ),
        bounds=(-_PI, _PI),
        periodic=True,
    ),
    # Hopping and walking forward only; faster gaits are held out.
    "HopperVel": IntervalGoalSpace(train=((0.5, 1.5),), heldout=((1.75, 2.5),), bounds=(0.0, 3.0)),
    "Walker2dVel": IntervalGoalSpace(
        train=((0.5, 1.5),), heldout=((1.75, 2.5),), bounds=(0.0, 3.0)
    ),
    # Targets within the arm's reach (0.21); the first quadrant is held out.
    "ReacherGoal": PolarGoalSpace(
        radius=(0.05, 0.2),
        train=((_PI / 2, _PI), (-_PI, 0.0)),
        heldout=((0.0, _PI / 2),),
        bound=0.2,
    ),
}
