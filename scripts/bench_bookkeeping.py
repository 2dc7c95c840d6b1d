"""Benchmark: the share of a generation that is bookkeeping rather than evaluation.

One generation of the run loop is ask, evaluate, tell (selection, then offspring creation with
mutation), the metrics row, and now and then a checkpoint. This script runs a few generations
of a real run config through ``loop.step`` with every phase timed, writes the metrics row and
a checkpoint as the runner does, and prints each phase's seconds and share.

Every phase is timed in CPU seconds of this process (``time.process_time``), with the rollouts
in this process too (one worker), so other programs on the machine do not inflate any phase;
checkpoint writing, which waits on the disk, is timed in wall seconds. Bookkeeping runs on one
core whatever the number of workers, while evaluation spreads over them: the shares are also
given for ``--cores`` with the evaluation's CPU time divided evenly (perfect scaling, the
worst case for bookkeeping's share).

Evaluation time grows with the episode length and bookkeeping does not, so short episodes keep
the benchmark short. The evaluation is also timed at a second length and fitted as
``a + b * steps``; the shares at full-length episodes (``--full-steps``) come from that fit.

    python scripts/bench_bookkeeping.py                      # HalfCheetah, population 4096
    python scripts/bench_bookkeeping.py --population 256 --steps 10 --fit-steps 20

``--from-timing RUN/timing.jsonl`` measures instead of projecting, on a real run with its real
workers: each generation's wall time is the gap between its end and the previous one's, of
which ``eval_seconds`` was evaluation; the rest (selection, offspring, metrics, checkpoint) is
bookkeeping. That is the number to take on a many-core machine, where bookkeeping's share is
largest.

    pbml train configs/default.toml --out /tmp/bk --set population_size=4096 \
        --set generations=6 --set max_env_steps=0 --set "problem.hidden=[64,64]" \
        --set problem.workers=16 --set checkpoint_every=3
    python scripts/bench_bookkeeping.py --from-timing /tmp/bk/timing.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control import loop, strategy
from pbml_control.checkpoint import Checkpoint, save_checkpoint
from pbml_control.config import load_config
from pbml_control.loop import initial_state, step
from pbml_control.metrics_log import dumps_row, read_jsonl
from pbml_control.registry import make_problem
from pbml_control.schedules import GoalSchedule

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("ask", "evaluate", "selection", "offspring", "rest of tell", "metrics", "checkpoint")


def timed(name: str, fn: Callable[..., Any], spent: dict[str, float]) -> Callable[..., Any]:
    """``fn`` with its CPU seconds (this process, all threads) added to ``spent[name]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - start

    return wrapper


def overrides(ns: argparse.Namespace, steps: int) -> list[str]:
    hidden = "[" + ",".join(str(h) for h in ns.hidden) + "]"
    return [
        f"population_size={ns.population}",
        f"generations={ns.generations + 1}",
        "max_env_steps=0",
        f"problem.max_episode_steps={steps}",
        f"problem.hidden={hidden}",
        "problem.workers=1",
        *ns.set,
    ]


def profile(ns: argparse.Namespace, folder: Path) -> list[dict[str, float]]:
    """Per-phase seconds of each generation after the first (which warms everything up)."""
    config = load_config(ns.config, overrides(ns, ns.steps))
    problem = make_problem(config.problem)
    spent: dict[str, float] = defaultdict(float)
    originals = (strategy.ask, strategy.select, strategy._offspring, strategy.tell)
    originals += (loop.generation_metrics, problem.evaluate)
    strategy.ask = timed("ask", strategy.ask, spent)
    strategy.select = timed("selection", strategy.select, spent)
    strategy._offspring = timed("offspring", strategy._offspring, spent)
    strategy.tell = timed("tell", strategy.tell, spent)
    loop.generation_metrics = timed("metrics", loop.generation_metrics, spent)
    problem.evaluate = timed("evaluate", problem.evaluate, spent)
    rows = []
    try:
        state = initial_state(config, problem)
        schedule = GoalSchedule(config.schedule, problem.sample_goal, config.seed)
        with (folder / "metrics.jsonl").open("w", encoding="utf-8") as metrics_file:
            for g in range(ns.generations + 1):
                spent.clear()
                state, row, _ = step(state, config, problem, schedule)
                start = time.process_time()
                metrics_file.write(dumps_row(row) + "\n")
                metrics_file.flush()
                spent["metrics"] += time.process_time() - start
                ckpt = Checkpoint(
                    state.generation,
                    state.next_id,
                    state.population,
                    problem.state_dict(),
                    config.to_dict(),
                    {"git_commit": "benchmark", "seed": config.seed},
                )
                start = time.perf_counter()  # wall: it waits on the disk
                save_checkpoint(folder, ckpt, keep=1)
                spent["checkpoint"] = time.perf_counter() - start
                spent["rest of tell"] = spent["tell"] - spent["selection"] - spent["offspring"]
                spent["evaluated"] = float(row.get("evaluated", ns.population))
                if g > 0:
                    rows.append({k: spent[k] for k in (*PHASES, "evaluated")})
    finally:
        strategy.ask, strategy.select, strategy._offspring, strategy.tell = originals[:4]
        loop.generation_metrics = originals[4]
        problem.close()
    return rows


def evaluation_seconds(ns: argparse.Namespace, steps: int, members: int) -> float:
    """CPU seconds of one evaluation of ``members`` founders with episodes of ``steps``."""
    config = load_config(ns.config, overrides(ns, steps))
    problem = make_problem(config.problem)
    try:
        rng = np.random.default_rng(0)
        params = np.stack([problem.initial_params(rng) for _ in range(members)])
        goal = problem.sample_goal(rng)
        problem.evaluate(params[:2], goal, 0, 0)  # warm-up
        start = time.process_time()
        problem.evaluate(params, goal, 0, 1)
        return time.process_time() - start
    finally:
        problem.close()


def report(
    mean: dict[str, float], evaluate: float, checkpoint_every: int, cores: list[int], label: str
) -> None:
    """Each phase's seconds and share of a generation on each core count, then bookkeeping's
    share with checkpoints amortised over ``checkpoint_every`` generations and without."""
    phases = {**mean, "evaluate": evaluate}
    print(f"\n{label}")
    print(f"{'phase':14} {'seconds':>9}" + "".join(f" {f'{c} cores':>9}" for c in cores))

    def per_generation(c: int, amortise: int) -> dict[str, float]:
        return {
            **phases,
            "evaluate": phases["evaluate"] / c,
            "checkpoint": phases["checkpoint"] / amortise,
        }

    shares = {c: per_generation(c, checkpoint_every) for c in cores}
    totals = {c: sum(shares[c][p] for p in PHASES) for c in cores}
    for p in PHASES:
        cells = "".join(f" {shares[c][p] / totals[c]:9.1%}" for c in cores)
        print(f"{p:14} {phases[p]:9.3f}{cells}")
    for amortise, what in ((checkpoint_every, f"checkpoint every {checkpoint_every}"), (1, "one")):
        cells = ""
        for c in cores:
            gen = per_generation(c, amortise)
            cells += f" {1 - gen['evaluate'] / sum(gen[p] for p in PHASES):9.1%}"
        print(f"{'bookkeeping':14} {what:>9}{cells}")


def measured_shares(timing: Path) -> None:
    """Print bookkeeping's wall-time share of each generation of a finished run (the first
    generation, which starts the workers, has no previous end to measure from)."""
    rows = [row for _, row in read_jsonl(timing) if row is not None]
    print(f"{timing}: wall seconds per generation, from consecutive generations' end times")
    print(f"{'generation':>10} {'wall':>8} {'evaluate':>9} {'bookkeeping':>12} {'share':>7}")
    for before, row in itertools.pairwise(rows):
        wall = row["unix_time"] - before["unix_time"]
        rest = wall - row["eval_seconds"]
        print(
            f"{row['generation']:10d} {wall:8.2f} {row['eval_seconds']:9.2f} {rest:12.3f} "
            f"{rest / wall:7.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "default.toml"))
    parser.add_argument("--population", type=int, default=4096)
    parser.add_argument("--hidden", type=int, nargs="*", default=[64, 64])
    parser.add_argument("--cores", type=int, nargs="+", default=[1, 2, 16])
    parser.add_argument("--steps", type=int, default=25, help="episode length profiled")
    parser.add_argument("--fit-steps", type=int, default=100, help="second length for the fit")
    parser.add_argument("--full-steps", type=int, default=1000, help="length the shares scale to")
    parser.add_argument("--generations", type=int, default=2, help="timed generations")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--from-timing", type=Path, help="a run's timing.jsonl: measured shares")
    ns = parser.parse_args()
    if ns.from_timing is not None:
        measured_shares(ns.from_timing)
        return
    if ns.population < 2 or ns.steps < 1 or ns.fit_steps <= ns.steps or ns.generations < 1:
        parser.error("need --population >= 2, --generations >= 1, 1 <= --steps < --fit-steps")
    checkpoint_every = load_config(ns.config, overrides(ns, ns.steps)).checkpoint_every
    with tempfile.TemporaryDirectory(prefix="bench_bookkeeping_") as tmp:
        rows = profile(ns, Path(tmp))
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    members = round(mean["evaluated"])
    print(
        f"{ns.config}: population {ns.population}, hidden {ns.hidden}, CPU seconds, "
        f"{members} members evaluated per generation (mean of {len(rows)} generations)"
    )
    report(mean, mean["evaluate"], checkpoint_every, ns.cores, f"episodes of {ns.steps} steps")
    short = evaluation_seconds(ns, ns.steps, members)
    long = evaluation_seconds(ns, ns.fit_steps, members)
    per_step = (long - short) / (ns.fit_steps - ns.steps)
    fixed = short - per_step * ns.steps
    full = fixed + per_step * ns.full_steps
    print(
        f"\nevaluation of {members} members: {short:.2f} s at {ns.steps} steps, {long:.2f} s at "
        f"{ns.fit_steps} -> {fixed:.2f} s + {per_step * 1000:.2f} ms/step; "
        f"{full:.1f} s at {ns.full_steps} steps"
    )
    report(mean, full, checkpoint_every, ns.cores, f"episodes of {ns.full_steps} steps (fit)")


if __name__ == "__main__":
    main()
