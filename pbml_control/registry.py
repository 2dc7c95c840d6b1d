"""Problem names -> factories, imported lazily so the method never imports MuJoCo or torch."""

from __future__ import annotations

import importlib
from typing import Any

from pbml_control.config import ConfigError, ProblemConfig
from pbml_control.problem import Problem
from pbml_control.suggest import did_you_mean

__all__ = ["PROBLEMS", "make_problem"]

# name -> "module:function"; each function takes the problem's params as keyword arguments.
PROBLEMS: dict[str, str] = {
    "numeric": "pbml_control.worlds.numeric:make",
    "square": "pbml_control.worlds.square:make",
    "hard_square": "pbml_control.worlds.square:make_hard",
    "mujoco": "pbml_control.mujoco_problem:make",
}


def make_problem(config: ProblemConfig, **runtime: Any) -> Problem:
    """Build the configured problem; bad names or settings raise :class:`ConfigError`."""
    if config.name not in PROBLEMS:
        raise ConfigError(
            f"unknown problem {config.name!r}{did_you_mean(config.name, PROBLEMS)} "
            f"(known: {', '.join(sorted(PROBLEMS))})"
        )
    module_name, func_name = PROBLEMS[config.name].split(":")
    factory = getattr(importlib.import_module(module_name), func_name)
    try:
        return factory(**config.params, **runtime)
    except TypeError as exc:
        raise ConfigError(f"problem {config.name!r}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"problem {config.name!r}: {exc}") from None
