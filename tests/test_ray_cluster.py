"""Ray beyond one process: a bad address fails before anything is written, nothing Ray starts
outlives the run, and a cluster of two Ray nodes gives the local backend's results.

Every run here is ``pbml train`` in a child process started in a session of its own, so that
"everything it started" is exactly the processes of that session (Ray does not leave its
session), listed from /proc. The two nodes are two ``ray start`` commands, each in its own
session, with its own temp folder and CPU, joined over TCP as on two machines.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_process import CHEETAH_CONFIG, TINY_CHEETAH

from pbml_control.ray_local import kill_until_gone

if importlib.util.find_spec("ray") is None:
    pytest.skip(
        'the ray extra is not installed: pip install "pbml-control[ray]"', allow_module_level=True
    )
if not Path("/proc").is_dir():
    pytest.skip("lists processes from /proc (Linux)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
CONFIG, TINY = CHEETAH_CONFIG, TINY_CHEETAH
RAY = str(Path(sys.executable).with_name("ray"))


def train_command(out: Path, *args: str) -> list[str]:
    sets = [a for s in TINY for a in ("--set", s)]
    base = [sys.executable, "-m", "pbml_control.cli", "train", CONFIG, "--quiet", "--out", str(out)]
    return [*base, *sets, *args]


def session_processes(sid: int) -> dict[int, str]:
    """Live processes of session ``sid`` (zombies excluded), by pid, with their command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found[int(entry.name)] = cmdline.strip() or f"[{entry.name}]"
    return found


def kill_session(sid: int, patience: float = 30.0) -> dict[int, str]:
    """SIGKILL every process of the session; what was still there (empty: it had ended)."""
    left = session_processes(sid)
    kill_until_gone(lambda: session_processes(sid), patience)
    return left


def wait_until_gone(sid: int, patience: float = 60.0) -> dict[int, str]:
    """The session's processes still alive after ``patience`` seconds (a liveness bound for a
    loaded machine, not a timing claim): empty when everything ended."""
    deadline = time.monotonic() + patience
    while (alive := session_processes(sid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return alive


# --- a bad address -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--address", "127.0.0.1:1"], "cannot reach the Ray cluster at 127.0.0.1:1: connection"),
        (["--address", "not an address"], "'not an address' is not a Ray address; use auto,"),
        (["--address", "head:port"], "'head:port' is not a Ray address"),
        (["--address", "http://head:6379"], "Ray address 'http://head:6379' has the scheme"),
        (["--address", "auto"], "--address auto: no Ray cluster was started on this machine"),
        (
            ["--set", 'problem.backend="ray"', "--set", 'problem.ray_address="ray://127.0.0.1:1"'],
            "cannot reach the Ray cluster at 127.0.0.1:1: connection refused",
        ),
    ],
)
def test_a_bad_address_is_one_line_and_exit_2_before_anything_is_written(tmp_path, args, message):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_TMPDIR"] = str(tmp_path / "no-ray")  # `auto` finds no `ray start` record here
    out = tmp_path / "run"
    done = subprocess.run(
        train_command(out, *args),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()], done.stderr
    assert done.stderr.startswith("pbml: error: ") and message in done.stderr
    assert not out.exists()


def test_an_address_that_never_answers_is_given_up_on(tmp_path):
    """A port that accepts connections but is no Ray head: ray.init would wait for minutes."""
    silent = socket.create_server(("0.0.0.0", 0))  # accepted by the kernel, never answered
    port = silent.getsockname()[1]
    script = (
        "import sys\n"
        "from pbml_control.ray_cluster import RayClusterError, join\n"
        "try:\n"
        f"    join('127.0.0.1:{port}', timeout=3)\n"
        "except RayClusterError as exc:\n"
        "    print(exc, file=sys.stderr)\n"
        "    sys.exit(2)\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
        )
    finally:
        silent.close()
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()], done.stderr
    assert f"the Ray cluster at 127.0.0.1:{port} did not let this process join within 3 s" in (
        done.stderr
    )


# --- nothing outlives the run ------------------------------------------------------------


def start_ray_run(out: Path) -> subprocess.Popen:
    """A long local-Ray run in a session of its own, once its first generation is written."""
    long_run = ["--backend", "ray", "--set", "problem.workers=1", "--set", "generations=100000"]
    run = subprocess.Popen(
        train_command(out, *long_run),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 300
    metrics = out / "metrics.jsonl"
    while run.poll() is None and time.monotonic() < deadline:
        if metrics.exists() and metrics.stat().st_size > 0:
            break
        time.sleep(0.5)
    return run


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_nothing_ray_started_outlives_the_driver(tmp_path, how):
    """SIGKILL: the watchdog kills the private Ray (Ray's agents used to live on, hung on the
    dead GCS); SIGTERM: a checkpoint, exit 130 and a clean shutdown (ray.init used to turn
    SIGTERM into an immediate exit)."""
    run = start_ray_run(tmp_path / "run")
    sid = run.pid  # start_new_session: the child leads its own session
    try:
        started = session_processes(sid)
        assert run.poll() is None, run.communicate()[1]
        assert any("raylet" in cmd for cmd in started.values()), started
        assert any("DashboardAgent" in cmd for cmd in started.values()), started
        run.send_signal(getattr(signal, how))
        _, err = run.communicate(timeout=300)
        left = wait_until_gone(sid)
        assert not left, f"still running after the driver ended: {left}"
        if how == "SIGTERM":
            assert run.returncode == 130, err
            assert "checkpoint saved" in err
    finally:
        run.kill()
        kill_session(sid)
        # The private Ray's folder (its session folder ends with the driver's pid).
        folders = {
            p.parent for p in Path(tempfile.gettempdir()).glob(f"pbml-ray-*/session_*_{sid}")
        }
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    assert not folders, f"left behind: {folders}"


def test_the_watchdog_kills_what_a_killed_driver_left_behind(tmp_path):
    """Without Ray: a driver starts the watchdog and a process that holds a file in the
    watched folder, as Ray's agents do; once the driver is SIGKILLed, both go, and so does
    the folder. (A process of the same session that holds no file there is left alone.)"""
    script = (
        "import subprocess, sys, tempfile, time\n"
        "from pbml_control.ray_local import _start_reaper\n"
        "folder = tempfile.mkdtemp(prefix='pbml-ray-', dir=sys.argv[1])\n"
        "_start_reaper(folder)\n"
        "hold = \"import sys, time; f = open(sys.argv[1] + '/log', 'w'); time.sleep(600)\"\n"
        "subprocess.Popen([sys.executable, '-c', hold, folder])\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print(folder, flush=True)\n"
        "time.sleep(600)\n"
    )
    driver = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=ROOT,
    )
    sid = driver.pid
    try:
        folder = Path(driver.stdout.readline().strip())
        deadline = time.monotonic() + 60
        while not (folder / "log").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(session_processes(sid)) == 4, session_processes(sid)  # + watchdog, 2 others
        driver.kill()
        driver.wait()
        deadline = time.monotonic() + 60
        while (folder.exists() or len(session_processes(sid)) > 1) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = session_processes(sid)
        assert not folder.exists()
        assert len(left) == 1 and "sleep(600)" in next(iter(left.values())), left
    finally:
        driver.kill()
        kill_session(sid)


# --- two Ray nodes -----------------------------------------------------------------------


@dataclass
class Cluster:
    address: str
    env: dict[str, str]
    folders: list[Path]  # each node's --temp-dir


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def _ray_start(args: list[str], env: dict[str, str], sessions: list[int]) -> None:
    """``ray start ...`` in a session of its own, which every process of that node inherits."""
    start = subprocess.Popen(
        [RAY, "start", "--num-cpus=1", "--disable-usage-stats", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    sessions.append(start.pid)
    output, _ = start.communicate(timeout=300)
    assert start.returncode == 0, output


@pytest.fixture
def two_nodes() -> Iterator[Cluster]:
    """A head and a worker node, one CPU each, own temp folders and ports; token auth on, with
    a token of its own (``~/.ray`` is not touched). Torn down by killing both nodes' sessions:
    ``ray stop`` would stop every Ray on this machine, not only these two nodes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
    folders = [Path(tempfile.mkdtemp(prefix="pbml-node-")) for _ in range(2)]
    sessions: list[int] = []
    port = _free_port()
    try:
        _ray_start(
            [
                "--head",
                f"--port={port}",
                "--include-dashboard=false",
                f"--ray-client-server-port={_free_port()}",
                f"--dashboard-agent-listen-port={_free_port()}",
                f"--temp-dir={folders[0]}",
            ],
            env,
            sessions,
        )
        address = (folders[0] / "ray_current_cluster").read_text().strip()
        _ray_start(
            [
                f"--address={address}",
                f"--dashboard-agent-listen-port={_free_port()}",
                f"--temp-dir={folders[1]}",
            ],
            env,
            sessions,
        )
        yield Cluster(address, env, folders)
    finally:
        for sid in sessions:
            kill_session(sid)
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def _ran_an_actor(folder: Path) -> bool:
    """The node's own logs show a pbml actor (Ray names the actor class in each worker log)."""
    logs = folder.glob("session_*/logs/worker-*.out")
    return any(":actor_name:_RayWorker" in log.read_text(errors="replace") for log in logs)


def _checkpoints(out: Path) -> dict[str, bytes]:
    """Checkpoint files by name; the JSON records without the two keys that name the backend."""
    files = {}
    for path in sorted((out / "checkpoints").iterdir()):
        text = path.read_bytes()
        if path.suffix == ".json":
            lines = text.decode().splitlines()
            text = "\n".join(x for x in lines if '"backend"' not in x and "ray_address" not in x)
            text = text.encode()
        files[path.name] = text
    return files


@pytest.mark.slow
def test_two_node_cluster_gives_the_local_backends_results(two_nodes, tmp_path):
    """``pbml train --backend ray --address HEAD`` on two nodes, one actor on each, against two
    local worker processes: the same metrics.jsonl and checkpoints, byte for byte. A driver
    with the wrong token is refused."""
    workers = ["--set", "problem.workers=2"]
    local = subprocess.run(
        [*train_command(tmp_path / "local"), *workers], capture_output=True, text=True, cwd=ROOT
    )
    assert local.returncode == 0, local.stderr
    driver = subprocess.Popen(
        [*train_command(tmp_path / "cluster"), *workers, "--address", two_nodes.address],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=two_nodes.env,
        start_new_session=True,
        cwd=ROOT,
    )
    try:
        _, err = driver.communicate(timeout=600)
    finally:
        driver.kill()
    assert driver.returncode == 0, err
    assert not wait_until_gone(driver.pid), "the driver left processes behind"
    note = next(line for line in err.splitlines() if "Ray cluster at" in line)
    assert "2 nodes" in note and "2 actors on 2 nodes" in note, note
    assert all(_ran_an_actor(folder) for folder in two_nodes.folders)
    metrics = [(tmp_path / run / "metrics.jsonl").read_bytes() for run in ("local", "cluster")]
    assert metrics[0] == metrics[1]
    assert _checkpoints(tmp_path / "local") == _checkpoints(tmp_path / "cluster")
    # The same cluster with the wrong token: refused before anything is written.
    wrong = {**two_nodes.env, "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    refused = subprocess.run(
        [*train_command(tmp_path / "refused"), *workers, "--address", two_nodes.address],
        env=wrong,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.splitlines() == [refused.stderr.strip()], refused.stderr
    assert "it wants its authentication token" in refused.stderr
    assert not (tmp_path / "refused").exists()


@pytest.mark.slow
def test_two_node_overhead_against_local_processes(two_nodes, tmp_path):
    """The cost of two Ray nodes against two local worker processes, in the same ``pbml
    train`` (HalfCheetahVel, 64 members x 1000 steps, hidden (64, 64)): runs alternate between
    the backends, generation times come from timing.jsonl, generation 0 (which starts the
    workers) left out.

    Run with ``pytest -m slow tests/test_ray_cluster.py -k overhead -s``; docs/cluster.md quotes
    the ratios. Timings are printed, not asserted; the test asserts equal metrics.
    """
    sets = [
        "generations=6",
        "population_size=64",
        "checkpoint_every=100",
        "problem.hidden=[64,64]",
        "problem.episodes=1",
        "problem.max_episode_steps=1000",
        "problem.workers=2",
    ]
    base = [sys.executable, "-m", "pbml_control.cli", "train", CONFIG, "--quiet"]
    base += [a for s in sets for a in ("--set", s)]
    backends = {"local": [], "cluster": ["--address", two_nodes.address]}
    seconds: dict[str, list[float]] = {name: [] for name in backends}
    metrics = set()
    for round_ in range(2):
        for name, args in backends.items():
            out = tmp_path / f"{name}{round_}"
            done = subprocess.run(
                [*base, "--out", str(out), *args],
                capture_output=True,
                text=True,
                env=two_nodes.env,
                cwd=ROOT,
            )
            assert done.returncode == 0, done.stderr
            rows = [json.loads(line) for line in (out / "timing.jsonl").read_text().splitlines()]
            seconds[name] += [row["eval_seconds"] for row in rows if row["generation"] > 0]
            metrics.add((out / "metrics.jsonl").read_bytes())
    best = {name: min(s) for name, s in seconds.items()}
    median = {name: statistics.median(s) for name, s in seconds.items()}
    print(
        f"\n64 members x 1000 steps, 2 workers, {len(seconds['local'])} generations each: "
        f"local {median['local']:.2f} s, cluster {median['cluster']:.2f} s (median); "
        f"ratio median {median['cluster'] / median['local']:.3f}, "
        f"best {best['cluster'] / best['local']:.3f}; load average {os.getloadavg()[0]:.1f}"
    )
    assert len(metrics) == 1
