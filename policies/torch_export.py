"""Exact mapping between a genome's flat parameters and a plain ``torch.nn.Module``.

The module is what a user runs in their own Gymnasium loop::

    module = to_torch_module(spec, params, normalizer_state)
    action = module(torch.as_tensor(obs)).numpy()

It holds the normalisation statistics and the action bounds as registered buffers, so its
``state_dict()`` is the whole policy and loads into ``TorchPolicy(spec)`` with no genome code.
It is built in float64 (bit-compatible with the numpy rollouts); ``module.float()`` is fine for
deployment. Inputs of any float dtype are cast to the module's dtype.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from .normalizer import check_normalizer_state, normalizer_arrays
from .spec import PolicySpec

__all__ = ["TorchPolicy", "from_torch_module", "to_torch_module"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}


class TorchPolicy(nn.Module):
    """``obs -> clip((obs - mean) / std) -> ignored inputs to 0 -> layer0 .. head -> mid + half
    * tanh``.

    Submodules are named like the genome's modules (``layer0``, ``layer1``, ..., ``head``).
    Without normaliser statistics the buffers are ``mean = 0``, ``std = 1``, ``clip = inf``.
    """

    def __init__(self, spec: PolicySpec, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.spec = spec
        for name, (fan_in, fan_out) in zip(spec.layer_names, spec.layer_dims, strict=True):
            self.add_module(name, nn.Linear(fan_in, fan_out, dtype=dtype))
        self.activation = _ACTIVATIONS[spec.activation]()
        self.register_buffer("obs_mean", torch.zeros(spec.obs_dim, dtype=dtype))
        self.register_buffer("obs_std", torch.ones(spec.obs_dim, dtype=dtype))
        self.register_buffer("obs_clip", torch.tensor(float("inf"), dtype=dtype))
        self.register_buffer("action_mid", torch.as_tensor(spec.action_mid, dtype=dtype))
        self.register_buffer("action_half", torch.as_tensor(spec.action_half, dtype=dtype))
        if spec.ignored_inputs:  # only then: other modules keep their state_dict keys
            self.register_buffer("obs_ignored", torch.as_tensor(spec.ignored_inputs))

    def layers(self) -> list[nn.Linear]:
        return [getattr(self, name) for name in self.spec.layer_names]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.to(self.obs_mean.dtype)
        x = torch.clamp((x - self.obs_mean) / self.obs_std, -self.obs_clip, self.obs_clip)
        if self.spec.ignored_inputs:  # as the numpy forward pass: the inputs become +0
            x = x.index_fill(-1, self.obs_ignored, 0.0)
        layers = self.layers()
        for layer in layers[:-1]:
            x = self.activation(layer(x))
        return self.action_mid + self.action_half * torch.tanh(layers[-1](x))


def to_torch_module(
    spec: PolicySpec,
    params: np.ndarray,
    normalizer_state: Mapping[str, np.ndarray] | None = None,
    dtype: torch.dtype = torch.float64,
) -> TorchPolicy:
    """Build the policy of one genome ``params (D,)``; ``nn.Linear.weight`` is ``W.T``."""
    params = np.asarray(params, dtype=np.float64)
    if params.shape != (spec.num_params,):
        raise ValueError(
            f"to_torch_module: params shape {params.shape}, expected ({spec.num_params},)"
        )
    module = TorchPolicy(spec, dtype=dtype)
    modules = spec.layout().split(params)
    with torch.no_grad():
        for name, layer in zip(spec.layer_names, module.layers(), strict=True):
            block = modules[name]  # (fan_in + 1, fan_out)
            layer.weight.copy_(torch.as_tensor(block[:-1].T.copy()))
            layer.bias.copy_(torch.as_tensor(block[-1].copy()))
        if normalizer_state is not None:
            check_normalizer_state(dict(normalizer_state), spec.obs_dim)
            mean, std, clip = normalizer_arrays(dict(normalizer_state))
            module.obs_mean.copy_(torch.as_tensor(mean))
            module.obs_std.copy_(torch.as_tensor(std))
            module.obs_clip.fill_(clip)
    return module


def from_torch_module(spec: PolicySpec, module: nn.Module) -> np.ndarray:
    """Flat ``(D,)`` float64 params of ``module``: the exact inverse of :func:`to_torch_module`.

    Works on any module with ``nn.Linear`` submodules named like ``spec.layer_names`` (so also on
    one rebuilt from a saved ``state_dict``). The normaliser lives in the genome file, not here.
    """
    blocks = {}
    for name, (fan_in, fan_out) in zip(spec.layer_names, spec.layer_dims, strict=True):
        layer = getattr(module, name, None)
        if not isinstance(layer, nn.Linear):
            raise ValueError(f"from_torch_module: module has no nn.Linear named {name!r}")
        w = layer.weight.detach().cpu().to(torch.float64).numpy()
        b = layer.bias.detach().cpu().to(torch.float64).numpy()
        if w.shape != (fan_out, fan_in):
            raise ValueError(
                f"from_torch_module: {name}.weight has shape {w.shape}, "
                f"expected ({fan_out}, {fan_in})"
            )
        blocks[name] = np.concatenate([w.T, b[None, :]], axis=0)
    return spec.layout().join(blocks)
