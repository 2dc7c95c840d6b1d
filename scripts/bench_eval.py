"""Benchmark: env-steps per second with the policy in the loop, against the simulator limit.

The limit is one ``MjData`` stepped with ``mujoco.mj_step(model, data, nstep=frame_skip)`` in a
Python loop on one core: no wrapper, no policy. The evaluator runs a whole population with
its batched forward pass on W local worker processes; the fair ceiling for W workers is W such
loops running at once. All are measured in the same run, on the same model, and the script
prints the ratios (timings on a shared machine are noisy: compare ratios, not absolute numbers
from different runs). Rows with more workers than cores are marked "over": the workers then
share cores, so they measure oversubscription, not scaling.

The W-loop ceiling adds up rates that each loop measures on its own clock, so a slow core does
not hold the other loops back; a generation of the evaluator lasts as long as its slowest
worker. Each row therefore also prints, for its best generation, the balance (the mean
worker's busy time, its chunks timed inside the worker, over the generation's wall time: 1.0
when no worker waited) and the workers' CPU seconds over their busy seconds (below 1.0 they
waited for a core: other programs, more workers than cores, a hypervisor).
``--chunks-per-worker K`` cuts the simulations into W x K chunks that free workers take in turn
(``problem.chunks_per_worker``), so a worker that finishes early takes over work instead of
waiting.

    python scripts/bench_eval.py                 # HalfCheetah and Ant, 1 and 2 workers
    python scripts/bench_eval.py --workers 1 2 4 8 16 --population 512   # a many-core machine
    python scripts/bench_eval.py --json out.json # also write the numbers
    python scripts/bench_eval.py --policy-dtype float32   # the float32 forward pass
    python scripts/bench_eval.py --backends local ray --workers 2   # Ray's overhead
    python scripts/bench_eval.py --cost-model    # per-step cost vs simulations per worker
    python scripts/bench_eval.py --workers 16 --population 1024 4096 --chunks-per-worker 1 4

``--cost-model`` measures, in this process and in CPU seconds (so other programs on the machine
do not inflate it), the time of one env step of S simulations with the batched policy, fits it
as ``a + b * S``, and compares ``b`` with one bare ``mj_step`` (the limit): a worker stepping S
simulations reaches ``limit_cost / (a / S + b)`` of the limit. It also times a worker whose
``mujoco.batch.Batch`` steps with 2 threads against the same worker with 1.

Target: policy-in-the-loop >= 0.8 x the limit per core, at 1 and 2 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from dataclasses import asdict, dataclass, replace

import mujoco
import numpy as np

from pbml_control.envs import goal_space, make_task_spec
from pbml_control.envs.batch_rollout import rollout_batch
from pbml_control.evaluator import Rollouts
from pbml_control.experiments.runs import process_map
from pbml_control.mujoco_problem import MujocoProblem, MujocoProblemConfig


@dataclass(frozen=True)
class Args:
    tasks: tuple[str, ...] = ("HalfCheetahVel", "AntHeading")
    workers: tuple[int, ...] = (1, 2)
    backends: tuple[str, ...] = ("local",)  # "ray" adds Ray actors on a private local Ray
    population: tuple[int, ...] = (64,)  # members evaluated per generation
    chunks_per_worker: tuple[int, ...] = (1,)  # problem.chunks_per_worker
    steps: int = 1000  # episode length
    hidden: tuple[int, ...] = (64, 64)
    policy_dtype: str = "float64"  # the batched forward pass; "float32" halves its traffic
    repeats: int = 3  # generations timed per setting (the best is kept)
    limit_seconds: float = 3.0  # how long to step the raw simulator
    json: str = ""
    cost_model: bool = False  # per-step cost against simulations per worker, then exit


def simulator_limit(task: str, seconds: float, clock=time.perf_counter) -> float:
    """Env-steps per second of a bare mj_step loop with the task's frame skip (``clock``:
    wall time by default; ``time.process_time`` gives the rate per CPU second)."""
    spec = make_task_spec(task)
    model = spec.build_model()
    data = mujoco.MjData(model)
    qpos, qvel = spec.reset_state(model, np.random.default_rng(0))
    data.qpos[:], data.qvel[:] = qpos, qvel
    mujoco.mj_forward(model, data)
    steps, start = 0, clock()
    while clock() - start < seconds:
        for _ in range(100):
            mujoco.mj_step(model, data, nstep=spec.frame_skip)
        steps += 100
        if not np.isfinite(data.qpos).all() or steps % 1000 == 0:
            mujoco.mj_resetData(model, data)
            data.qpos[:], data.qvel[:] = qpos, qvel
    return steps / (clock() - start)


def parallel_limit(task: str, seconds: float, processes: int) -> float:
    """Total env-steps per second of ``processes`` bare mj_step loops running at once.

    On machines whose cores share caches, memory bandwidth or a physical core (SMT), two
    loops together reach less than twice one loop; this is the fair ceiling for W workers.
    """
    rates = process_map(_simulator_limit, [(task, seconds)] * processes, processes)
    return float(sum(rates))


def _simulator_limit(job: tuple[str, float]) -> float:
    return simulator_limit(*job)


@dataclass(frozen=True)
class Throughput:
    """One setting's best generation, and how its chunks spread over the workers."""

    steps_per_s: float  # env steps per second of the best timed generation
    mean_episode_length: int
    balance: float  # the best generation's mean worker busy time / its wall time
    balances: tuple[float, ...]  # the same, for every timed generation
    worker_busy_seconds: tuple[float, ...]  # the best generation's, busiest first
    cpu_share: float | None  # the best generation's CPU seconds over busy seconds


def evaluator_throughput(
    task: str,
    workers: int,
    population: int,
    args: Args,
    backend: str = "local",
    chunks_per_worker: int = 1,
) -> Throughput:
    """The best of a few generations after a warm-up one (which starts the workers)."""
    problem = MujocoProblem(
        MujocoProblemConfig(
            task=task,
            hidden=args.hidden,
            max_episode_steps=args.steps,
            workers=workers,
            chunks_per_worker=chunks_per_worker,
            backend=backend,
            policy_dtype=args.policy_dtype,
        )
    )
    try:
        rng = np.random.default_rng(0)
        params = np.stack([problem.initial_params(rng) for _ in range(population)])
        goal = problem.sample_goal(rng)
        problem.evaluate(params, goal, seed=0, generation=0)  # warm-up: starts the pool
        best: Throughput | None = None
        balances = []
        for g in range(1, args.repeats + 1):
            start = time.perf_counter()
            result = problem.evaluate(params, goal, seed=0, generation=g)
            elapsed = time.perf_counter() - start
            timing = problem.last_timing
            assert timing is not None
            balances.append(timing.balance)
            steps = int(result.info["env_steps"])
            if best is None or steps / elapsed > best.steps_per_s:
                busy = sorted(timing.busy_seconds().values(), reverse=True)
                best = Throughput(
                    steps / elapsed,
                    steps // population,
                    timing.balance,
                    (),
                    tuple(busy),
                    timing.cpu_share,
                )
        assert best is not None
        return replace(best, balances=tuple(balances))
    finally:
        problem.close()


def step_seconds(
    task: str, sims: int, steps: int, hidden: tuple[int, ...], nthread: int = 1
) -> tuple[float, float]:
    """CPU and wall seconds of one env step of ``sims`` simulations, batched policy included."""
    rollouts = Rollouts(
        MujocoProblemConfig(task=task, hidden=hidden, max_episode_steps=steps, workers=1)
    )
    rng = np.random.default_rng(0)
    params = np.stack([rollouts.policy_spec.init_params(rng) for _ in range(sims)])
    policy = rollouts.policy(params, np.arange(sims), None)
    goal = np.asarray(goal_space(task).sample(rng, "train"), dtype=np.float64)
    seeds = np.arange(sims)
    run = lambda: rollout_batch(  # noqa: E731
        rollouts.task, rollouts.model, goal, seeds, policy.act, max_steps=steps, nthread=nthread
    )
    run()  # warm-up
    cpu, wall = time.process_time(), time.perf_counter()
    lengths = run()[1]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    batch_steps = float(lengths.max())
    return cpu / batch_steps, wall / batch_steps


def cost_model(args: Args) -> None:
    """Print the per-step cost of one worker against its number of simulations S."""
    steps, sizes = min(args.steps, 200), (4, 8, 16, 32, 64, 128, 256)
    for task in args.tasks:
        limit = simulator_limit(task, args.limit_seconds, clock=time.process_time)
        print(f"\n{task}: hidden {args.hidden}, episodes of {steps} steps, CPU seconds")
        print(f"{'sims S':>7} {'us/step':>9} {'us/sim-step':>12} {'/ limit':>8}")
        costs = []
        for s in sizes:
            cpu = step_seconds(task, s, steps, args.hidden)[0]
            costs.append(cpu)
            print(f"{s:7d} {cpu * 1e6:9.1f} {cpu / s * 1e6:12.2f} {1 / limit / (cpu / s):8.2f}")
        b, a = np.polyfit(sizes, costs, 1)
        bare = 1 / limit
        reach = ", ".join(f"S = {n}: {bare / (a / n + b):.2f}" for n in (16, 64, 256))
        print(
            f"fit: a = {a * 1e6:.0f} us per env step (Python, once per step) + b = "
            f"{b * 1e6:.2f} us per simulation; a bare mj_step takes {bare * 1e6:.2f} us, so S "
            f"simulations reach mj_step / (a / S + b) of the limit ({reach})"
        )
        s = 64
        one = step_seconds(task, s, steps, args.hidden, nthread=1)
        two = step_seconds(task, s, steps, args.hidden, nthread=2)
        print(
            f"mujoco.batch threads, {s} simulations in one process: nthread=2 takes "
            f"{two[1] / one[1]:.2f} of nthread=1's wall time per step ({two[0] / one[0]:.2f} "
            "of its CPU time)"
        )


def _measure(
    task: str,
    limit: float,
    ceiling: float,
    workers: int,
    population: int,
    chunks: int,
    args: Args,
) -> list[dict]:
    """One row per backend for one setting, printed as it is measured."""
    rows = []
    local_rate = None
    over = workers > (os.cpu_count() or 1)
    for backend in args.backends:
        measured = evaluator_throughput(task, workers, population, args, backend, chunks)
        rate, length = measured.steps_per_s, measured.mean_episode_length
        ratio = rate / limit / workers
        local_rate = rate if backend == "local" else local_rate
        slowdown = local_rate / rate if local_rate and backend != "local" else None
        rows.append(
            {
                "task": task,
                "workers": workers,
                "backend": backend,
                "limit_steps_per_s": limit,
                "steps_per_s": rate,
                "ratio_per_core": ratio,
                "parallel_limit_steps_per_s": ceiling,
                "ratio_to_parallel_limit": rate / ceiling,
                "time_vs_local": slowdown,
                "mean_episode_length": length,
                "oversubscribed": over,
                "population": population,
                "chunks_per_worker": chunks,
                "balance": measured.balance,
                "balances": list(measured.balances),
                "worker_busy_seconds": list(measured.worker_busy_seconds),
                "cpu_share": measured.cpu_share,
            }
        )
        extra = f"  time vs local {slowdown:.2f}" if slowdown else ""
        extra += "  over" if over else ""
        print(
            f"{task:16} {limit:11.0f} {workers:7d} {backend:>7} {rate:15.0f} "
            f"{ratio:10.2f} {rate / ceiling:10.2f} {length:6d} {population:6d} {chunks:3d} "
            f"{measured.balance:7.2f} {measured.cpu_share or 0:9.2f}{extra}",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(Args.tasks))
    parser.add_argument("--workers", nargs="+", type=int, default=list(Args.workers))
    parser.add_argument("--population", nargs="+", type=int, default=list(Args.population))
    parser.add_argument(
        "--chunks-per-worker", nargs="+", type=int, default=list(Args.chunks_per_worker)
    )
    parser.add_argument("--steps", type=int, default=Args.steps)
    parser.add_argument("--repeats", type=int, default=Args.repeats)
    parser.add_argument("--backends", nargs="+", default=list(Args.backends))
    parser.add_argument("--hidden", nargs="*", type=int, default=list(Args.hidden))
    parser.add_argument("--policy-dtype", choices=("float64", "float32"), default=Args.policy_dtype)
    parser.add_argument("--limit-seconds", type=float, default=Args.limit_seconds)
    parser.add_argument("--json", default="")
    parser.add_argument("--cost-model", action="store_true", help="per-step cost model only")
    ns = parser.parse_args()
    if min(ns.workers + ns.population + ns.chunks_per_worker + [ns.steps, ns.repeats]) < 1:
        parser.error(
            "--workers, --population, --chunks-per-worker, --steps and --repeats must be >= 1"
        )
    if ns.limit_seconds <= 0:
        parser.error("--limit-seconds must be > 0")
    args = Args(
        tasks=tuple(ns.tasks),
        workers=tuple(ns.workers),
        population=tuple(ns.population),
        chunks_per_worker=tuple(ns.chunks_per_worker),
        steps=ns.steps,
        repeats=ns.repeats,
        backends=tuple(ns.backends),
        hidden=tuple(ns.hidden),
        policy_dtype=ns.policy_dtype,
        limit_seconds=ns.limit_seconds,
        json=ns.json,
        cost_model=ns.cost_model,
    )
    if args.cost_model:
        cost_model(args)
        return
    cores = os.cpu_count() or 1
    rows = []
    populations = " ".join(str(n) for n in args.population)
    print(
        f"population {populations}, hidden {args.hidden}, {args.policy_dtype} policy, "
        f"episodes of {args.steps} steps"
    )
    print(
        f"{'task':16} {'limit/core':>11} {'workers':>7} {'backend':>7} {'policy-in-loop':>15} "
        f"{'ratio/core':>10} {'vs W loops':>10} {'ep.len':>6} {'pop':>6} {'K':>3} "
        f"{'balance':>7} {'cpu/busy':>9}"
    )
    if max(args.workers) > cores:
        print(f"this machine has {cores} cores: rows marked 'over' run more workers than cores")
    for task in args.tasks:
        limit = simulator_limit(task, args.limit_seconds)
        for workers in args.workers:
            ceiling = (
                limit * workers
                if workers == 1
                else parallel_limit(task, args.limit_seconds, workers)
            )
            for population in args.population:
                for chunks in args.chunks_per_worker:
                    rows += _measure(task, limit, ceiling, workers, population, chunks, args)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {rss_mib:.0f} MiB")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"args": asdict(args), "rows": rows, "peak_rss_mib": rss_mib}, handle, indent=1
            )


if __name__ == "__main__":
    main()
