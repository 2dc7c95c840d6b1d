"""Names a user types: `pbml --version`, and every name the package knows is accepted while a
mistyped or invented one is refused with the closest known name (never silently read as
another: `HalfCheetahVel-v5` used to run as `HalfCheetahVel-v0` and be stored as typed)."""

from __future__ import annotations

import re

import pytest

from pbml_control import envs as pe
from pbml_control.cli import main
from pbml_control.envs.registry import task_names, task_path
from pbml_control.suggest import closest


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    out = capsys.readouterr().out.strip()
    assert re.fullmatch(r"pbml \d+\.\d+\.\d+( \(git [0-9a-f]{12}\))?", out), out


def test_every_known_name_is_accepted_on_its_path():
    for name in task_names():
        assert task_path(name) == "fast", name
        assert task_path(pe.task_id(*pe.parse_task_name(name))) == "fast", name
    for name in ("HalfCheetah-v4", "Pendulum-v1", "CartPole-v1"):
        assert task_path(name) == "generic", name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("HalfCheetahVel-v5", "no version v5; did you mean 'HalfCheetahVel-v0'?"),
        ("PBML/AntHeading-Light-v2", "did you mean 'PBML/AntHeading-Light-v0'?"),
        ("HalfChetahVel", "did you mean 'HalfCheetahVel'?"),
        ("halfcheetah-v5", "did you mean 'HalfCheetah-v5'?"),
        ("HalfCheetah-Heavy-v4", "did you mean 'HalfCheetah-Heavy-v5'?"),
        ("Pendulm-v1", "did you mean 'Pendulum-v1'?"),
        ("HopperVel-LowGravit", "did you mean 'LowGravity'?"),
        ("ReacherGoal-Heavy", "task 'ReacherGoal' has no variants"),
        ("Swimmer-Slippery-v5", "'Slippery' is not registered for 'Swimmer-v5'"),
        ("FlyingCar", "neither one of ours nor a Gymnasium id"),
    ],
)
def test_a_wrong_name_is_refused_with_the_closest_one(name, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        pe.goal_space(name)


def test_closest_is_none_when_nothing_is_close():
    assert closest("colour", ["seed", "generations", "population_size"]) is None
    assert closest("Generation", ["seed", "generations"]) == "generations"


def test_readme_claim_of_variants_is_true():
    """README: every goal task but ReacherGoal has the six variants; ReacherGoal has none."""
    six = ("Heavy", "Light", "Slippery", "LowGravity", "LongLimbs", "ShortLimbs")
    for task in ("HalfCheetahVel", "AntHeading", "HopperVel", "Walker2dVel"):
        assert set(pe.TASK_VARIANTS[task]) == set(six), task
        for variant in six:
            assert task_path(f"{task}-{variant}") == "fast"
    assert pe.TASK_VARIANTS["ReacherGoal"] == ()
