"""`pbml evaluate`: a genome file on a task; bad genome files are refused with exit code 2."""

import pickle
from pathlib import Path

import pytest

from pbml_control.cli import main
from pbml_control.config import RunConfig
from pbml_control.runner import train


@pytest.fixture(scope="module")
def genome_file(tmp_path_factory) -> Path:
    config = RunConfig.from_dict(
        {
            "seed": 2,
            "generations": 2,
            "population_size": 4,
            "problem": {
                "name": "mujoco",
                "task": "HalfCheetahVel",
                "hidden": [8],
                "max_episode_steps": 20,
            },
        }
    )
    folder = tmp_path_factory.mktemp("eval")
    train(folder / "run", config)
    out = folder / "g.safetensors"
    assert main(["export", str(folder / "run"), "--out", str(out)]) == 0
    return out


def test_evaluate_prints_returns_and_is_deterministic(genome_file, capsys):
    """Same seed, same returns; the variant changes them."""
    args = ["evaluate", str(genome_file), "--episodes", "2", "--steps", "30", "--goal", "1.0"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and "mean return" in first
    assert main([*args, "--task", "HalfCheetahVel-Heavy"]) == 0
    assert capsys.readouterr().out.split(":")[1] != first.split(":")[1]


def test_genome_that_does_not_fit_the_task_exit_2(genome_file, capsys):
    """A HalfCheetah genome on Ant names both shapes."""
    assert main(["evaluate", str(genome_file), "--task", "AntHeading"]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not fit AntHeading" in err and "\n" not in err


def test_pickle_genome_file_is_refused_and_never_run(tmp_path, capsys):
    """A pickle renamed to .safetensors is refused; its payload does not run."""
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Evil()))
    assert main(["evaluate", str(path), "--task", "HalfCheetahVel"]) == 2
    assert "\n" not in capsys.readouterr().err.strip()
    assert not marker.exists()


def test_truncated_genome_file_exit_2(genome_file, tmp_path, capsys):
    """Half a genome file is a one-line error."""
    path = tmp_path / "half.safetensors"
    path.write_bytes(genome_file.read_bytes()[:200])
    assert main(["evaluate", str(path)]) == 2
    assert capsys.readouterr().err.startswith("pbml: error:")
