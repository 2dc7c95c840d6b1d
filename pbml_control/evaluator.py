"""The one place where MuJoCo tasks meet policies: populations and single genomes, on a backend.

One generation: every member runs ``episodes`` episodes on the same goal and the same episode
seeds (keyed by run seed and generation); its fitness is the mean return. Simulations are laid
out member-major (sim = member * episodes + episode) and cut into ``workers *
chunks_per_worker`` contiguous chunks, which free workers take in turn; each chunk runs on a
``mujoco.batch.Batch`` with the policy's forward pass batched across its simulations
(``envs/batch_rollout.py``). Per-simulation results do not depend on the chunking, and
observation statistics are summed per simulation and merged in simulation order, so results are
the same for any number of workers and chunks. One chunk per worker batches the most
simulations together; more chunks let a worker whose chunk ended early (fallen robots, a slow
core next to it) take another instead of waiting. A Gymnasium id without a
task spec runs on the generic path instead (``envs/generic.py``: one ``gymnasium.make`` env per
simulation), with the same policy, normalisation and seeds.

The evaluator holds no run state. What a run carries from one generation to the next besides
its genomes, the observation normaliser and the env-step counter, is a :class:`ProblemState`
that :meth:`Evaluator.evaluate_population` takes and returns. Observation normalisation
(Salimans et al., 2017): one running mean/std shared by the population, frozen while a
generation runs, then updated from that generation's observations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pbml_control.envs import goal_space
from pbml_control.envs.goals import Stratum
from pbml_control.envs.paths import make_task, rollout
from pbml_control.evaluators import Backend, LocalBackend, ProcessBackend, RayBackend, RunTiming
from pbml_control.genome import ModuleLayout
from pbml_control.mujoco_config import MujocoProblemConfig, chunks_per_worker, ignored_dims
from pbml_control.policies import ObsNormalizer, ObsStats, PolicySpec, PopulationPolicy
from pbml_control.problem import Evaluation
from pbml_control.rng import episode_seeds

__all__ = ["ChunkResult", "Evaluator", "ProblemState", "Rollouts"]

NORM_PREFIX = "obs_norm/"


@dataclass(frozen=True)
class ProblemState:
    """A MuJoCo run's state besides its genomes: observation statistics and env steps so far.

    ``normalizer`` holds the arrays of ``ObsNormalizer.state_dict()`` (count, mean, m2, clip,
    eps), copied and read-only: a state never changes, each generation makes a new one. It is
    kept, and checkpointed, even when ``obs_normalization`` is off; policies then ignore it.
    """

    normalizer: dict[str, np.ndarray]
    env_steps_total: int = 0

    def __post_init__(self) -> None:
        frozen = {k: np.array(v, copy=True) for k, v in self.normalizer.items()}
        for array in frozen.values():
            array.setflags(write=False)
        object.__setattr__(self, "normalizer", frozen)
        object.__setattr__(self, "env_steps_total", int(self.env_steps_total))

    @classmethod
    def initial(cls, obs_dim: int) -> ProblemState:
        return cls(ObsNormalizer(obs_dim).state_dict(), 0)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The checkpoint's ``problem_state``: ``obs_norm/<key>`` and ``env_steps_total``."""
        arrays = {NORM_PREFIX + k: np.asarray(v) for k, v in self.normalizer.items()}
        arrays["env_steps_total"] = np.array(self.env_steps_total, dtype=np.int64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], obs_dim: int) -> ProblemState:
        """The inverse of :meth:`to_arrays`; a bad normaliser raises a one-line ValueError."""
        norm = ObsNormalizer(obs_dim)
        saved = {k[len(NORM_PREFIX) :]: v for k, v in arrays.items() if k.startswith(NORM_PREFIX)}
        if saved:
            norm.load_state_dict(saved)
        return cls(norm.state_dict(), int(arrays.get("env_steps_total", 0)))


@dataclass(frozen=True)
class ChunkResult:
    """What one worker sends back for its contiguous block of simulations."""

    returns: np.ndarray
    lengths: np.ndarray
    unstable: np.ndarray
    obs_count: np.ndarray  # (S,) observations seen per simulation
    obs_sum: np.ndarray  # (S, obs_dim)
    obs_sumsq: np.ndarray  # (S, obs_dim)


class Rollouts:
    """Builds the task's model once per process and runs chunks of simulations (a worker)."""

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
            ignored_inputs=ignored_dims(config.ignore_observations, self.task.obs_dim),
        )

    def policy(
        self, params: np.ndarray, member_index: np.ndarray, normalizer: dict | None
    ) -> PopulationPolicy:
        return PopulationPolicy(
            self.policy_spec,
            params,
            normalizer=normalizer,
            member_index=member_index,
            dtype=np.dtype(self.config.policy_dtype),
        )

    def act_fn(self, policy: PopulationPolicy) -> Any:
        """What the task reads from the policy: logits for a discrete task, else actions."""
        return policy.logits if getattr(self.task, "discrete", False) else policy.act

    def run(
        self,
        params: np.ndarray,
        member_index: np.ndarray,
        seeds: np.ndarray,
        goal: np.ndarray,
        normalizer_state: dict[str, np.ndarray] | None,
    ) -> ChunkResult:
        policy = self.policy(params, member_index, normalizer_state)
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
            self.act_fn(policy),
            on_obs=accumulate if normalizer_state is not None else None,
        )
        return ChunkResult(returns, lengths, unstable, count, total, total_sq)


class Evaluator:
    """Evaluates populations (for training) and single genomes (for everything else).

    ``evaluate_population`` takes one goal (goal_dim,) or a set (k, goal_dim): each member then
    runs every goal with the generation's episode seeds, and its fitness is the mean over all
    of them. Worker processes or Ray actors start on the first population and stop on
    :meth:`close`; single genomes always run in this process. A ``backend`` given here is used
    instead of the one the config names (tests inject failing workers this way).
    ``last_timing`` is the backend's :class:`~pbml_control.evaluators.RunTiming` of the last
    population (per-chunk seconds, per-worker busy seconds, balance, CPU share), or None
    before the first one.
    """

    def __init__(self, config: MujocoProblemConfig, backend: Backend | None = None) -> None:
        self.config = config
        self._local = Rollouts(config)
        self.goal_space = goal_space(config.task)
        self._backend = backend
        self.last_timing: RunTiming | None = None

    @property
    def task(self) -> Any:
        return self._local.task

    @property
    def model(self) -> Any:
        """This process's compiled model (``task.build_model()``)."""
        return self._local.model

    @property
    def policy_spec(self) -> PolicySpec:
        return self._local.policy_spec

    @property
    def layout(self) -> ModuleLayout:
        return self.policy_spec.layout()

    def initial_state(self) -> ProblemState:
        return ProblemState.initial(self.task.obs_dim)

    def normalizer(self, state: ProblemState) -> dict[str, np.ndarray] | None:
        """The statistics policies see: the state's, or None without observation normalisation."""
        return state.normalizer if self.config.obs_normalization else None

    def sample_goal(
        self, rng: np.random.Generator, split: str = "train", stratum: Stratum | None = None
    ) -> np.ndarray:
        """A goal from the training region, or the held-out one with ``split="heldout"``;
        ``stratum=(j, k)`` draws from the j-th of k equal slices of it (envs/goals.py)."""
        return np.asarray(self.goal_space.sample(rng, split, stratum), dtype=np.float64)

    def validate_goal(self, goal: np.ndarray) -> None:
        """A goal must lie in the task's goal space (one-line ValueError)."""
        space = self.goal_space
        if not space.in_bounds(np.asarray(goal, dtype=np.float64)):
            raise ValueError(
                f"goal {np.atleast_1d(goal).tolist()} is outside the goal space of "
                f"{self.config.task} (low {space.low.tolist()}, high {space.high.tolist()})"
            )

    def evaluate_population(
        self,
        params: np.ndarray,
        goal: np.ndarray,
        seed: int,
        generation: int,
        state: ProblemState,
    ) -> tuple[Evaluation, ProblemState]:
        """Fitness of each row of ``params`` (N, D), and the state after this generation."""
        goals = np.asarray(goal, dtype=np.float64)
        k = goals.shape[0] if goals.ndim == 2 else 1  # goals per member (schedule option)
        episodes = self.config.episodes
        n, e = params.shape[0], episodes * k
        member_index = np.repeat(np.arange(n), e)
        # sim = (member, goal, episode); every goal runs the generation's episode seeds
        seeds = np.tile(np.asarray(episode_seeds(seed, generation, episodes)), n * k)
        sim_goals = np.tile(np.repeat(goals, episodes, axis=0), (n, 1)) if k > 1 else None
        norm = self.normalizer(state)
        cuts = self.config.workers * chunks_per_worker(
            self.config.chunks_per_worker, self.config.workers
        )
        chunks = np.array_split(np.arange(n * e), min(cuts, n * e))
        jobs = []
        for c in chunks:
            if len(c):  # a chunk's simulations belong to a contiguous range of members
                first, last = member_index[c[0]], member_index[c[-1]]
                members = params[first : last + 1]
                chunk_goal = goal if sim_goals is None else sim_goals[c]
                jobs.append((members, member_index[c] - first, seeds[c], chunk_goal, norm))
        backend = self._ensure_backend()
        results = backend.run(jobs)
        self.last_timing = getattr(backend, "last_timing", None)  # injected ones may keep none
        merged = {
            name: np.concatenate([getattr(r, name) for r in results])
            for name in ChunkResult.__dataclass_fields__
        }
        returns = merged["returns"].reshape(n, e)
        if self.config.survival_shift:
            returns = returns - self.config.survival_shift * merged["lengths"].reshape(n, e)
        normalizer = state.normalizer
        if self.config.obs_normalization:
            running = ObsNormalizer.from_state_dict(state.normalizer)
            running.update(
                [
                    ObsStats.from_sums(c, s, q)
                    for c, s, q in zip(
                        merged["obs_count"], merged["obs_sum"], merged["obs_sumsq"], strict=True
                    )
                ]
            )
            normalizer = running.state_dict()
        steps = int(merged["lengths"].sum())
        total = state.env_steps_total + steps
        evaluation = Evaluation(
            fitness=returns.mean(axis=1),
            info={
                "env_steps": steps,
                "env_steps_total": total,
                "unstable_episodes": int(merged["unstable"].sum()),
            },
        )
        return evaluation, ProblemState(normalizer, total)

    def evaluate_genome(
        self,
        params: np.ndarray,
        goal: np.ndarray | None,
        episodes: int,
        seed: int,
        normalizer: dict[str, np.ndarray] | None,
    ) -> np.ndarray:
        """Returns (K, episodes) of K parameter vectors (K, D) or one (D,), in one batch.

        ``goal`` None is the task's default goal; a goal outside the goal space raises
        ValueError. Each member's episodes are seeded as a generation-0 evaluation of ``seed``,
        so a member's returns do not depend on which others share the batch. The true return:
        no survival shift.
        """
        params = np.atleast_2d(np.asarray(params))
        if goal is None:
            goal = np.asarray(self.task.default_goal, dtype=np.float64)
        self.validate_goal(goal)
        k = params.shape[0]
        chunk = self._local.run(
            params,
            np.repeat(np.arange(k), episodes),
            np.tile(np.asarray(episode_seeds(seed, 0, episodes)), k),
            goal,
            normalizer,
        )
        return chunk.returns.reshape(k, episodes)

    def trace(
        self,
        params: np.ndarray,
        goal: np.ndarray,
        seeds: np.ndarray,
        normalizer: dict[str, np.ndarray] | None,
        trace: dict[str, Any],
    ) -> np.ndarray:
        """Returns of one genome (D,) on ``seeds``, its steps recorded in ``trace``
        (``envs.batch_rollout.rollout_batch``'s trace: observations, actions, reward terms)."""
        seeds = np.asarray(seeds)
        policy = self._local.policy(
            np.asarray(params)[None, :], np.zeros(len(seeds), dtype=np.int64), normalizer
        )
        returns, _, _ = rollout(
            self.task, self.model, goal, seeds, self._local.act_fn(policy), trace=trace
        )
        return returns

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_backend(self) -> Backend:
        if self._backend is None:
            if self.config.backend == "ray":
                address = self.config.ray_address or None
                self._backend = RayBackend(Rollouts, (self.config,), self.config.workers, address)
            elif self.config.workers == 1:
                self._backend = LocalBackend(self._local)
            else:
                self._backend = ProcessBackend(Rollouts, (self.config,), self.config.workers)
        return self._backend
