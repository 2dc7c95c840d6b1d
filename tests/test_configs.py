"""Every shipped config loads, validates and builds its problem."""

from pathlib import Path

import pytest

from pbml_control.config import load_config
from pbml_control.registry import make_problem

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").rglob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])  # recipes/ too
def test_shipped_config_builds_its_problem(path):
    """No shipped config has a stale key or a value out of range."""
    config = load_config(path)
    problem = make_problem(config.problem)
    try:
        assert problem.layout.num_params > 0
    finally:
        problem.close()


def test_there_is_a_config_per_robot_task():
    """HalfCheetah, Ant, Hopper, Walker2d and Reacher each have a config."""
    names = {p.stem for p in CONFIGS}
    assert {
        "halfcheetah_velocity",
        "ant_heading",
        "hopper_velocity",
        "walker2d_velocity",
        "reacher_goal",
        "default",
    } <= names


def test_there_is_a_recipe_per_reported_task():
    """Each task docs/results/locomotion.md reports has its recipe in configs/recipes/."""
    recipes = {p.stem for p in CONFIGS if p.parent.name == "recipes"}
    assert {
        "HalfCheetah-v5",
        "Hopper-v5",
        "Walker2d-v5",
        "Ant-v5",
        "HalfCheetahVel",
        "AntHeading",
    } <= recipes
