"""The zoo: evolved controllers shipped with the package, each with a model card.

An entry is a folder ``zoo/<task>/`` holding ``genome.safetensors`` (policy spec, parameters,
mutation parameters and observation normaliser; no pickle), ``card.json`` (the numbers of the
model card, written by ``scripts/make_zoo.py``), ``README.md`` (the card for people) and a short
``rollout.gif``. Entries are named ``zoo:<task>`` on the command line (``pbml evaluate``,
``pbml render``, ``pbml export``); ``pbml zoo`` lists them.

The card's headline return is measured the way a user would: the exported torch module in a
plain ``gymnasium.make(<task>)`` loop, ``env.reset(seed=s)`` for the listed seeds
(:func:`plain_loop_returns`), next to the package's own fast-path evaluation. A goal-conditioned
entry (its card lists ``goals``) has those numbers per goal, ``gymnasium.make(<id>, goal=[g])``,
and each goal's tracking error from the goal-tracking report of its run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.errors import UserError

__all__ = [
    "ZooEntry",
    "ZooError",
    "entries",
    "entry_card",
    "genome_path",
    "plain_loop_returns",
    "zoo_root",
]

PREFIX = "zoo:"


class ZooError(UserError):
    """A zoo name or folder a user can fix; its message is one line."""


def zoo_root() -> Path:
    """``$PBML_ZOO`` if set, else the ``zoo/`` folder next to the package (a source checkout)."""
    env = os.environ.get("PBML_ZOO")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "zoo"


@dataclass(frozen=True)
class ZooEntry:
    task: str
    folder: Path
    card: dict[str, Any]

    @property
    def genome(self) -> Path:
        return self.folder / "genome.safetensors"


def entries(root: Path | None = None) -> list[ZooEntry]:
    """Every entry with a card, sorted by task name; a card that is not a JSON object is a
    one-line ZooError naming it (so ``pbml zoo`` never shows a traceback)."""
    root = zoo_root() if root is None else root
    found = []
    for card in sorted(root.glob("*/card.json")):
        try:
            data = json.loads(card.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ZooError(f"zoo card {card} is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ZooError(f"zoo card {card} is not a JSON object")
        found.append(ZooEntry(card.parent.name, card.parent, data))
    return found


def genome_path(name: str | os.PathLike[str]) -> Path:
    """``zoo:<task>`` -> that entry's genome file; any other name is returned as a path."""
    text = os.fspath(name)
    if not text.startswith(PREFIX):
        return Path(text)
    task = text[len(PREFIX) :]
    known = [e.task for e in entries()]
    if task not in known:
        have = f"the zoo has {', '.join(known)}" if known else f"the zoo at {zoo_root()} is empty"
        raise ZooError(f"no zoo entry {task!r}; {have} (pbml zoo lists them)")
    return zoo_root() / task / "genome.safetensors"


def entry_card(name: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The card of ``zoo:<task>`` (None for any other name): its ``episode_steps`` is the
    horizon the entry was trained and measured on."""
    text = os.fspath(name)
    if not text.startswith(PREFIX):
        return None
    genome_path(text)  # a one-line ZooError for an unknown entry
    task = text[len(PREFIX) :]
    return next(e.card for e in entries() if e.task == task)


def plain_loop_returns(
    genome: Any, env_id: str, seeds: list[int], steps: int, goal: Any = None
) -> np.ndarray:
    """Returns of the genome's exported torch module in a plain Gymnasium loop, per seed.

    This is the loop a user writes (:mod:`pbml_control.user_loop`, the one ``pbml evaluate``
    runs): ``gymnasium.make(env_id, [goal=[...],] max_episode_steps=steps)``,
    ``env.reset(seed=s)``, the module's action for the observation, until termination or
    ``steps`` steps. ``goal`` (a goal-conditioned task's command, e.g. ``[2.0]``) is passed to
    ``gymnasium.make`` as a list of floats, as a user would; None makes no goal argument. Task
    settings the run changed (the genome's metadata ``spec_overrides``) are passed too.
    """
    from pbml_control.user_loop import run_episodes

    kwargs: dict[str, Any] = dict(genome.metadata.get("spec_overrides", {}))
    if goal is not None:
        kwargs["goal"] = [float(g) for g in np.asarray(goal).reshape(-1)]
    kwargs["max_episode_steps"] = int(steps)
    result = run_episodes(genome, env_id, seeds, kwargs)
    return np.array(result.returns)
