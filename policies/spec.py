"""Policy spec: the shapes of an MLP policy and how its flat parameter vector is laid out.

Each layer is ONE genome module holding its weight and bias together, because PBML mutates per
module (one module per layer; docs/method.md, "Genome"), so a layer's sigma covers both.

Module ``layer{i}`` / ``head`` has shape ``(fan_in + 1, fan_out)`` and is flattened row-major:
rows ``0..fan_in-1`` are the weight ``W`` in the ``y = x @ W + b`` convention (so ``W`` is the
*transpose* of ``torch.nn.Linear.weight``), and the last row is the bias ``b``.

Actions: the head's output ``z`` is squashed with ``tanh`` and scaled affinely to the bounds,
``a = mid + half * tanh(z)`` with ``mid = (high + low) / 2`` and ``half = (high - low) / 2``, so
every action lies in ``[low, high]`` and ``z = 0`` maps to the middle of the box.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from pbml_control.genome import ModuleLayout

__all__ = ["ACTIVATIONS", "PolicySpec"]

#: Hidden activations supported by both the numpy forward pass and the torch export.
ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "elu")


def _bounds(value: float | Sequence[float], act_dim: int, name: str) -> tuple[float, ...]:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (act_dim,))
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"PolicySpec: {name} must be finite (tanh squashing needs a bounded box)")
    return tuple(float(v) for v in arr)


@dataclass(frozen=True)
class PolicySpec:
    """Shapes of a tanh-squashed MLP policy; ``layout()`` is its genome layout.

    ``action_low`` / ``action_high`` accept a scalar or one value per action dimension and are
    stored as tuples of length ``act_dim`` (hashable, JSON friendly).
    ``head_init_scale`` shrinks the initial head so that initial actions sit near the middle of
    the box: random large actions make early rollouts fall over and say little about a genome.
    """

    obs_dim: int
    act_dim: int
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    action_low: tuple[float, ...] | float = -1.0
    action_high: tuple[float, ...] | float = 1.0
    head_init_scale: float = 0.01
    # Observation dimensions the policy ignores: their normalised inputs are set to 0, so the
    # weights that read them have no effect (Ant-v5's 78 contact forces, say).
    ignored_inputs: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.obs_dim < 1 or self.act_dim < 1:
            raise ValueError(f"PolicySpec: obs_dim={self.obs_dim}, act_dim={self.act_dim} < 1")
        hidden = tuple(int(h) for h in self.hidden)
        if any(h < 1 for h in hidden):
            raise ValueError(f"PolicySpec: hidden sizes must be >= 1, got {hidden}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"PolicySpec: activation {self.activation!r} not in {ACTIVATIONS}")
        low = _bounds(self.action_low, self.act_dim, "action_low")
        high = _bounds(self.action_high, self.act_dim, "action_high")
        if any(lo >= hi for lo, hi in zip(low, high, strict=True)):
            raise ValueError(f"PolicySpec: action_low {low} must be < action_high {high}")
        object.__setattr__(self, "obs_dim", int(self.obs_dim))
        object.__setattr__(self, "act_dim", int(self.act_dim))
        object.__setattr__(self, "hidden", hidden)
        object.__setattr__(self, "action_low", low)
        object.__setattr__(self, "action_high", high)
        object.__setattr__(self, "head_init_scale", float(self.head_init_scale))
        ignored = tuple(int(i) for i in self.ignored_inputs)
        if list(ignored) != sorted(set(ignored)) or any(not 0 <= i < self.obs_dim for i in ignored):
            raise ValueError(
                f"PolicySpec: ignored_inputs must be distinct, sorted and in [0, {self.obs_dim})"
            )
        if len(ignored) == self.obs_dim:
            raise ValueError("PolicySpec: ignored_inputs leaves the policy no input")
        object.__setattr__(self, "ignored_inputs", ignored)

    # ------------------------------------------------------------------ layout
    @property
    def layer_names(self) -> tuple[str, ...]:
        """Module names in forward order: ``layer0 .. layer{k-1}`` then ``head``."""
        return (*(f"layer{i}" for i in range(len(self.hidden))), "head")

    @property
    def layer_dims(self) -> tuple[tuple[int, int], ...]:
        """``(fan_in, fan_out)`` per layer, in forward order."""
        dims = (self.obs_dim, *self.hidden, self.act_dim)
        return tuple(itertools.pairwise(dims))

    def layout(self) -> ModuleLayout:
        """One module per layer, shape ``(fan_in + 1, fan_out)`` (weight rows, then bias row)."""
        return ModuleLayout(self.layer_names, tuple((fi + 1, fo) for fi, fo in self.layer_dims))

    @property
    def num_params(self) -> int:
        return sum((fi + 1) * fo for fi, fo in self.layer_dims)

    @property
    def action_mid(self) -> np.ndarray:
        return (np.asarray(self.action_high) + np.asarray(self.action_low)) / 2.0

    @property
    def action_half(self) -> np.ndarray:
        return (np.asarray(self.action_high) - np.asarray(self.action_low)) / 2.0

    # ------------------------------------------------------------------ init
    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        """A fresh flat vector ``(D,)``, a pure function of ``rng``'s state.

        Weights ~ N(0, 1/fan_in) (LeCun normal: keeps tanh pre-activations O(1) at any width),
        biases 0, and the head scaled by ``head_init_scale`` so initial actions are near the
        middle of the action box.
        """
        modules = {}
        for k, (name, (fan_in, fan_out)) in enumerate(
            zip(self.layer_names, self.layer_dims, strict=True)
        ):
            scale = 1.0 / math.sqrt(fan_in)
            if k == len(self.hidden):
                scale *= self.head_init_scale
            w = rng.standard_normal((fan_in, fan_out)) * scale
            modules[name] = np.concatenate([w, np.zeros((1, fan_out))], axis=0)
        return self.layout().join(modules)

    def init_population(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` fresh vectors ``(n, D)``, drawn in member order from one ``rng``."""
        return np.stack([self.init_params(rng) for _ in range(n)])

    # ------------------------------------------------------------------ json
    def to_json(self) -> dict:
        return {
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "hidden": list(self.hidden),
            "activation": self.activation,
            "action_low": list(self.action_low),
            "action_high": list(self.action_high),
            "head_init_scale": self.head_init_scale,
            # only when set: specs without it keep their JSON byte for byte
            **({"ignored_inputs": list(self.ignored_inputs)} if self.ignored_inputs else {}),
        }

    @classmethod
    def from_json(cls, data: dict) -> PolicySpec:
        """Inverse of :meth:`to_json`; an unknown key is an error that names the key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"PolicySpec: unknown key(s) {unknown}")
        kwargs = dict(data)
        for key in ("hidden", "action_low", "action_high", "ignored_inputs"):
            if key in kwargs and isinstance(kwargs[key], list):
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)
