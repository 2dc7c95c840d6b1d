"""The run loader: what a run folder or a genome file holds, ready to roll out.

Every consumer of a finished run (``pbml render``, ``pbml export``, ``pbml evaluate``, member
selection, final evaluations, goal tracking) loads it here, into a :class:`RunSource` (a
checkpoint: its population, its task, its policy spec, its observation normaliser and an
evaluator built from its config) or a :class:`GenomeSource` (one genome file or zoo entry: the
same, for one member). Both offer the same reading surface, so nothing reaches into a problem.

MuJoCo is not imported at module level: rendering must pick its GL backend before the first
import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pbml_control.errors import UserError

if TYPE_CHECKING:
    from pbml_control.checkpoint import Checkpoint
    from pbml_control.config import RunConfig
    from pbml_control.evaluator import Evaluator, ProblemState
    from pbml_control.policies import LoadedGenome, PolicySpec

__all__ = [
    "GenomeSource",
    "RunSource",
    "Source",
    "SourceError",
    "evaluate_genome",
    "genome_evaluator",
    "load_genome_source",
    "load_run",
    "load_source",
    "resolve_checkpoint",
]


class SourceError(UserError):
    """A run folder, checkpoint or genome file a user can fix; its message is one line."""


class _Evaluated:
    """What both sources read from their evaluator."""

    evaluator: Evaluator

    @property
    def task_name(self) -> str:
        return str(self.evaluator.config.task)

    @property
    def task(self) -> Any:
        """The task spec (fast path) or generic task the evaluator runs."""
        return self.evaluator.task

    def close(self) -> None:
        self.evaluator.close()


@dataclass
class RunSource(_Evaluated):
    """A checkpoint with its run's evaluator and problem state (observation statistics)."""

    path: Path
    checkpoint: Checkpoint
    config: RunConfig
    evaluator: Evaluator
    state: ProblemState  # the checkpoint's; evaluations never change it

    @property
    def policy_spec(self) -> PolicySpec:
        return self.evaluator.policy_spec

    @property
    def normalizer_state(self) -> dict[str, np.ndarray] | None:
        """The statistics the run's policies saw at the checkpoint (None: not normalised)."""
        return self.evaluator.normalizer(self.state)

    def params(self, member: Any) -> np.ndarray:
        """The member's flat policy parameters."""
        return self.checkpoint.population.params[member.index]


@dataclass
class GenomeSource(_Evaluated):
    """One saved genome (a file or a zoo entry) with an evaluator built for its task.

    It offers what render and export read from a :class:`RunSource`, so a genome goes through
    the same rollout and export code as a checkpoint member.
    """

    path: Path
    genome: LoadedGenome
    evaluator: Evaluator

    @property
    def policy_spec(self) -> PolicySpec:
        return self.genome.spec  # the file's own spec, exactly as a user's export builds it

    @property
    def normalizer_state(self) -> dict[str, np.ndarray] | None:
        return self.genome.normalizer_state

    def params(self, member: Any) -> np.ndarray:
        return self.genome.params


Source = RunSource | GenomeSource


def resolve_checkpoint(path: str | Path) -> Path:
    """A run folder, its ``checkpoints/`` folder or a ``gen_*.json``/``.npz`` -> the record."""
    from pbml_control.checkpoint import find_checkpoint

    path = Path(path)
    if not path.exists():
        raise SourceError(f"no such run folder or checkpoint: {path}")
    found = find_checkpoint(path)
    if found is None:
        raise SourceError(f"no checkpoint in {path} (expected {path / 'checkpoints'}/gen_*.json)")
    return found


def load_source(path: str | Path) -> Source:
    """A run folder or checkpoint (:func:`load_run`), or a genome file or ``zoo:<task>``
    (:func:`load_genome_source`)."""
    from pbml_control.zoo import genome_path

    path = genome_path(path)  # ZooError (a UserError) for an unknown entry
    if path.suffix == ".safetensors":
        return load_genome_source(path)
    return load_run(path)


def load_run(path: str | Path) -> RunSource:
    """The newest checkpoint of a MuJoCo run, with an evaluator built from the run's config."""
    from pbml_control.checkpoint import load_checkpoint
    from pbml_control.config import ConfigError, RunConfig, build_section
    from pbml_control.evaluator import Evaluator, ProblemState
    from pbml_control.mujoco_config import MujocoProblemConfig

    record = resolve_checkpoint(path)
    ckpt = load_checkpoint(record)
    config = RunConfig.from_dict(ckpt.config)
    if config.problem.name != "mujoco":
        raise SourceError(
            f"{record} is a {config.problem.name!r} run; only MuJoCo runs can be rendered"
        )
    try:
        evaluator = Evaluator(
            build_section(MujocoProblemConfig, dict(config.problem.params), "problem.")
        )
    except (TypeError, ValueError) as exc:  # as the problem registry reports them
        raise ConfigError(f"problem 'mujoco': {exc}") from None
    try:
        state = ProblemState.from_arrays(ckpt.problem_state, evaluator.task.obs_dim)
    except BaseException:
        evaluator.close()
        raise
    return RunSource(record, ckpt, config, evaluator, state)


def _saved_overrides(metadata: dict) -> dict:
    """The task settings a genome file was trained with (metadata ``spec_overrides``)."""
    overrides = metadata.get("spec_overrides", {})
    if not isinstance(overrides, dict) or not all(isinstance(k, str) for k in overrides):
        raise ValueError("genome metadata 'spec_overrides' is not a table of task settings")
    return overrides


def genome_evaluator(
    genome: Any, task: str, episodes: int = 1, max_episode_steps: int = 1000
) -> Evaluator:
    """An evaluator shaped like one saved genome's policy (float64), on ``task``.

    Raises ValueError when the genome's layout does not fit ``task``.
    """
    from pbml_control.evaluator import Evaluator
    from pbml_control.mujoco_config import MujocoProblemConfig

    spec = genome.spec
    evaluator = Evaluator(
        MujocoProblemConfig(
            task=task,
            hidden=tuple(spec.hidden),
            activation=spec.activation,
            episodes=episodes,
            max_episode_steps=max_episode_steps,
            obs_normalization=genome.normalizer_state is not None,
            ignore_observations=tuple(str(i) for i in spec.ignored_inputs),
            spec_overrides=_saved_overrides(genome.metadata),
        )
    )
    if evaluator.policy_spec.layout() != spec.layout():
        evaluator.close()
        raise ValueError(
            f"genome policy (obs {spec.obs_dim}, act {spec.act_dim}) does not fit {task} "
            f"(obs {evaluator.policy_spec.obs_dim}, act {evaluator.policy_spec.act_dim})"
        )
    return evaluator


def evaluate_genome(
    genome: Any,
    task: str,
    goal: np.ndarray | None,
    episodes: int,
    max_episode_steps: int,
    seed: int,
) -> np.ndarray:
    """Returns of one saved genome (``policies.load_genome``) on ``task``, one per episode.

    The genome's policy must fit the task: same layout (observation, action and hidden sizes);
    its observation statistics are used as saved. Raises ValueError on a mismatch or a goal
    outside the task's goal space.
    """
    with genome_evaluator(genome, task, episodes, max_episode_steps) as evaluator:
        return evaluator.evaluate_genome(
            genome.params, goal, episodes, seed, genome.normalizer_state
        )[0]


def load_genome_source(
    path: Path,
    task: str | None = None,
    episodes: int = 1,
    max_episode_steps: int = 1000,
    hint: str = "",
) -> GenomeSource:
    """A genome file on ``task`` (default: the task it names), checked to fit it; problems are
    one-line errors, ``hint`` appended where the task is missing. ``episodes`` and
    ``max_episode_steps`` shape its evaluator."""
    from pbml_control.policies import load_genome

    if not path.is_file():
        raise SourceError(f"genome file {'not a file' if path.exists() else 'not found'}: {path}")
    try:
        genome = load_genome(path)
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    named = task or genome.metadata.get("task")
    if not named:
        raise SourceError(f"{path} names no task (metadata 'task' is missing){hint}")
    if not isinstance(named, str):
        raise SourceError(f"{path}: its metadata 'task' is not a name ({named!r}){hint}")
    try:
        evaluator = genome_evaluator(genome, named, episodes, max_episode_steps)
    except (TypeError, ValueError) as exc:  # TypeError: a saved task setting `named` lacks
        raise SourceError(f"{path}: {exc}") from None
    return GenomeSource(path, genome, evaluator)
