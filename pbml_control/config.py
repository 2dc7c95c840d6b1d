"""Run configuration: frozen dataclasses loaded from TOML, with ``--set`` overrides.

An unknown key or a bad value raises :class:`ConfigError` with a one-line message that names
it; the CLI turns that into exit code 2.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbml_control.mutation import MutationConfig
from pbml_control.operators import OperatorsConfig
from pbml_control.schedules import ScheduleConfig
from pbml_control.selection import SelectionConfig

__all__ = [
    "ConfigError",
    "ProblemConfig",
    "RunConfig",
    "apply_overrides",
    "build_section",
    "load_config",
]


class ConfigError(ValueError):
    """A configuration problem a user can fix; its message is one line."""


@dataclass(frozen=True)
class ProblemConfig:
    """Which problem to evolve, and its own settings (checked by the problem's factory)."""

    name: str = "numeric"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunConfig:
    seed: int = 0
    generations: int = 100
    population_size: int = 64
    checkpoint_every: int = 10  # generations between checkpoints (and at the end)
    keep_checkpoints: int = 3
    # Stop after the generation that brings the run's env steps to this budget (0: no budget);
    # robot experiments compare schemes at equal env steps, whatever each generation costs.
    max_env_steps: int = 0
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    mutation: MutationConfig = field(default_factory=MutationConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    operators: OperatorsConfig = field(default_factory=OperatorsConfig)

    def __post_init__(self) -> None:
        if self.generations < 1:
            raise ValueError(f"generations must be >= 1, got {self.generations}")
        if self.population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {self.population_size}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if self.keep_checkpoints < 1:
            raise ValueError(f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.max_env_steps < 0:
            raise ValueError(f"max_env_steps must be >= 0, got {self.max_env_steps}")

    @property
    def effective_mutation(self) -> MutationConfig:
        """The fixed-mutation baseline is PBML selection with frozen mutation parameters."""
        if self.selection.scheme == "fixed_mutation":
            return dataclasses.replace(self.mutation, frozen=True)
        return self.mutation

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return _build(cls, data, "")


_SECTIONS = {
    "problem": ProblemConfig,
    "selection": SelectionConfig,
    "mutation": MutationConfig,
    "schedule": ScheduleConfig,
    "operators": OperatorsConfig,
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    """Check a TOML value against the field's declared type (TOML has no tuples)."""
    kind = str(annotation)
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = {"int": int, "float": float, "str": str, "bool": bool}.get(kind)
    if expected is not None:
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{name}: expected {kind}, got {value!r}")
        return value
    if kind.startswith("tuple"):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        return tuple(tuple(v) if isinstance(v, list | tuple) else v for v in value)
    if kind.startswith("dict"):
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a table, got {value!r}")
        return dict(value)
    return value


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a table, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(f"unknown config key {name!r}")
        if key in _SECTIONS and cls is RunConfig:
            if key == "problem":
                value = _problem_table(value, name)
            kwargs[key] = _build(_SECTIONS[key], value, f"{name}.")
        else:
            kwargs[key] = _coerce(name, fields[key].type, value)
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def build_section(cls: type, data: dict[str, Any], prefix: str) -> Any:
    """Build a config dataclass from a table; used by problems for their own settings."""
    return _build(cls, data, prefix)


def _problem_table(value: Any, name: str) -> dict[str, Any]:
    """``[problem]`` holds ``name`` plus the problem's own keys, flattened for convenience."""
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: expected a table, got {value!r}")
    value = dict(value)
    params = dict(value.pop("params", {}))
    problem_name = value.pop("name", ProblemConfig.name)
    params.update(value)
    return {"name": problem_name, "params": params}


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=value`` -> (["a", "b"], value); the value is parsed as TOML, else a string."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise ConfigError(f"--set has an empty key in {text!r}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return path, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text!r}: {part!r} is not a table")
        node[path[-1]] = value
    return data


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read a TOML file, apply ``--set`` overrides, and validate everything."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return RunConfig.from_dict(apply_overrides(data, overrides or []))
