"""From a run folder to one genome a user can keep: save it, export it.

Members are chosen by :mod:`pbml_control.members` (the same code ``pbml render`` uses), on the
goal the run was on at its checkpoint unless goals are given. A genome file or zoo entry has
one member, saved again as it is (same arrays, same metadata).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pbml_control.members import GenomeSource, Member, RunSource, Source
from pbml_control.schedules import GoalSchedule

__all__ = ["override_metadata", "run_goal", "save_member"]


def run_goal(source: RunSource) -> np.ndarray:
    """The goal the run was on at its checkpoint's generation."""
    config = source.config
    schedule = GoalSchedule(config.schedule, source.evaluator.sample_goal, config.seed)
    return schedule.goal(max(source.checkpoint.generation - 1, 0))


def save_member(source: Source, member: Member, goals: list[np.ndarray], out: str | Path) -> Path:
    """A pickle-free safetensors genome file with the policy spec and normaliser inside."""
    from pbml_control.policies import save_genome

    if isinstance(source, GenomeSource):
        g = source.genome
        return save_genome(
            out, g.spec, g.params, g.log_sigma, g.logit_p, g.normalizer_state, g.metadata
        )
    genome = source.checkpoint.population.genome(member.index)
    return save_genome(
        out,
        source.policy_spec,
        genome.params,
        genome.log_sigma,
        genome.logit_p,
        normalizer_state=source.normalizer_state,
        metadata={
            "task": source.task_name,
            "member_id": member.id,
            "chosen_as": member.label,
            "generation": source.checkpoint.generation,
            # a goal set (schedule.goals_per_generation > 1) is listed goal by goal
            "goals": [[float(g) for g in row] for goal in goals for row in np.atleast_2d(goal)],
            "fitness": member.fitness,
            # the horizon it was trained and ranked on: pbml evaluate's default episode length
            "max_episode_steps": int(source.evaluator.config.max_episode_steps),
            # task settings away from their defaults (AntHeading's quarter-turn frame, reward
            # weights): pbml evaluate/render rebuild the same task from them
            **override_metadata(source.evaluator.config.spec_overrides),
            "git_commit": source.checkpoint.meta.get("git_commit", "unknown"),
        },
    )


def override_metadata(overrides: dict) -> dict:
    """``{"spec_overrides": ...}`` when the run set any, else nothing (older files unchanged)."""
    return {"spec_overrides": dict(overrides)} if overrides else {}
