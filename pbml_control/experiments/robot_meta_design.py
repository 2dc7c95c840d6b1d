"""The robot meta-learning experiment's design, fixed before any of its runs: sizes, arms,
configs, endpoints and decision rules (scripts/experiment_robot_meta.py runs it).

The question is whether learned mutation parameters matter on a robot: does PBML reach the
best average fitness under shifting goals (C3), do its genomes adapt faster to unseen goals and
dynamics than controls (C4), and does a lineage's sigma carry information (against a null that
shuffles sigma among members every generation)? :func:`design_text` writes all of this into
the report before any result, so the rules cannot drift after seeing the numbers.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from pbml_control.config import RunConfig
from pbml_control.stats import t975

__all__ = [
    "CONTROLS_C3",
    "CONTROLS_C4",
    "QUICK",
    "Design",
    "arms",
    "design_text",
    "detectable_effect",
    "make_config",
    "pilot_arms",
]


@dataclass(frozen=True)
class Design:
    """Every size of the experiment; the pilot fixes only the best fixed sigma."""

    task: str = "HalfCheetahVel"
    population_size: int = 128
    generations: int = 400
    period: int = 20  # generations between goal shifts
    max_episode_steps: int = 200
    hidden: tuple[int, ...] = (32, 32)  # three modules: layer0, layer1, head
    death_rate: float = 0.8
    tau: float = 0.3
    init_probability: float = 0.8  # per-module mutation probability on: a module can stop
    # 0.003125 and 0.00625 added after the pilot's first five values ranked 0.0125 best (the
    # grid's edge), before any main run: see AMENDMENTS
    sigma_grid: tuple[float, ...] = (0.003125, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.2)
    pilot_seeds: tuple[int, ...] = (100, 101)  # apart from the main seeds
    pilot_pbml_sigma: float = 0.05
    start_factor: float = 4.0  # sigma0 low/high = best fixed sigma / and x this
    seeds: tuple[int, ...] = tuple(range(10))
    transfer_generations: int = 30
    transfer_targets: tuple[tuple[str, str], ...] = (
        ("HalfCheetahVel", "heldout"),
        ("HalfCheetahVel-Heavy", "train"),
    )
    workers: int = 1  # per run; runs go in parallel


QUICK = Design(
    population_size=8,
    generations=8,
    period=4,
    max_episode_steps=20,
    hidden=(8,),
    sigma_grid=(0.025, 0.1),
    pilot_seeds=(100,),
    seeds=(0, 1),
    transfer_generations=3,
)

# C3 compares PBML with the arms that face the same shifting goals (coupled is a positive
# control of self-adaptation, not a competitor; static never sees a shift, so its fitness is on
# an easier task); C4 with every transfer arm but the sigma swaps.
CONTROLS_C3 = ("fixed", "fixed_best", "truncation", "shuffle")
CONTROLS_C4 = ("static", "fixed", "fixed_best", "truncation", "shuffle", "fresh")


def _arm_overrides(kind: str) -> dict[str, Any]:
    return {
        "pbml": {},
        "coupled": {"mutation": {"order": "coupled"}},
        "static": {"schedule": {"kind": "static"}},
        "fixed": {"selection": {"scheme": "fixed_mutation"}},
        "truncation": {"selection": {"scheme": "truncation"}},
        "shuffle": {"operators": {"shuffle_mutation": True}},
    }[kind]


def pilot_arms(design: Design) -> dict[str, tuple[str, float]]:
    """Pilot: fixed sigma on the grid, and PBML at one start: ``{label: (kind, sigma0)}``."""
    out = {f"fixed@{s:g}": ("fixed", s) for s in design.sigma_grid}
    out[f"pbml@{design.pilot_pbml_sigma:g}"] = ("pbml", design.pilot_pbml_sigma)
    return out


def arms(design: Design, best_sigma: float) -> dict[str, tuple[str, float]]:
    """Main arms ``{label: (kind, sigma0)}``: six kinds at each start, and fixed at the best."""
    low, high = best_sigma / design.start_factor, best_sigma * design.start_factor
    out = {
        f"{kind}_{start}": (kind, sigma)
        for start, sigma in (("low", low), ("high", high))
        for kind in ("pbml", "coupled", "static", "fixed", "truncation", "shuffle")
    }
    out["fixed_best"] = ("fixed", best_sigma)
    return out


def make_config(design: Design, kind: str, sigma0: float, seed: int) -> RunConfig:
    """One run: the shared recipe with the arm's change and start sigma."""
    data: dict[str, Any] = {
        "seed": seed,
        "generations": design.generations,
        "population_size": design.population_size,
        "checkpoint_every": design.period,
        "keep_checkpoints": 2,
        "problem": {
            "name": "mujoco",
            "task": design.task,
            "hidden": list(design.hidden),
            "episodes": 1,
            "max_episode_steps": design.max_episode_steps,
            "workers": design.workers,
            "policy_dtype": "float32",
        },
        "selection": {"scheme": "pbml", "death_rate": design.death_rate,
                      "survivor_fitness": "keep"},
        "mutation": {"init_sigma": sigma0, "tau": design.tau, "order": "decoupled",
                     "use_probability": True, "init_probability": design.init_probability},
        "schedule": {"kind": "random", "period": design.period},
    }  # fmt: skip
    for section, values in _arm_overrides(kind).items():
        data[section] = {**data.get(section, {}), **values}
    return RunConfig.from_dict(data)


def _t_quantile(z: float, df: int) -> float:
    """Student-t quantile at the normal quantile ``z`` (Cornish-Fisher, two terms: within
    0.01 of the exact value for df >= 5)."""
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def detectable_effect(n: int) -> float:
    """Smallest paired effect, in SDs of the per-seed differences, that a two-sided t-test at
    0.05 detects with power 0.8 over ``n`` seeds: (t_0.975 + t_0.80) / sqrt(n)."""
    return (t975(n - 1) + _t_quantile(0.841621, n - 1)) / math.sqrt(n)


#: Changes to the design after it was committed, each made before the runs it affects.
AMENDMENTS = (
    "2026-11-26, after the pilot, before any main run: the pilot's five grid values "
    "(0.0125 .. 0.2) ranked the smallest best (normalised mean fitness 0.275 and 0.373 on its "
    "two seeds, falling steadily to -0.36 and -0.26 at 0.2), so s* could lie below the grid. "
    "The grid was extended downward by 0.00625 and 0.003125; the rule for s* is unchanged.",
)


def design_text(design: Design) -> str:
    """The pre-registered design, as it opens the report."""
    d = dataclasses.asdict(design)
    low, high = f"s*/{design.start_factor:g}", f"{design.start_factor:g} x s*"
    steps = design.population_size * design.max_episode_steps * design.generations
    targets = "; ".join(f"{t} ({g} goals)" for t, g in design.transfer_targets)
    return f"""## Design (fixed before the runs; `pbml_control/experiments/robot_meta_design.py`)

- **Task**: {d["task"]}, goal (target velocity) drawn from the training region
  ([-2, -0.5] or [0.5, 2] m/s) every {d["period"]} generations; population
  {d["population_size"]}, {d["generations"]} generations, one {d["max_episode_steps"]}-step
  episode per member per generation ({steps / 1e6:.1f}M env steps a run), MLP
  {list(design.hidden)} (modules layer0, layer1, head), death rate {d["death_rate"]},
  survivors keep their fitness until the goal moves, float32 forward pass.
- **Mutation**: tau {d["tau"]}, per-module mutation probability on (starting at
  {d["init_probability"]}), so a module can stop mutating.
- **Pilot**: fixed sigma on the grid {list(design.sigma_grid)} and PBML at sigma0
  {d["pilot_pbml_sigma"]}, seeds {list(design.pilot_seeds)} (not main seeds). s* = the grid
  value with the highest normalised population-mean fitness averaged over all generations
  and pilot seeds.
- **Starts**: sigma0 low = {low}, high = {high} (each {design.start_factor:g}x from s*).
- **Arms** at each start, paired by seed (seeds {list(design.seeds)}): `pbml` (decoupled),
  `coupled` (positive control for self-adaptation), `static` (one goal for the whole run),
  `fixed` (sigma frozen at sigma0), `truncation` (top 20% breed), `shuffle` (sigma and p rows
  permuted among members every generation: distribution kept, inheritance broken); and
  `fixed_best` (sigma frozen at s*), once.
- **Transfer** of each run's final population, {d["transfer_generations"]} generations, to
  {targets}. Main readout: sigma frozen (`mutation.frozen = true`); also sigma evolving for
  pbml, static, fixed_best and fresh. Arms: the low-start runs of every kind, `fixed_best`,
  `fresh` founders, and the sigma swaps `pbml_reset` (PBML weights, founders' sigma) and
  `static_pbml_sigma` (static weights with PBML's sigma).
- **Endpoints** (per run; over seeds the mean and 95% t-interval of the paired differences):
  1. *Sigma carries information*: final log sigma per module (mean over members and over the
     last {d["period"]} generations), and its distance from log s*, PBML against `shuffle` of
     the same start. **Supported** if PBML ends closer to log s* than `shuffle` at both starts
     (mean over modules; interval of the difference below 0); **contradicted** if farther at
     either start (interval above 0); else **not shown**.
  2. *The two starts converge*: the gap high minus low start of the final mean log sigma
     (over modules), against the starting gap log {design.start_factor**2:g} = {
        math.log(design.start_factor**2):.2f}. Converged if the gap's upper bound is below half
     the starting gap.
  3. *C3*: normalised population-mean fitness averaged over all generations (0 = standing
     still, 1 = perfect tracking), and the normalised best. **Supported** if PBML beats every
     control ({", ".join(CONTROLS_C3)}) at both starts (interval above 0); **contradicted** if
     a control beats PBML at either start (interval below 0); else **not shown**.
  4. *C4*: transfer with sigma frozen: the area under the population-mean fitness curve
     (its mean over the {d["transfer_generations"] + 1} evaluations) and the generations to the
     threshold F0 + 0.5 (Fmax - F0) with censoring (Kaplan-Meier median, censored sign test).
     **Supported** if PBML's area beats every control ({", ".join(CONTROLS_C4)}) on both
     targets; **contradicted** if a control's beats PBML's on either; else **not shown**.
- **Amendments**: {" ".join(AMENDMENTS) if design == Design() else "none"}
- **Power**: with {len(design.seeds)} paired seeds a two-sided test at 0.05 has 80% power for
  an effect of about {detectable_effect(len(design.seeds)):.2f} standard deviations of the
  per-seed differences; smaller effects may go undetected ("not shown" is not "no effect").
"""
