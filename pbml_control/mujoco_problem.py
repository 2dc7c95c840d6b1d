"""MuJoCo tasks as a :class:`~pbml_control.problem.Problem`: where tasks meet policies.

One generation: every member runs ``episodes`` episodes on the same goal and the same episode
seeds (keyed by run seed and generation); its fitness is the mean return. Simulations are laid
out member-major (sim = member * episodes + episode) and cut into contiguous chunks, one per
worker process; each chunk runs on a ``mujoco.batch.Batch`` with the policy's forward pass
batched across its simulations (``envs/batch_rollout.py``). Per-simulation results do not
depend on the chunking, and observation statistics are summed per simulation and merged in
simulation order, so results are the same for any number of workers. A Gymnasium id without a
task spec runs on the generic path instead (``envs/generic.py``: one ``gymnasium.make`` env per
simulation), with the same policy, normalisation and seeds.

Observation normalisation (Salimans et al., 2017): one running mean/std shared by the
population, updated after each generation from the observations of that generation, frozen
while a generation runs, and saved in checkpoints with the genomes.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbml_control.config import build_section
from pbml_control.envs import goal_space
from pbml_control.envs.paths import make_task, rollout
from pbml_control.evaluators import Backend, LocalBackend, ProcessBackend, RayBackend
from pbml_control.genome import ModuleLayout
from pbml_control.policies import ObsNormalizer, ObsStats, PolicySpec, PopulationPolicy
from pbml_control.problem import Evaluation
from pbml_control.rng import episode_seeds

__all__ = ["MujocoProblem", "MujocoProblemConfig", "make"]


@dataclass(frozen=True)
class MujocoProblemConfig:
    """Settings under ``[problem]`` when ``name = "mujoco"``."""

    task: str = "HalfCheetahVel"  # a task or variant name, e.g. "HalfCheetahVel-Heavy"
    hidden: tuple[int, ...] = (32, 32)
    activation: str = "tanh"
    episodes: int = 1  # episodes per member per generation
    max_episode_steps: int = 200
    workers: int = 1  # local worker processes or Ray actors; results do not depend on it
    backend: str = "local"  # "local" (this process or worker processes) or "ray"
    ray_address: str = ""  # "" starts a local Ray with `workers` CPUs; else a cluster address
    obs_normalization: bool = True
    policy_dtype: str = "float64"  # "float32" is ~2x faster for large populations
    spec_overrides: dict[str, Any] = field(default_factory=dict)  # reward weights, ...
    # Subtracted from every step's reward in the training fitness only, as ARS (Mania et al.
    # 2018) does for the survival bonus of Hopper, Walker2d and Ant: without it, standing
    # still for 1000 steps is a strong local optimum. Evaluations report the true return.
    survival_shift: float = 0.0

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"problem.episodes must be >= 1, got {self.episodes}")
        if self.max_episode_steps < 1:
            raise ValueError(
                f"problem.max_episode_steps must be >= 1, got {self.max_episode_steps}"
            )
        if self.workers < 1:
            raise ValueError(f"problem.workers must be >= 1, got {self.workers}")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"problem.hidden sizes must be >= 1, got {self.hidden}")
        if self.backend not in ("local", "ray"):
            raise ValueError(f"problem.backend must be local or ray, got {self.backend!r}")
        if self.ray_address and self.backend != "ray":
            raise ValueError("problem.ray_address is set but problem.backend is not 'ray'")
        if self.backend == "ray" and importlib.util.find_spec("ray") is None:
            raise ValueError('problem.backend = "ray" needs Ray: pip install "pbml-control[ray]"')
        if not np.isfinite(self.survival_shift) or self.survival_shift < 0:
            raise ValueError(
                f"problem.survival_shift must be finite and >= 0, got {self.survival_shift}"
            )
        if self.policy_dtype not in ("float64", "float32"):
            raise ValueError(
                f"problem.policy_dtype must be float64 or float32, got {self.policy_dtype!r}"
            )


@dataclass(frozen=True)
class ChunkResult:
    """What one worker sends back for its contiguous block of simulations."""

    returns: np.ndarray
    lengths: np.ndarray
    unstable: np.ndarray
    obs_count: np.ndarray  # (S,) observations seen per simulation
    obs_sum: np.ndarray  # (S, obs_dim)
    obs_sumsq: np.ndarray  # (S, obs_dim)


class _Rollouts:
    """Builds the task's model once per process and runs chunks of simulations."""

    def __init__(self, config: MujocoProblemConfig) -> None:
        self.config = config
        self.task = make_task(  # a TaskSpec (fast path) or a GenericTask (any Gymnasium id)
            config.task, max_episode_steps=config.max_episode_steps, **config.spec_overrides
        )
        self.model = self.task.build_model()
        self.policy_spec = PolicySpec(
            obs_dim=self.task.obs_dim,
            act_dim=self.task.act_dim,
            hidden=tuple(config.hidden),
            activation=config.activation,
            action_low=tuple(self.task.action_low.tolist()),
            action_high=tuple(self.task.action_high.tolist()),
        )

    def run(
        self,
        params: np.ndarray,
        member_index: np.ndarray,
        seeds: np.ndarray,
        goal: np.ndarray,
        normalizer_state: dict[str, np.ndarray] | None,
    ) -> ChunkResult:
        policy = PopulationPolicy(
            self.policy_spec,
            params,
            normalizer=normalizer_state,
            member_index=member_index,
            dtype=np.dtype(self.config.policy_dtype),
        )
        s, d = len(member_index), self.task.obs_dim
        count, total, total_sq = np.zeros(s), np.zeros((s, d)), np.zeros((s, d))
        masked = np.empty((s, d))

        def accumulate(obs: np.ndarray, active: np.ndarray) -> None:
            """Per-simulation sums of live observations (finished ones repeat their last)."""
            np.multiply(obs, active[:, None], out=masked)
            count[active] += 1.0
            total[:] += masked
            total_sq[:] += masked * masked

        returns, lengths, unstable = rollout(
            self.task,
            self.model,
            goal,
            seeds,
            policy.logits if getattr(self.task, "discrete", False) else policy.act,
            on_obs=accumulate if normalizer_state is not None else None,
        )
        return ChunkResult(returns, lengths, unstable, count, total, total_sq)


class MujocoProblem:
    """A goal-conditioned MuJoCo task evolved through a modular MLP policy.

    ``evaluate`` takes one goal (goal_dim,) or a set (k, goal_dim): each member then runs every
    goal with the generation's episode seeds, and its fitness is the mean over all of them.
    """

    goal_sets = True  # evaluate() accepts (k, goal_dim) goals

    def __init__(self, config: MujocoProblemConfig) -> None:
        self.config = config
        self._local = _Rollouts(config)
        self.task = self._local.task
        self.policy_spec = self._local.policy_spec
        self.model = self._local.model  # this process's compiled model (for rendering, tests)
        self.layout: ModuleLayout = self.policy_spec.layout()
        self.goal_space = goal_space(config.task)
        self.normalizer = ObsNormalizer(self.task.obs_dim)
        self.env_steps_total = 0
        self._backend: Backend | None = None

    # --- Problem protocol -------------------------------------------------------------------
    def initial_params(self, rng: np.random.Generator) -> np.ndarray:
        return self.policy_spec.init_params(rng)

    def sample_goal(self, rng: np.random.Generator, split: str = "train") -> np.ndarray:
        return np.asarray(self.goal_space.sample(rng, split), dtype=np.float64)

    def validate_goal(self, goal: np.ndarray) -> None:
        """A goal from a config must lie in the task's goal space."""
        if not self.goal_space.in_bounds(np.asarray(goal, dtype=np.float64)):
            raise ValueError(
                f"goal {np.atleast_1d(goal).tolist()} is outside the goal space of "
                f"{self.config.task}"
                f" (low {self.goal_space.low.tolist()}, high {self.goal_space.high.tolist()})"
            )

    def evaluate(
        self, params: np.ndarray, goal: np.ndarray, seed: int, generation: int
    ) -> Evaluation:
        goals = np.asarray(goal, dtype=np.float64)
        k = goals.shape[0] if goals.ndim == 2 else 1  # goals per member (schedule option)
        n, e = params.shape[0], self.config.episodes * k
        member_index = np.repeat(np.arange(n), e)
        # sim = (member, goal, episode); every goal runs the generation's episode seeds
        seeds = np.tile(np.asarray(episode_seeds(seed, generation, self.config.episodes)), n * k)
        sim_goals = (
            np.tile(np.repeat(goals, self.config.episodes, axis=0), (n, 1)) if k > 1 else None
        )
        norm = self.normalizer.state_dict() if self.config.obs_normalization else None
        chunks = np.array_split(np.arange(n * e), min(self.config.workers, n * e))
        jobs = []
        for c in chunks:
            if len(c):  # a chunk's simulations belong to a contiguous range of members
                first, last = member_index[c[0]], member_index[c[-1]]
                members = params[first : last + 1]
                chunk_goal = goal if sim_goals is None else sim_goals[c]
                jobs.append((members, member_index[c] - first, seeds[c], chunk_goal, norm))
        results = self._ensure_backend().run(jobs)
        merged = {
            name: np.concatenate([getattr(r, name) for r in results])
            for name in ChunkResult.__dataclass_fields__
        }
        returns = merged["returns"].reshape(n, e)
        if self.config.survival_shift:
            returns = returns - self.config.survival_shift * merged["lengths"].reshape(n, e)
        if self.config.obs_normalization:
            self.normalizer.update(
                [
                    ObsStats.from_sums(c, s, q)
                    for c, s, q in zip(
                        merged["obs_count"], merged["obs_sum"], merged["obs_sumsq"], strict=True
                    )
                ]
            )
        steps = int(merged["lengths"].sum())
        self.env_steps_total += steps
        return Evaluation(
            fitness=returns.mean(axis=1),
            info={
                "env_steps": steps,
                "env_steps_total": self.env_steps_total,
                "unstable_episodes": int(merged["unstable"].sum()),
            },
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {f"obs_norm/{k}": np.asarray(v) for k, v in self.normalizer.state_dict().items()}
        state["env_steps_total"] = np.array(self.env_steps_total, dtype=np.int64)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        prefix = "obs_norm/"
        norm = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if norm:
            self.normalizer.load_state_dict(norm)
        self.env_steps_total = int(state.get("env_steps_total", 0))

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    # --- helpers ----------------------------------------------------------------------------
    def _ensure_backend(self) -> Backend:
        if self._backend is None:
            if self.config.backend == "ray":
                address = self.config.ray_address or None
                self._backend = RayBackend(_Rollouts, (self.config,), self.config.workers, address)
            elif self.config.workers == 1:
                self._backend = LocalBackend(self._local)
            else:
                self._backend = ProcessBackend(_Rollouts, (self.config,), self.config.workers)
        return self._backend


def make(**params: Any) -> MujocoProblem:
    return MujocoProblem(build_section(MujocoProblemConfig, params, "problem."))


def genome_problem(
    genome: Any, task: str, episodes: int = 1, max_episode_steps: int = 1000
) -> MujocoProblem:
    """A problem shaped like one saved genome's policy, so the run's code can roll it out.

    ``pbml evaluate``, ``pbml render`` and ``pbml export`` of a genome file all build it here.
    Raises ValueError when the genome's layout does not fit ``task``.
    """
    spec = genome.spec
    problem = MujocoProblem(
        MujocoProblemConfig(
            task=task,
            hidden=tuple(spec.hidden),
            activation=spec.activation,
            episodes=episodes,
            max_episode_steps=max_episode_steps,
            obs_normalization=genome.normalizer_state is not None,
        )
    )
    if problem.policy_spec.layout() != spec.layout():
        problem.close()
        raise ValueError(
            f"genome policy (obs {spec.obs_dim}, act {spec.act_dim}) does not fit {task} "
            f"(obs {problem.policy_spec.obs_dim}, act {problem.policy_spec.act_dim})"
        )
    return problem


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
    problem = genome_problem(genome, task, episodes, max_episode_steps)
    try:
        return rollout_members(
            problem, genome.params, goal, episodes, seed, genome.normalizer_state
        )[0]
    finally:
        problem.close()


def rollout_members(
    problem: MujocoProblem,
    params: np.ndarray,
    goal: np.ndarray | None,
    episodes: int,
    seed: int,
    normalizer_state: dict[str, np.ndarray] | None,
) -> np.ndarray:
    """Returns (K, episodes) of K parameter vectors (K, D) in one batch, with the given
    observation statistics; each member's episodes are seeded as a generation-0 evaluation of
    ``seed``, so a member's returns do not depend on which others share the batch."""
    params = np.atleast_2d(np.asarray(params))
    if goal is None:
        goal = np.asarray(problem.task.default_goal, dtype=np.float64)
    problem.validate_goal(goal)
    k = params.shape[0]
    chunk = problem._local.run(
        params,
        np.repeat(np.arange(k), episodes),
        np.tile(np.asarray(episode_seeds(seed, 0, episodes)), k),
        goal,
        normalizer_state,
    )
    return chunk.returns.reshape(k, episodes)
