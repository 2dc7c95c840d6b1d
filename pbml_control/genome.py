"""Genomes: parameters grouped into named modules, plus per-module mutation parameters.

A population is stored as one matrix of flat parameter vectors (one row per member) with a
:class:`ModuleLayout` that says which columns belong to which module. This keeps mutation and
the batched policy forward pass vectorised, and makes a genome file a few plain arrays.

Mutation parameters per member and module (docs/method.md, "Genome"):
- ``log_sigma``: log of the Gaussian mutation radius sigma_m;
- ``logit_p``: logit of the probability p_m that the module mutates at all (used only when the
  mutation config enables it; otherwise every module mutates every time).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = [
    "GENOME_ARRAYS",
    "MODULE_QUANTITIES",
    "Genome",
    "ModuleLayout",
    "Population",
    "module_metrics",
    "module_series",
]


@dataclass(frozen=True)
class ModuleLayout:
    """Names and shapes of a genome's modules, in order; the flat vector concatenates them."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.shapes):
            raise ValueError("layout: names and shapes differ in length")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"layout: duplicate module names in {self.names}")
        if not self.names:
            raise ValueError("layout: a genome needs at least one module")

    @classmethod
    def from_dict(cls, shapes: dict[str, tuple[int, ...]]) -> ModuleLayout:
        return cls(tuple(shapes), tuple(tuple(int(d) for d in s) for s in shapes.values()))

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        return tuple(math.prod(s) for s in self.shapes)

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        out, total = [], 0
        for size in self.sizes:
            out.append(total)
            total += size
        return tuple(out)

    @property
    def num_modules(self) -> int:
        return len(self.names)

    @property
    def num_params(self) -> int:
        return sum(self.sizes)

    def slice(self, name: str) -> slice:
        i = self.names.index(name)
        return slice(self.offsets[i], self.offsets[i] + self.sizes[i])

    @cached_property
    def module_index(self) -> np.ndarray:
        """For each flat column, the index of its module (used to broadcast per-module sigma)."""
        return np.repeat(np.arange(self.num_modules), self.sizes)

    def split(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Flat vector (D,) or batch (N, D) -> module arrays with their shapes (views)."""
        lead = flat.shape[:-1]
        return {
            name: flat[..., off : off + size].reshape(*lead, *shape)
            for name, shape, off, size in zip(
                self.names, self.shapes, self.offsets, self.sizes, strict=True
            )
        }

    def join(self, modules: dict[str, np.ndarray]) -> np.ndarray:
        """Module arrays -> flat vector; the inverse of :meth:`split` for one genome."""
        missing = set(self.names) - set(modules)
        extra = set(modules) - set(self.names)
        if missing or extra:
            raise ValueError(f"layout: missing modules {sorted(missing)}, unknown {sorted(extra)}")
        parts = []
        for name, shape in zip(self.names, self.shapes, strict=True):
            arr = np.asarray(modules[name], dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"layout: module {name!r} has shape {arr.shape}, expected {shape}")
            parts.append(arr.reshape(-1))
        return np.concatenate(parts)

    def to_json(self) -> dict:
        return {"names": list(self.names), "shapes": [list(s) for s in self.shapes]}

    @classmethod
    def from_json(cls, data: dict) -> ModuleLayout:
        return cls(tuple(data["names"]), tuple(tuple(int(d) for d in s) for s in data["shapes"]))


#: The arrays of one genome, under the names a checkpoint's population and a genome file use.
GENOME_ARRAYS = ("params", "log_sigma", "logit_p")


@dataclass(frozen=True)
class Genome:
    """One member: flat parameters and its per-module mutation parameters.

    The one representation of a genome: a population row (:meth:`Population.genome`), what
    mutation and crossover take and return, and what a genome file stores
    (:meth:`to_arrays` is the only writer of its arrays, :meth:`from_arrays` the only reader).
    """

    layout: ModuleLayout
    params: np.ndarray  # (D,)
    log_sigma: np.ndarray  # (M,)
    logit_p: np.ndarray  # (M,)

    def __post_init__(self) -> None:
        m = self.layout.num_modules
        expected = {"params": (self.layout.num_params,), "log_sigma": (m,), "logit_p": (m,)}
        for name, shape in expected.items():
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(
                    f"{name} has shape {np.shape(getattr(self, name))}, expected {shape}"
                )

    @property
    def modules(self) -> dict[str, np.ndarray]:
        return self.layout.split(self.params)

    @property
    def sigma(self) -> dict[str, float]:
        """Each module's mutation radius, by module name."""
        return dict(zip(self.layout.names, np.exp(self.log_sigma).tolist(), strict=True))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The genome's arrays as stored: float64, C order, named by :data:`GENOME_ARRAYS`."""
        # np.array, not np.ascontiguousarray: the latter turns 0-d arrays into (1,)
        return {
            name: np.array(getattr(self, name), dtype=np.float64, order="C")
            for name in GENOME_ARRAYS
        }

    @classmethod
    def from_arrays(cls, layout: ModuleLayout, arrays: Mapping[str, np.ndarray]) -> Genome:
        """Inverse of :meth:`to_arrays`; a missing array or a wrong shape is a ValueError."""
        missing = [name for name in GENOME_ARRAYS if name not in arrays]
        if missing:
            raise ValueError(f"genome array(s) {missing} are missing")
        return cls(layout, *(np.asarray(arrays[name]) for name in GENOME_ARRAYS))


@dataclass(frozen=True)
class Population:
    """All members of a generation as stacked arrays (row i is member i).

    ``ids`` are unique for the whole run and key each member's random streams; ``parent_ids``
    and ``birth_generation`` record lineage, so survival and ancestry can be analysed.
    """

    layout: ModuleLayout
    params: np.ndarray  # (N, D) float64
    log_sigma: np.ndarray  # (N, M)
    logit_p: np.ndarray  # (N, M)
    ids: np.ndarray  # (N,) int64
    parent_ids: np.ndarray  # (N,) int64, -1 for the founders
    birth_generation: np.ndarray  # (N,) int64
    protected_until: np.ndarray  # (N,) int64: a fatal pass protects a member until then
    # Fitness memory under the current goal (``selection.survivor_fitness``): the mean of the
    # member's evaluations since the goal last moved, and how many there were (0: none yet).
    fitness: np.ndarray | None = None  # (N,) float64, NaN where never evaluated
    evaluations: np.ndarray | None = None  # (N,) int64
    fields: tuple[str, ...] = field(
        default=(
            *GENOME_ARRAYS,
            "ids",
            "parent_ids",
            "birth_generation",
            "protected_until",
            "fitness",
            "evaluations",
        ),
        repr=False,
    )

    def __post_init__(self) -> None:
        n = self.params.shape[0]
        if self.fitness is None:
            object.__setattr__(self, "fitness", np.full(n, np.nan))
        if self.evaluations is None:
            object.__setattr__(self, "evaluations", np.zeros(n, dtype=np.int64))
        if self.params.shape != (n, self.layout.num_params):
            raise ValueError(
                f"population: params have shape {self.params.shape}, "
                f"expected ({n}, {self.layout.num_params})"
            )
        m = self.layout.num_modules
        for name in ("log_sigma", "logit_p"):
            if getattr(self, name).shape != (n, m):
                raise ValueError(f"population: {name} has shape {getattr(self, name).shape}")
        for name in self.fields[3:]:
            if getattr(self, name).shape != (n,):
                raise ValueError(f"population: {name} has shape {getattr(self, name).shape}")

    def __len__(self) -> int:
        return int(self.params.shape[0])

    def take(self, index: np.ndarray) -> Population:
        """Members at ``index`` (in that order)."""
        index = np.asarray(index, dtype=np.int64)
        return Population(
            self.layout,
            *(getattr(self, name)[index] for name in self.fields),
        )

    @staticmethod
    def concat(first: Population, second: Population) -> Population:
        return Population(
            first.layout,
            *(np.concatenate([getattr(first, f), getattr(second, f)]) for f in first.fields),
        )

    def genome(self, i: int) -> Genome:
        return Genome(
            self.layout, self.params[i].copy(), self.log_sigma[i].copy(), self.logit_p[i].copy()
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.fields}

    def forget_fitness(self) -> Population:
        """The same members with no fitness memory (the goal moved, or a transfer began)."""
        return dataclasses.replace(self, fitness=None, evaluations=None)

    @classmethod
    def from_arrays(cls, layout: ModuleLayout, arrays: dict[str, np.ndarray]) -> Population:
        """Inverse of :meth:`arrays`; files written before the fitness memory existed load
        with an empty memory."""
        optional = {"fitness", "evaluations"}
        return cls(
            layout,
            **{
                name: None if name in optional and name not in arrays else np.asarray(arrays[name])
                for name in cls.__dataclass_fields__
                if name not in ("layout", "fields")
            },
        )


# Per-module numbers in a metrics row (metrics.jsonl) are flat keys "<quantity>/<module>", so
# every JSONL reader sees plain columns; these two functions are the only writer and reader.
MODULE_QUANTITIES = ("sigma", "log_sigma")


def module_metrics(population: Population) -> dict[str, float]:
    """Population means of each module's sigma and log sigma, as metrics-row keys."""
    sigma = np.exp(population.log_sigma)
    row: dict[str, float] = {}
    for k, name in enumerate(population.layout.names):
        row[f"sigma/{name}"] = float(np.mean(sigma[:, k]))
        row[f"log_sigma/{name}"] = float(np.mean(population.log_sigma[:, k]))
    return row


def module_series(rows: list[dict], quantity: str = "sigma") -> dict[str, list[float]]:
    """``{module: [value per row]}`` of one quantity from metrics rows (modules in the order
    of the first row's keys; a row that lacks a module gives NaN there)."""
    if quantity not in MODULE_QUANTITIES:
        raise ValueError(f"quantity must be one of {MODULE_QUANTITIES}, got {quantity!r}")
    prefix = f"{quantity}/"
    modules = [
        str(k)[len(prefix) :] for k in (rows[0] if rows else {}) if str(k).startswith(prefix)
    ]
    return {
        m: [float(v) if (v := row.get(prefix + m)) is not None else math.nan for row in rows]
        for m in modules
    }
