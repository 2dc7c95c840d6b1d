"""Every output is whole or absent, and never costs the user an older file: videos, GIFs, PNGs,
torch exports and transfer reports (docs/reliability.md).

The kill campaigns start the real command, wait until it is writing, then SIGKILL, SIGTERM or
SIGINT it after a random delay. ``pytest -m slow tests/test_atomic_outputs.py -s`` runs the
long campaigns and prints the figures quoted in docs/reliability.md.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from cli_process import finish, pbml
from fault_injection import tree_hash

from pbml_control.cli import main
from pbml_control.config import RunConfig, load_config
from pbml_control.policies import load_genome
from pbml_control.runner import train

ROOT = Path(__file__).resolve().parents[1]
CHEETAH = ROOT / "configs" / "halfcheetah_velocity.toml"
OLD = b"the user's older file, which must survive"
STEPS = 300
SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A tiny HalfCheetah run: a real checkpoint with a normaliser state."""
    config = load_config(
        CHEETAH,
        [
            "generations=2",
            "population_size=6",
            "problem.hidden=[8]",
            "problem.max_episode_steps=15",
        ],
    )
    out = tmp_path_factory.mktemp("atomic") / "hc"
    train(out, config)
    return out


def temps(folder: Path) -> list[Path]:
    """Hidden temporary files a writer left (a SIGKILL cannot remove its own)."""
    return [p for p in folder.iterdir() if p.name.startswith(".") and ".tmp" in p.name]


def wait_until_writing(out: Path, timeout: float = 60) -> bool:
    """Until a temp file for ``out`` exists or ``out`` itself changed (an unprotected writer)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if temps(out.parent) or not out.exists() or out.read_bytes() != OLD:
            return True
        time.sleep(0.005)
    return False


# --- render -------------------------------------------------------------------------------
def render_trial(run_dir: Path, folder: Path, name: str, rng: np.random.Generator) -> str:
    """One render killed by signal ``name`` mid-write; returns what the folder held after."""
    folder.mkdir()
    video = folder / "v.mp4"
    video.write_bytes(OLD)
    args = ["render", str(run_dir), "--member", "2", "--steps", str(STEPS), "--size", "96x64"]
    proc = pbml(*args, "--gif", "--out", str(video))
    assert wait_until_writing(video), "the render never started writing"
    time.sleep(float(rng.uniform(0.0, 1.0)))
    proc.send_signal(SIGNALS[name])
    code, err = finish(proc)
    if code == 0:  # finished before the signal: the new video, whole
        assert len(imageio.mimread(video, memtest=False)) == STEPS + 1
        return "finished"
    assert video.read_bytes() == OLD, f"{name}: the older video was damaged or deleted"
    if name == "SIGKILL":
        return "killed, temp left" if temps(folder) else "killed"
    assert code == 130 and "Traceback" not in err and err.strip() == "pbml: interrupted", err
    assert not temps(folder), f"{name}: temp files left: {temps(folder)}"
    return "interrupted"


@pytest.mark.parametrize("name", list(SIGNALS))
def test_a_signal_mid_render_keeps_the_older_video(run_dir, tmp_path, name):
    """SIGKILL, SIGTERM or SIGINT while frames stream: the older file of that name is intact
    (before: a truncated video under the final name, and SIGINT deleted the older file)."""
    outcome = render_trial(run_dir, tmp_path / "t", name, np.random.default_rng(0))
    assert outcome != "finished", "the signal came too late to test anything"


def test_temp_files_of_killed_writers_go_with_the_next_write(tmp_path):
    """A SIGKILLed render leaves its hidden temp file (nothing can stop SIGKILL); the next
    write of that file removes it, but never the temp file of a writer still alive."""
    import fcntl

    from pbml_control.atomic import atomic_output

    dead, alive = tmp_path / ".v.dead1234.tmp.mp4", tmp_path / ".v.live5678.tmp.mp4"
    dead.write_bytes(b"half a video")
    alive.write_bytes(b"being written")
    with open(alive, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # as atomic_output holds it while writing
        with atomic_output(tmp_path / "v.mp4") as partial:
            partial.write_bytes(b"new video")
        assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name, "v.mp4"]


# --- export -------------------------------------------------------------------------------
def test_export_checks_torch_before_writing_anything(run_dir, tmp_path, capsys):
    """A bad --torch is refused before the genome file is written (before: after it)."""
    before = tree_hash(tmp_path) | tree_hash(run_dir)
    out = tmp_path / "g.safetensors"
    assert (
        main(["export", str(run_dir), "--out", str(out), "--torch", str(tmp_path / "x.txt")]) == 2
    )
    assert "--torch must end in" in capsys.readouterr().err
    assert tree_hash(tmp_path) | tree_hash(run_dir) == before


@pytest.mark.parametrize("how", ["direct", "symlink", "checkpoints"])
def test_export_never_overwrites_the_runs_own_files(run_dir, tmp_path, capsys, how):
    """`--torch RUN/config.json` replaced the run's config; now no path onto a run's own files
    (config.json and friends, checkpoints/) is written, however it is spelled."""
    target = {"direct": run_dir / "config.json", "checkpoints": run_dir / "checkpoints" / "x.pt"}
    link = tmp_path / "mine.pt"
    link.symlink_to(run_dir / "config.json")
    torch_path = target.get(how, link)
    before = tree_hash(run_dir)
    args = ["export", str(run_dir), "--out", str(tmp_path / "g.safetensors")]
    assert main([*args, "--torch", str(torch_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pbml: error:") and err.count("\n") == 1, err
    assert tree_hash(run_dir) == before
    assert not (tmp_path / "g.safetensors").exists()


def _failing_torch_save(obj, f, *args, **kwargs):
    """torch.save that dies half-way with a full disk."""
    if isinstance(f, str | os.PathLike):
        Path(f).write_bytes(b"PK\x03\x04 half")
    else:
        f.write(b"PK\x03\x04 half")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_torch_save_keeps_the_older_file(run_dir, tmp_path, capsys, monkeypatch):
    """A .pt write that fails half-way: exit 2 in one line, the older .pt intact (before: a
    truncated .pt under the final name)."""
    import torch

    monkeypatch.setattr(torch, "save", _failing_torch_save)
    old = tmp_path / "best.pt"
    old.write_bytes(OLD)
    args = ["export", str(run_dir), "--out", str(tmp_path / "g.safetensors"), "--torch", str(old)]
    assert main(args) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert old.read_bytes() == OLD and not temps(tmp_path)


def test_torch_export_as_safetensors_loads_without_pickle(run_dir, tmp_path):
    """--torch FILE.safetensors: a state_dict safetensors.torch reads; it equals the .pt one."""
    import safetensors.torch
    import torch

    base = ["export", str(run_dir), "--member", "2"]
    for out, torch_file in (("a.safetensors", "t.safetensors"), ("b.safetensors", "t.pt")):
        args = ["--out", str(tmp_path / out), "--torch", str(tmp_path / torch_file)]
        assert main([*base, *args]) == 0
    plain = safetensors.torch.load_file(tmp_path / "t.safetensors")
    pickled = torch.load(tmp_path / "t.pt", weights_only=True)
    assert plain.keys() == pickled.keys()
    assert all(torch.equal(plain[k], pickled[k]) for k in plain)


def export_trial(run_dir: Path, folder: Path, rng: np.random.Generator) -> str:
    """An export SIGKILLed at a random moment: each file is the older one or whole."""
    folder.mkdir()
    genome, torch_file = folder / "g.safetensors", folder / "g.pt"
    genome.write_bytes(OLD)
    torch_file.write_bytes(OLD)
    proc = pbml("export", str(run_dir), "--out", str(genome), "--torch", str(torch_file))
    try:
        proc.wait(timeout=float(rng.uniform(1.0, 5.0)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    import torch

    new = 0
    if genome.read_bytes() != OLD:
        load_genome(genome)
        new += 1
    if torch_file.read_bytes() != OLD:
        torch.load(torch_file, weights_only=True)
        new += 1
    return f"{new} new"


def test_a_killed_export_leaves_old_or_whole_files(run_dir, tmp_path):
    """One SIGKILL at a random moment (the slow campaign runs 10): each file old or whole."""
    outcome = export_trial(run_dir, tmp_path / "t", np.random.default_rng(1))
    assert outcome in ("0 new", "1 new", "2 new")


# --- plot ---------------------------------------------------------------------------------
def test_a_failed_figure_write_keeps_the_older_png(tmp_path, capsys, monkeypatch):
    """savefig dying half-way (a full disk) leaves the older fitness.png as it was (before: a
    0-byte or truncated PNG)."""
    from matplotlib.figure import Figure

    run = tmp_path / "run"
    assert main(["train", str(ROOT / "configs" / "square.toml"), "--set", "generations=3",
                 "--out", str(run), "--quiet"]) == 0  # fmt: skip

    def failing_savefig(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", failing_savefig)
    figures = tmp_path / "figs"
    figures.mkdir()
    (figures / "fitness.png").write_bytes(OLD)
    assert main(["plot", str(run), "--out", str(figures)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert (figures / "fitness.png").read_bytes() == OLD and not temps(figures)


# --- transfer -----------------------------------------------------------------------------
SQUARE = {
    "generations": 8,
    "population_size": 12,
    "checkpoint_every": 4,
    "problem": {"name": "square"},
    "mutation": {"init_sigma": 1.0, "tau": 0.2},
    "schedule": {"kind": "random", "period": 4},
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("sources")
    out = []
    for scheme in ("pbml", "greedy"):
        out.append(root / scheme)
        train(out[-1], RunConfig.from_dict({**SQUARE, "selection": {"scheme": scheme}}))
    return out


def transfer_args(sources: list[Path], out: Path, generations: int = 6) -> list[str]:
    return [
        "transfer", *map(str, sources), "--target", "hard_square", "--fresh",
        "--generations", str(generations), "--seeds", "0", "1", "--k", "2", "--out", str(out),
    ]  # fmt: skip


LONG_TRANSFER = 1000  # generations: about 3 s of jobs, so kills land mid-way


def md_matches_json(out: Path) -> bool:
    digest = hashlib.sha256((out / "transfer.json").read_bytes()).hexdigest()
    return f"SHA-256 {digest}" in (out / "transfer.md").read_text()


def test_transfer_reuses_finished_jobs_and_writes_a_consistent_pair(sources, tmp_path, capsys):
    """A rerun needs no --overwrite: finished arm/seed jobs are reused (bit-identical result),
    the missing ones recomputed, and transfer.md names the transfer.json it goes with."""
    out = tmp_path / "out"
    assert main(transfer_args(sources, out)) == 0
    reference = (out / "transfer.json").read_bytes()
    assert md_matches_json(out)
    (out / "transfer.md").unlink()
    next((out / "jobs").glob("fresh_seed1.json")).unlink()
    capsys.readouterr()
    assert main(transfer_args(sources, out)) == 0
    assert "(5 reused" in capsys.readouterr().err
    assert (out / "transfer.json").read_bytes() == reference and md_matches_json(out)
    assert main([*transfer_args(sources, out), "--overwrite"]) == 0  # recomputes: same bytes
    assert "(0 reused" in capsys.readouterr().err
    assert (out / "transfer.json").read_bytes() == reference


def test_a_changed_transfer_recomputes_what_changed(sources, tmp_path, capsys):
    """Jobs are keyed by what they depend on: more generations reuse nothing stale."""
    out = tmp_path / "out"
    assert main(transfer_args(sources, out, generations=4)) == 0
    capsys.readouterr()
    assert main(transfer_args(sources, out, generations=5)) == 0
    assert "(0 reused" in capsys.readouterr().err
    fresh = tmp_path / "fresh"
    assert main(transfer_args(sources, fresh, generations=5)) == 0
    assert (out / "transfer.json").read_bytes() == (fresh / "transfer.json").read_bytes()


def test_a_transfer_killed_before_its_first_job_reruns(sources, tmp_path):
    """Killed between taking its lock and making jobs/, a transfer leaves only .lock: rerun."""
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text("")
    assert main(transfer_args(sources, out, generations=3)) == 0
    assert (out / "transfer.json").is_file()


def test_a_transfer_folder_in_use_is_refused(sources, tmp_path, capsys):
    from pbml_control.runlock import RunLock

    out = tmp_path / "out"
    out.mkdir()
    with RunLock(out):
        before = tree_hash(out)
        assert main(transfer_args(sources, out)) == 2
        assert f"in use by process {os.getpid()}" in capsys.readouterr().err
        assert tree_hash(out) == before


def transfer_trial(sources: list[Path], out: Path, reference: bytes, rng) -> tuple[int, int]:
    """SIGKILL a transfer at random moments (up to twice), rerun it to the end; returns (kills,
    pairs checked after kills). The result must equal an uninterrupted transfer's."""
    kills = pairs = 0
    for attempt in range(3):
        proc = pbml(*transfer_args(sources, out, LONG_TRANSFER))
        if attempt == 2:
            code, err = finish(proc)
            assert code == 0, err
            break
        try:
            code = proc.wait(timeout=float(rng.uniform(0.8, 3.5)))
            assert code == 0, proc.stderr.read()
            break
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            kills += 1
        if (out / "transfer.json").exists():
            json.loads((out / "transfer.json").read_text())
            assert md_matches_json(out), "transfer.md and transfer.json do not belong together"
            pairs += 1
        for job in (out / "jobs").glob("*.json") if (out / "jobs").is_dir() else ():
            json.loads(job.read_text())  # every kept job is whole
    assert (out / "transfer.json").read_bytes() == reference and md_matches_json(out)
    return kills, pairs


def test_killed_transfers_resume_to_the_same_result(sources, tmp_path):
    reference_dir = tmp_path / "reference"
    assert main(transfer_args(sources, reference_dir, LONG_TRANSFER)) == 0
    reference = (reference_dir / "transfer.json").read_bytes()
    kills, _ = transfer_trial(sources, tmp_path / "t", reference, np.random.default_rng(3))
    assert kills >= 1


# --- the long campaign (figures for docs/reliability.md) ----------------------------------
@pytest.mark.slow
def test_kill_campaign_render_export_transfer(run_dir, sources, tmp_path):
    rng = np.random.default_rng(12)
    render = Counter()
    for name in SIGNALS:
        for i in range(8):
            render[(name, render_trial(run_dir, tmp_path / f"r_{name}_{i}", name, rng))] += 1
    export = Counter(export_trial(run_dir, tmp_path / f"e{i}", rng) for i in range(10))
    reference_dir = tmp_path / "reference"
    assert main(transfer_args(sources, reference_dir, LONG_TRANSFER)) == 0
    reference = (reference_dir / "transfer.json").read_bytes()
    kills = pairs = 0
    for i in range(8):
        k, p = transfer_trial(sources, tmp_path / f"x{i}", reference, rng)
        kills, pairs = kills + k, pairs + p
    print(f"\nrender: {dict(render)}")
    print(f"export (SIGKILL at random, 10 trials): {dict(export)}")
    print(f"transfer: 8 trials, {kills} SIGKILLs, {pairs} json/md pairs checked after a kill, "
          "all 8 resumed to the uninterrupted transfer.json")  # fmt: skip
