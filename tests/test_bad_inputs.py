"""The catalogue of bad inputs (docs/reliability.md): each is refused with one line,
``pbml: error: ...`` naming the problem, exit code 2, and nothing on disk changes.

Each case runs the real command in a scratch folder holding copies of a Square World run
(``run``), a tiny HalfCheetah run (``hc``) and a genome file exported from it; the SHA-256 of
every file there (and the list of folders) is compared before and after. Before these checks,
about half of these ended in a traceback, ran with NaN, hung, or changed files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fault_injection import tree_hash

from pbml_control import runfolder
from pbml_control.checkpoint import latest_checkpoint
from pbml_control.cli import main
from pbml_control.config import load_config
from pbml_control.policies import load_genome, save_genome
from pbml_control.runlock import RunLock
from pbml_control.runner import train

ROOT = Path(__file__).resolve().parents[1]
SQUARE = str(ROOT / "configs" / "square.toml")
CHEETAH = str(ROOT / "configs" / "halfcheetah_velocity.toml")


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("originals")
    train(root / "run", load_config(SQUARE, ["generations=4", "checkpoint_every=2"]))
    hc = [
        "generations=2",
        "population_size=6",
        "problem.hidden=[8]",
        "problem.max_episode_steps=15",
    ]
    train(root / "hc", load_config(CHEETAH, hc))
    assert main(["export", str(root / "hc"), "--out", str(root / "g.safetensors")]) == 0
    return root


# --- damage -------------------------------------------------------------------------------
def write(name: str, data: str | bytes) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())

    return setup


def mkdir(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).mkdir(parents=True)


def replace_by_folder(name: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        path = tmp / name
        path.unlink()
        path.mkdir()

    return setup


def record(run: str = "run", **changes: Any) -> Callable[[Path], None]:
    """Edit the latest checkpoint record of ``run``."""

    def setup(tmp: Path) -> None:
        path = latest_checkpoint(tmp / run / "checkpoints")
        data = json.loads(path.read_text())
        data.update(changes)
        path.write_text(json.dumps(data))

    return setup


def latest(tmp: Path, run: str = "run") -> Path:
    return latest_checkpoint(tmp / run / "checkpoints")


def rename_latest_record(tmp: Path) -> None:
    path = latest(tmp)
    path.with_suffix(".npz").rename(path.parent / "gen_000099.npz")
    path.rename(path.parent / "gen_000099.json")


def rewrite_npz(tmp: Path, build: Callable[[dict[str, np.ndarray]], bytes]) -> None:
    path = latest(tmp)
    npz = path.with_suffix(".npz")
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    npz.write_bytes(build(arrays))
    meta = json.loads(path.read_text())
    meta["sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()  # a forger can do this
    path.write_text(json.dumps(meta))


def zip_bomb(tmp: Path) -> None:
    """Deflated members: 100 MB of zeros weigh 100 KB here."""

    def build(arrays: dict[str, np.ndarray]) -> bytes:
        arrays["params"] = np.zeros((12_500_000,))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    rewrite_npz(tmp, build)


def lying_header(tmp: Path) -> None:
    """A stored member whose header claims 8 TiB of float64 and holds 16 bytes."""

    def build(arrays: dict[str, np.ndarray]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for key, value in arrays.items():
                member = io.BytesIO()
                if key == "params":
                    header = {"descr": "<f8", "fortran_order": False, "shape": (2**20, 2**20)}
                    np.lib.format.write_array_header_1_0(member, header)
                    member.write(b"\0" * 16)
                else:
                    np.lib.format.write_array(member, value)
                archive.writestr(f"{key}.npy", member.getvalue())
        return buffer.getvalue()

    rewrite_npz(tmp, build)


def metrics_line(line: bytes) -> Callable[[Path], None]:
    """Put ``line`` second in the run's metrics.jsonl (damage between valid rows)."""

    def setup(tmp: Path) -> None:
        path = tmp / "run" / "metrics.jsonl"
        lines = path.read_bytes().split(b"\n")
        path.write_bytes(b"\n".join([lines[0], line, *lines[1:]]))

    return setup


def config_json(value: str | bytes) -> Callable[[Path], None]:
    return write("run/config.json", value)


def nan_in_config(tmp: Path) -> None:
    path = tmp / "run" / "config.json"
    data = json.loads(path.read_text())
    data["mutation"]["tau"] = float("nan")
    path.write_text(json.dumps(data))  # Python writes NaN; its reader accepts it


def genome_with_task(task: Any) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        g = load_genome(tmp / "g.safetensors")
        meta = {**g.metadata, "task": task}
        save_genome(tmp / "bad.safetensors", g.spec, g.params, g.log_sigma, g.logit_p,
                    g.normalizer_state, meta)  # fmt: skip

    return setup


def symlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).symlink_to(tmp / target)


def hold_lock(name: str) -> Callable[[Path], None]:
    """Another writer: this process holds the folder's lock for the rest of the case."""

    def setup(tmp: Path) -> None:
        (tmp / name).mkdir(exist_ok=True)
        HELD.append(RunLock(tmp / name).acquire())

    return setup


HELD: list[RunLock] = []


def fail_with(target: Any, attr: str, errno_: int, text: str) -> Callable[[Any], None]:
    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise OSError(errno_, text, str(args[0]) if args else None)

        monkeypatch.setattr(target, attr, fail)

    return patch


def both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        for one in setups:
            one(tmp)

    return setup


# --- the catalogue ------------------------------------------------------------------------
@dataclass(frozen=True)
class Bad:
    id: str
    argv: str  # split on spaces after {placeholders} are filled
    message: str
    setup: Callable[[Path], None] | None = None
    patch: Callable[[pytest.MonkeyPatch], None] | None = None
    cwd: str = "."


NEW = "--out {tmp}/new --quiet"
RESUME = "train --resume {tmp}/run --quiet"
TRANSFER = "transfer {tmp}/run --target hard_square --generations 2"
EXPORT = "export {tmp}/hc --out {tmp}/x.safetensors"

CASES = [
    # config files
    Bad("config-is-a-folder", f"train {{tmp}}/cfg {NEW}", "is not a regular file", mkdir("cfg")),
    Bad("config-is-dev-zero", f"train /dev/zero {NEW}", "is not a regular file"),
    Bad("config-missing", f"train {{tmp}}/nope.toml {NEW}", "config file not found"),
    Bad(
        "config-binary", f"train {{tmp}}/c.toml {NEW}", "not UTF-8", write("c.toml", b"\xff\xfe\0")
    ),
    Bad(
        "config-bad-toml",
        f"train {{tmp}}/c.toml {NEW}",
        "not valid TOML",
        write("c.toml", "x = = 1"),
    ),
    Bad(
        "config-deeply-nested",
        f"train {{tmp}}/c.toml {NEW}",
        "not valid TOML",
        write("c.toml", "x = " + "[" * 5000 + "]" * 5000),
    ),
    Bad(
        "config-too-large",
        f"train {{tmp}}/c.toml {NEW}",
        "larger than",
        write("c.toml", "# " + "x" * (2 << 20)),
    ),
    Bad(
        "config-nan-in-toml",
        f"train {{tmp}}/c.toml {NEW}",
        "mutation.tau must be a finite number",
        write("c.toml", '[problem]\nname = "square"\n[mutation]\ntau = nan\n'),
    ),
    Bad(
        "config-inf-in-toml",
        f"train {{tmp}}/c.toml {NEW}",
        "problem.params.spacing_x must be a finite",
        write("c.toml", '[problem]\nname = "square"\nspacing_x = inf\n'),
    ),
    # --set values
    Bad(
        "set-tau-nan",
        f"train {SQUARE} --set mutation.tau=nan {NEW}",
        "mutation.tau must be a finite",
    ),
    Bad(
        "set-tau-inf",
        f"train {SQUARE} --set mutation.tau=inf {NEW}",
        "mutation.tau must be a finite",
    ),
    Bad(
        "set-init-sigma-inf",
        f"train {SQUARE} --set mutation.init_sigma=inf {NEW}",
        "init_sigma must be a finite",
    ),
    Bad(
        "set-log-sigma-max-minus-inf",
        f"train {SQUARE} --set mutation.log_sigma_max=-inf {NEW}",
        "must be a finite",
    ),
    Bad(
        "set-parent-pressure-nan",
        f"train {SQUARE} --set selection.parent_pressure=nan {NEW}",
        "parent_pressure must be a finite",
    ),
    Bad(
        "set-death-rate-nan",
        f"train {SQUARE} --set selection.death_rate=nan {NEW}",
        "death_rate must be a finite",
    ),
    Bad(
        "set-spacing-x-nan",
        f"train {SQUARE} --set problem.spacing_x=nan {NEW}",
        "spacing_x must be a finite",
    ),
    Bad(
        "set-scout-fraction-nan",
        f"train {SQUARE} --set operators.scout_fraction=nan {NEW}",
        "scout_fraction must be a finite",
    ),
    Bad(
        "set-goal-nan",
        f"train {SQUARE} --set schedule.goals=[[nan]] {NEW}",
        "schedule.goals must be a finite",
    ),
    Bad(
        "set-reward-weight-inf",
        f"train {CHEETAH} --set problem.spec_overrides={{{{ctrl_cost_weight=inf}}}} {NEW}",
        "must be a finite",
    ),
    Bad("set-deeply-nested", f"train {SQUARE} --set seed={'[' * 5000} {NEW}", "nested too deeply"),
    Bad("set-through-a-number", f"train {SQUARE} --set seed.x=1 {NEW}", "'seed' is not a table"),
    Bad(
        "set-generations-float",
        f"train {SQUARE} --set generations=1.5 {NEW}",
        "generations: expected int",
    ),
    # mistyped or invented names: refused with the closest known name, never guessed at
    Bad(
        "set-key-typo",
        f"train {SQUARE} --set generation=3 {NEW}",
        "unknown config key 'generation'; did you mean 'generations'?",
    ),
    Bad(
        "set-nested-key-typo",
        f"train {SQUARE} --set selection.schem=greedy {NEW}",
        "did you mean 'selection.scheme'?",
    ),
    Bad(
        "problem-typo",
        f"train {SQUARE} --set problem.name=squar {NEW}",
        "unknown problem 'squar'; did you mean 'square'?",
    ),
    Bad(
        "task-invented-version",
        f"train {CHEETAH} --set problem.task=HalfCheetahVel-v5 {NEW}",
        "no version v5; did you mean 'HalfCheetahVel-v0'?",
    ),
    Bad(
        "task-typo",
        f"train {CHEETAH} --set problem.task=HalfChetahVel {NEW}",
        "did you mean 'HalfCheetahVel'?",
    ),
    Bad(
        "gym-id-typo",
        f"train {CHEETAH} --set problem.task=Pendulm-v1 {NEW}",
        "nor a Gymnasium id; did you mean 'Pendulum-v1'?",
    ),
    Bad(
        "variant-typo",
        f"train {CHEETAH} --set problem.task=HalfCheetahVel-Heavvy {NEW}",
        "did you mean 'Heavy'?",
    ),
    Bad(
        "variant-of-a-task-without-variants",
        f"train {CHEETAH} --set problem.task=ReacherGoal-Heavy {NEW}",
        "'ReacherGoal' has no variants",
    ),
    Bad(
        "evaluate-task-invented-version",
        "evaluate {tmp}/g.safetensors --task PBML/HalfCheetahVel-Heavy-v3",
        "did you mean 'PBML/HalfCheetahVel-Heavy-v0'?",
    ),
    Bad(
        "tensorboard-not-installed",
        f"train {SQUARE} --tensorboard {NEW}",
        "--tensorboard needs the tensorboard package: pip install 'pbml-control[tensorboard]'",
        patch=lambda mp: mp.setitem(
            sys.modules, "tensorboard.summary.writer.event_file_writer", None
        ),
    ),
    # sizes: the memory estimate, before anything is allocated
    Bad(
        "population-1e9",
        f"train {SQUARE} --set population_size=1000000000 {NEW}",
        "population 1,000,000,000 x 2 parameters (",
    ),
    Bad(
        "hidden-100000x2",
        f"train {CHEETAH} --set problem.hidden=[100000,100000] {NEW}",
        "needs about",
    ),
    Bad("episodes-1e8", f"train {CHEETAH} --set problem.episodes=100000000 {NEW}", "needs about"),
    Bad(
        "evaluate-episodes-1e9",
        "evaluate {tmp}/g.safetensors --episodes 1000000000",
        "the report of 1,000,000,000 episodes (each one's seed, return and length, kept until "
        "the end; the episodes themselves run one after another) needs about",
    ),
    # where a new run goes
    Bad(
        "out-is-a-file",
        f"train {SQUARE} --out {{tmp}}/f --quiet",
        "exists and is not a folder",
        write("f", "x"),
    ),
    Bad(
        "out-under-a-file",
        f"train {SQUARE} --out {{tmp}}/f/run --quiet",
        "is not a folder",
        write("f", "x"),
    ),
    Bad(
        "out-name-too-long",
        f"train {SQUARE} --out {{tmp}}/{'x' * 300} --quiet",
        "File name too long",
    ),
    Bad(
        "out-read-only",
        f"train {SQUARE} {NEW}",
        "Read-only file system",
        patch=fail_with(runfolder.tempfile, "mkdtemp", 30, "Read-only file system"),
    ),
    Bad(
        "out-disk-full",
        f"train {SQUARE} {NEW}",
        "No space left on device",
        patch=fail_with(runfolder, "atomic_write_text", 28, "No space left on device"),
    ),
    Bad("out-exists", f"train {SQUARE} --out {{tmp}}/run --quiet", "pass --resume or --overwrite"),
    Bad(
        "out-in-use",
        f"train {SQUARE} --out {{tmp}}/run --overwrite --quiet",
        f"in use by process {os.getpid()}",
        hold_lock("run"),
    ),
    Bad(
        "overwrite-dot",
        f"train {SQUARE} --out . --overwrite --quiet",
        "must name a folder, not . or ..",
        cwd="run",
    ),
    Bad(
        "overwrite-dotdot",
        f"train {SQUARE} --out {{tmp}}/run/.. --overwrite --quiet",
        "must name a folder, not . or ..",
    ),
    Bad(
        "overwrite-not-a-run",
        f"train {SQUARE} --out {{tmp}}/docs --overwrite --quiet",
        "is not a run folder",
        write("docs/thesis.tex", "years of work"),
    ),
    Bad(
        "overwrite-symlink",
        f"train {SQUARE} --out {{tmp}}/link --overwrite --quiet",
        "is a symbolic link",
        symlink("link", "run"),
    ),
    Bad(
        "overwrite-cwd-parent",
        f"train {SQUARE} --out {{tmp}}/run --overwrite --quiet",
        "is the current folder or one of its parents",
        cwd="run/checkpoints",
    ),
    # resuming
    Bad("resume-missing", "train --resume {tmp}/nope --quiet", "no such run folder"),
    Bad("resume-a-file", "train --resume {tmp}/f --quiet", "is not a folder", write("f", "x")),
    Bad(
        "resume-symlink-loop",
        "train --resume {tmp}/loop --quiet",
        "no such run folder",
        symlink("loop", "loop"),
    ),
    Bad(
        "resume-no-config",
        "train --resume {tmp}/empty --quiet",
        "has no config.json",
        mkdir("empty"),
    ),
    Bad(
        "resume-config-is-a-folder",
        RESUME,
        "is not a regular file",
        replace_by_folder("run/config.json"),
    ),
    Bad("resume-config-list", RESUME, "expected a table, got list", config_json("[1, 2]")),
    Bad("resume-config-null", RESUME, "expected a table, got NoneType", config_json("null")),
    Bad("resume-config-deeply-nested", RESUME, "is corrupt (not JSON)", config_json("[" * 100_000)),
    Bad("resume-config-binary", RESUME, "is not UTF-8", config_json(b"\xff\xfe")),
    Bad("resume-config-nan", RESUME, "mutation.tau must be a finite", nan_in_config),
    Bad("resume-set-nan", RESUME + " --set mutation.tau=nan", "mutation.tau must be a finite"),
    Bad(
        "resume-set-generations-inf",
        RESUME + " --set generations=inf",
        "generations must be a finite",
    ),
    Bad(
        "resume-checkpoints-deleted",
        RESUME,
        "has 4 metrics rows but no checkpoint",
        lambda tmp: shutil.rmtree(tmp / "run" / "checkpoints"),
    ),
    Bad(
        "resume-checkpoints-emptied",
        RESUME,
        "but no checkpoint",
        lambda tmp: [p.unlink() for p in (tmp / "run" / "checkpoints").iterdir()],
    ),
    Bad(
        "record-generation-negative", RESUME, "implausible: generation = -5", record(generation=-5)
    ),
    Bad(
        "record-generation-string", RESUME, "implausible: generation = '4'", record(generation="4")
    ),
    Bad(
        "record-next-id-1.5e300", RESUME, "implausible: next_id = 1.5e+300", record(next_id=1.5e300)
    ),
    Bad("record-next-id-reused", RESUME, "is not above its largest member id", record(next_id=1)),
    Bad("record-renamed", RESUME, "its record says generation 4", rename_latest_record),
    Bad("record-without-config", RESUME, "holds no config table", record(config=None)),
    Bad(
        "record-deeply-nested",
        RESUME,
        "record is corrupt",
        lambda tmp: latest(tmp).write_text("[" * 100_000),
    ),
    Bad(
        "record-is-a-folder",
        RESUME,
        "Is a directory",
        lambda tmp: replace_by_folder(str(latest(tmp)))(tmp),
    ),
    Bad(
        "npz-is-a-folder",
        RESUME,
        "Is a directory",
        lambda tmp: replace_by_folder(str(latest(tmp).with_suffix(".npz")))(tmp),
    ),
    Bad("npz-zip-bomb", RESUME, "is compressed (pbml writes plain npz files)", zip_bomb),
    Bad("npz-lying-header", RESUME, "claims shape (1048576, 1048576)", lying_header),
    Bad("metrics-binary-row", RESUME, "line 2 is not a metrics row", metrics_line(b"\xff\xfe\x00")),
    Bad("metrics-non-object-row", RESUME, "line 2 is not a metrics row", metrics_line(b"[1, 2]")),
    Bad("metrics-is-a-folder", RESUME, "Is a directory", replace_by_folder("run/metrics.jsonl")),
    Bad("resume-in-use", RESUME, f"in use by process {os.getpid()}", hold_lock("run")),
    # pbml evaluate
    Bad("evaluate-genome-missing", "evaluate {tmp}/nope.safetensors", "genome file not found"),
    Bad(
        "evaluate-genome-folder",
        "evaluate {tmp}/d.safetensors",
        "genome file not a file",
        mkdir("d.safetensors"),
    ),
    Bad(
        "evaluate-task-not-a-name",
        "evaluate {tmp}/bad.safetensors",
        "its metadata 'task' is not a name",
        genome_with_task(5),
    ),
    Bad(
        "evaluate-goal-nan", "evaluate {tmp}/g.safetensors --goal nan", "goal 'nan' must be finite"
    ),
    Bad(
        "evaluate-seed-negative",
        "evaluate {tmp}/g.safetensors --seed -1",
        "--seed must be in [0, 2**32)",
    ),
    # pbml render
    Bad(
        "render-seed-negative",
        "render {tmp}/hc --seed -1 --out {tmp}/v.mp4",
        "must be in [0, 2**32)",
    ),
    Bad(
        "render-fps-1e-300",
        "render {tmp}/hc --fps 1e-300 --out {tmp}/v.mp4",
        "fps '1e-300' must be in",
    ),
    Bad("render-fps-nan", "render {tmp}/hc --fps nan --out {tmp}/v.mp4", "fps 'nan' must be in"),
    Bad(
        "render-out-is-a-folder",
        "render {tmp}/hc --out {tmp}/v.mp4",
        "is a folder; name a file",
        mkdir("v.mp4"),
    ),
    Bad(
        "render-out-under-a-file",
        "render {tmp}/hc --out {tmp}/f/v.mp4",
        "is not a folder",
        write("f", "x"),
    ),
    Bad(
        "render-goal-inf",
        "render {tmp}/hc --goal inf --out {tmp}/v.mp4",
        "goal 'inf' must be finite",
    ),
    Bad(
        "render-record-implausible",
        "render {tmp}/hc --out {tmp}/v.mp4",
        "implausible",
        record("hc", generation=-1),
    ),
    # pbml export
    Bad("export-torch-suffix", EXPORT + " --torch {tmp}/x.txt", "--torch must end in"),
    Bad(
        "export-torch-onto-config", EXPORT + " --torch {tmp}/hc/config.json", "--torch must end in"
    ),
    Bad(
        "export-torch-link-to-config",
        EXPORT + " --torch {tmp}/mine.pt",
        "would overwrite the run's own config.json",
        symlink("mine.pt", "hc/config.json"),
    ),
    Bad(
        "export-out-in-checkpoints",
        "export {tmp}/hc --out {tmp}/hc/checkpoints/x.safetensors",
        "lies in the run's checkpoints/",
    ),
    Bad("export-torch-same-as-out", EXPORT + " --torch {tmp}/x.safetensors", "name the same file"),
    Bad("export-out-is-a-folder", EXPORT, "is a folder; name a file", mkdir("x.safetensors")),
    Bad("export-goal-nan", EXPORT + " --goal nan", "goal 'nan' must be finite"),
    Bad("export-record-implausible", EXPORT, "implausible", record("hc", next_id=-3)),
    # pbml plot
    Bad(
        "plot-out-is-a-file",
        "plot {tmp}/run --out {tmp}/f",
        "exists and is not a folder",
        write("f", "x"),
    ),
    Bad(
        "plot-metrics-is-a-folder",
        "plot {tmp}/run --out {tmp}/figs",
        "cannot read",
        replace_by_folder("run/metrics.jsonl"),
    ),
    # pbml transfer
    Bad(
        "transfer-out-is-a-file",
        TRANSFER + " --out {tmp}/f",
        "exists and is not a folder",
        write("f", "x"),
    ),
    Bad(
        "transfer-threshold-nan",
        TRANSFER + " --threshold nan --out {tmp}/t",
        "--threshold must be finite",
    ),
    Bad(
        "transfer-fraction-nan",
        TRANSFER + " --threshold-fraction nan --out {tmp}/t",
        "threshold fraction must be in",
    ),
    Bad(
        "transfer-out-in-use",
        TRANSFER + " --out {tmp}/t",
        f"in use by process {os.getpid()}",
        hold_lock("t"),
    ),
    Bad(
        "transfer-out-holds-other-files",
        TRANSFER + " --out {tmp}/docs",
        "holds no transfer",
        write("docs/a.txt", "x"),
    ),
    Bad(
        "transfer-source-implausible",
        TRANSFER + " --out {tmp}/t",
        "implausible",
        record(generation=-5),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_in_one_line_and_changes_nothing(
    originals, tmp_path, capsys, monkeypatch, case
):
    for name in ("run", "hc"):
        shutil.copytree(originals / name, tmp_path / name, symlinks=True)
    shutil.copy(originals / "g.safetensors", tmp_path / "g.safetensors")
    try:
        if case.setup is not None:
            case.setup(tmp_path)
        before = tree_hash(tmp_path)
        if case.patch is not None:
            case.patch(monkeypatch)
        monkeypatch.chdir(tmp_path / case.cwd)
        argv = case.argv.format(tmp=tmp_path).split(" ")
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse's own checks
            code = stop.code
        monkeypatch.undo()
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.startswith("pbml: error: ") and err.count("\n") == 1, err
        assert case.message in err, err
        assert tree_hash(tmp_path) == before
    finally:
        while HELD:
            HELD.pop().release()


def test_the_catalogue_holds_at_least_60_cases():
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)
