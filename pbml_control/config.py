"""Run configuration: frozen dataclasses loaded from TOML, with ``--set`` overrides.

An unknown key or a bad value raises :class:`ConfigError` with a one-line message that names
it; the CLI turns that into exit code 2.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbml_control.errors import UserError
from pbml_control.mutation import MutationConfig
from pbml_control.operators import OperatorsConfig
from pbml_control.schedules import ScheduleConfig
from pbml_control.selection import SelectionConfig
from pbml_control.suggest import closest

__all__ = [
    "ConfigError",
    "ProblemConfig",
    "RunConfig",
    "apply_overrides",
    "build_section",
    "check_finite",
    "config_from_json",
    "load_config",
    "read_config_text",
]


class ConfigError(UserError):
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

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        try:
            return _build(cls, data, "")
        except RecursionError:
            raise ConfigError("config is nested too deeply") from None


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


def check_finite(name: str, value: Any) -> None:
    """Refuse NaN and infinity anywhere in a value (nested lists and tables included).

    Range checks such as ``x < 0`` are false for NaN, so a NaN would pass every one of them;
    TOML spells both ``nan`` and ``inf``, and Python's JSON reader accepts them too.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value}")
    if isinstance(value, dict):
        for key, item in value.items():
            check_finite(f"{name}.{key}", item)
    elif isinstance(value, list | tuple):
        for item in value:
            check_finite(name, item)


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    """Check a TOML value against the field's declared type (TOML has no tuples); every float
    in it must be finite."""
    check_finite(name, value)
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
            match = closest(key, fields)
            hint = f"; did you mean {prefix + match!r}?" if match else ""
            raise ConfigError(f"unknown config key {name!r}{hint}")
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
    except RecursionError:
        raise ConfigError(f"--set {key.strip()}: the value is nested too deeply") from None
    return path, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    try:
        data = json.loads(json.dumps(data))
    except (RecursionError, ValueError):
        raise ConfigError("config is nested too deeply or holds values JSON cannot") from None
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text!r}: {part!r} is not a table")
        node[path[-1]] = value
    return data


MAX_CONFIG_BYTES = 1 << 20  # a config is a few KiB; more is not a config


def read_config_text(path: str | Path, what: str = "config file") -> str:
    """The text of a config file, refusing what is not one: a folder, a device such as
    /dev/zero (which would be read forever), a huge or binary file."""
    path = Path(path)
    try:
        if not path.exists():
            raise ConfigError(f"{what} not found: {path}")
        if not path.is_file():
            raise ConfigError(f"{what} {path} is not a regular file")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{what} {path} is larger than {MAX_CONFIG_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def config_from_json(text: str, path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """A run's ``config.json`` (with ``--set`` overrides) as a RunConfig; damage is one line."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ConfigError(f"{path} is corrupt (not JSON)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is corrupt: expected a table, got {type(data).__name__}")
    return RunConfig.from_dict(apply_overrides(data, overrides or []))


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read a TOML file, apply ``--set`` overrides, and validate everything."""
    text = read_config_text(path)
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"config file {path} is not valid TOML: {first}") from None
    return RunConfig.from_dict(apply_overrides(data, overrides or []))
