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


def test_the_report_of_many_episodes_fits_its_estimate(genome_file, monkeypatch, capsys):
    """Episodes run one after another, so what grows with --episodes is the report: each
    episode's seed, return, length and line, measured here (the episodes themselves faked)."""
    import random
    import tracemalloc

    from pbml_control import memory, user_loop

    def fake(genome, env_id, seeds, kwargs, convert=None):
        rng = random.Random(0)
        n = len(seeds)
        returns = [rng.uniform(-1000.0, 0.0) for _ in range(n)]
        return user_loop.EpisodeResults(
            [int(s) for s in seeds], returns, [999 + i % 2 for i in range(n)]
        )

    monkeypatch.setattr(user_loop, "run_episodes", fake)
    n = 100_000
    args = ["evaluate", str(genome_file), "--seed", "4000000000", "--episodes", str(n)]
    for extra in ([], ["--json"]):
        assert main([*args, "--episodes", "1", *extra]) == 0  # imports and caches warmed up
        capsys.readouterr()
        tracemalloc.start()
        try:
            assert main([*args, *extra]) == 0
            per_episode = tracemalloc.get_traced_memory()[1] / n
        finally:
            tracemalloc.stop()
        assert len(capsys.readouterr().out) > 20 * n
        assert per_episode <= memory.EPISODE_RECORD_BYTES, (extra, per_episode)


def test_a_report_too_large_for_memory_is_refused_in_one_line(genome_file, monkeypatch, capsys):
    """The refusal names what would not fit (the report), not simulations: none run at once."""
    from pbml_control import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 2**30)
    assert main(["evaluate", str(genome_file), "--episodes", "4000000"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "pbml: error: the report of 4,000,000 episodes (each one's seed, return and length, "
        "kept until the end; the episodes themselves run one after another) needs about "
        "1.9 GiB of memory, more than the 1.0 GiB available; lower --episodes"
    )
