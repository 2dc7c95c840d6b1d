"""A run too large for memory is refused in one line that says what is too big and what to
change: each part of the estimate with its size, largest first, and the settings that shrink
the parts that matter; exit code 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbml_control import memory
from pbml_control.cli import main
from pbml_control.memory import MemoryLimitError, Need, check_needs, run_needs

ROOT = Path(__file__).resolve().parents[1]
CHEETAH = str(ROOT / "configs" / "halfcheetah_velocity.toml")
SQUARE = str(ROOT / "configs" / "square.toml")
GIB = 2**30


@pytest.fixture
def half_a_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "available_bytes", lambda: GIB // 2)


def refusal(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> str:
    out = tmp_path / "run"
    assert main(["train", *args, "--out", str(out), "--quiet"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("pbml: error: this run needs about")
    return err


def test_goals_per_generation_multiply_the_episodes_simulated_at_once(half_a_gib, capsys, tmp_path):
    err = refusal(
        capsys, tmp_path, CHEETAH, "--set", "population_size=4096",
        "--set", "schedule.goals_per_generation=8",
    )  # fmt: skip
    assert "more than the 512.0 MiB available" in err
    assert (
        "population 4,096 x 8 goals x 1 episode = 32,768 episodes simulated at once (512.0 MiB)"
        in err
    )
    assert "population 4,096 x 1,862 parameters" in err
    assert "2 worker processes (256.0 MiB)" in err
    assert err.endswith(
        "lower population_size, schedule.goals_per_generation, problem.episodes, "
        "problem.hidden or problem.workers"
    )
    # the simulations are the largest part: they come first
    assert err.index("episodes simulated") < err.index("parameters (")


def test_a_toy_world_names_only_its_own_settings(half_a_gib, capsys, tmp_path):
    err = refusal(capsys, tmp_path, SQUARE, "--set", "population_size=2000000")
    assert err.endswith("available: population 2,000,000 x 2 parameters (2.6 GiB); "
                        "lower population_size")  # fmt: skip


def test_too_many_workers_is_named(half_a_gib, capsys, tmp_path):
    err = refusal(capsys, tmp_path, CHEETAH, "--set", "problem.workers=8")
    assert "8 worker processes (1.0 GiB)" in err
    assert err.endswith("lower problem.workers")


def test_parts_and_settings_in_order(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 100)
    needs = [Need("small", 5, ("a",)), Need("big", 200, ("b", "c")), Need("mid", 40, ("c", "d"))]
    with pytest.raises(MemoryLimitError) as caught:
        check_needs(needs, "this")
    assert str(caught.value) == (
        "this needs about 245 B of memory, more than the 100 B available: "
        "big (200 B), mid (40 B), small (5 B); lower b, c or d"
    )
    monkeypatch.setattr(memory, "available_bytes", lambda: 245)
    check_needs(needs, "this")  # fits exactly


def test_remote_ray_actors_cost_this_machine_nothing():
    from types import SimpleNamespace

    local = SimpleNamespace(workers=4, backend="local", ray_address="")
    ray_here = SimpleNamespace(workers=4, backend="ray", ray_address="")
    cluster = SimpleNamespace(workers=4, backend="ray", ray_address="ray://head:10001")
    assert [memory.local_worker_processes(s) for s in (local, ray_here, cluster)] == [4, 4, 0]
    assert memory.local_worker_processes(SimpleNamespace(workers=1)) == 0
    assert [n.what for n in run_needs(10, 3, 1)] == ["population 10 x 3 parameters"]
