"""Transfer: move evolved populations to a new target and measure how fast they adapt.

The paper (Frans & Witkowski, 2021) asks whether genomes evolved on shifting goals adapt
faster to something new than genomes evolved by a baseline or fresh random genomes. This module
runs that comparison through the registry and the problem protocol only (no MuJoCo or torch
import here), so it works for the toy worlds (``square`` -> ``hard_square``) and for every
MuJoCo task alike.

Definitions (ours; the paper gives none):

- **Arm**: where the starting genomes come from. A source run's arm is labelled by its config
  (:func:`arm_label`: the selection scheme, ``static`` for PBML with a static schedule,
  ``<scheme>-static`` for another scheme with one), or explicitly with ``LABEL=PATH``. The
  ``fresh`` arm starts from freshly initialised genomes (:func:`~pbml_control.loop.initial_state`)
  with a fresh problem state.
- **Transfer start state**: the source run's latest checkpoint, whole: every member's parameters
  *and* mutation parameters, its ids and ``next_id``; birth generations are shifted so that
  ages are kept and generation 0 is the transfer. The source problem state (the observation
  normaliser of a MuJoCo run) is loaded into the target problem. ``PATH::mutation=reset`` or
  ``PATH::mutation=OTHER`` swaps the mutation parameters (the founders' values, or another
  run's rows), so the learned policy and the learned mutation function transfer apart.
- **Target**: a registry problem name (``hard_square``), or for a MuJoCo source a task or
  variant name (``HalfCheetahVel``, ``HalfCheetahVel-Heavy``, another task with the same
  observation and action sizes). The genome layout must match, else :class:`ConfigError`.
- **Adaptation** (identical for every arm): the first source run's config with
  ``selection.scheme = "pbml"`` (its death rate and parent pressure kept), the first source's
  mutation settings, and a ``static`` schedule whose goal is drawn per seed from the ``goals``
  split (``heldout`` = goals never seen in training). Overrides (``--set``) change any of it;
  ``schedule.kind=random`` becomes a cyclic schedule with one drawn goal per epoch. Goals come
  from a stream of their own (``transfer-goal``), never from the source runs' goal stream.
  Every arm sees the same seeds, goals, episode seeds and number of generations ``N``; the
  population is evaluated ``N + 1`` times: generation 0 is the **zero-shot** fitness (before any
  evolution), generation ``N`` the final one.
- **Seeds**: transfer seed ``s`` keys the adaptation's random streams. An arm with one source run
  uses it for every seed; an arm with as many runs as seeds pairs them in order of source seed.
- **Threshold** on the population *mean* fitness, per seed: an absolute value if given, else
  ``T_s = F0_s + fraction * (Fmax_s - F0_s)`` with ``F0_s`` the fresh arm's zero-shot mean
  fitness on seed ``s`` (the lowest zero-shot mean of any arm when there is no fresh arm) and
  ``Fmax_s`` the highest mean fitness any arm reached on seed ``s``; ``fraction = 0.5``. When
  no arm rises above ``F0_s`` the seed has no threshold and no arm reaches it.
  **Generations to threshold** = the first generation whose mean fitness is >= T_s; an arm that
  never reaches it within ``N`` is *censored*: its per-seed value ``N + 1`` only says "later
  than N". Over seeds we therefore report no mean but the Kaplan-Meier median and the share of
  seeds that reached it (Wilson interval), and compare arms seed by seed with a sign test on
  the pairs whose order is known (:func:`pbml_control.stats.paired_censored_test`).
- Per arm and seed we also report fitness at generation ``k`` (mean and best), final mean and
  best, and the area under the mean-fitness curve (its average over generations 0..N).
  Other aggregates are the mean and 95% Student-t interval over seeds.
"""

from __future__ import annotations

from pbml_control.checkpoint import CheckpointError
from pbml_control.transfer_metrics import FRESH, METRICS, aggregate, seed_metrics
from pbml_control.transfer_plan import (
    DEFAULT_K,
    DEFAULT_THRESHOLD_FRACTION,
    TransferJob,
    TransferPlan,
    plan_transfer,
)
from pbml_control.transfer_run import run_job, run_plan, start_state
from pbml_control.transfer_sources import (
    SourceRun,
    adaptation_config,
    arm_label,
    load_source,
    resolve_target,
    transfer_start,
    transfer_state,
)

__all__ = [
    "DEFAULT_K",
    "DEFAULT_THRESHOLD_FRACTION",
    "FRESH",
    "METRICS",
    "CheckpointError",
    "SourceRun",
    "TransferJob",
    "TransferPlan",
    "adaptation_config",
    "aggregate",
    "arm_label",
    "load_source",
    "plan_transfer",
    "resolve_target",
    "run_job",
    "run_plan",
    "seed_metrics",
    "start_state",
    "transfer_start",
    "transfer_state",
]
