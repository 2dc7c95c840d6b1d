"""Neural policies for PBML: specs with one genome module per layer, the batched numpy forward
pass used in rollouts, observation normalisation, the genome <-> ``torch.nn.Module`` mapping and
pickle-free genome files.

This package never imports ``pbml_control.envs``, MuJoCo or Gymnasium: the evaluator is the one
place where tasks meet policies (ARCHITECTURE.md).
"""

from .forward import PopulationPolicy
from .io import LoadedGenome, load_genome, save_genome
from .normalizer import ObsNormalizer, ObsStats
from .spec import PolicySpec

_TORCH_NAMES = ("TorchPolicy", "from_torch_module", "to_torch_module")


def __getattr__(name: str):
    """Import torch only when the torch mapping is used: rollout workers never need it."""
    if name in _TORCH_NAMES:
        from . import torch_export

        return getattr(torch_export, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LoadedGenome",
    "ObsNormalizer",
    "ObsStats",
    "PolicySpec",
    "PopulationPolicy",
    "TorchPolicy",
    "from_torch_module",
    "load_genome",
    "save_genome",
    "to_torch_module",
]
