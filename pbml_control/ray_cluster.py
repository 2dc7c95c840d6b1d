"""Joining a Ray cluster (``--address``) before a run writes anything.

A typo, a stopped cluster, a firewall or a missing token must be a one-line error (exit 2)
within seconds, not a hang or a traceback at the first generation, after the run folder
exists. ``ray.init`` alone waits for minutes on an address where nothing answers and cannot be
interrupted, so the address is parsed, probed over TCP with a short timeout, and joined once
from a child process that is killed after ``JOIN_TIMEOUT_S`` (which also keeps the C++
client's retry messages off the terminal); only then does this process join. ``auto`` means
the cluster that ``ray start`` started on this machine (or ``RAY_ADDRESS``), never Ray's last
resort of joining any Ray process it finds, which may be another run's private Ray.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from pbml_control.errors import UserError

__all__ = [
    "Address",
    "RayClusterError",
    "RaySession",
    "describe_cluster",
    "join",
    "join_for_run",
    "parse_address",
    "probe",
]

PROBE_TIMEOUT_S = 5.0  # TCP connect to the head: a firewall drops packets, it never refuses
JOIN_TIMEOUT_S = 60.0  # a reachable head lets a driver in within seconds, even on 2 busy cores
FORMS = "auto, HOST:PORT (the head's GCS port, 6379 by default) or ray://HOST:PORT"


class RayClusterError(UserError):
    """A Ray address that is malformed or unreachable, a cluster that does not let us in, or
    one too small for the run."""


@dataclass(frozen=True)
class Address:
    """A parsed Ray address: what to pass to ``ray.init`` and where to probe it."""

    text: str  # given to ray.init
    host: str
    port: int
    client: bool  # ray://: Ray Client, for a driver outside the cluster


def parse_address(address: str) -> Address:
    """``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``; anything else raises a one-line
    RayClusterError."""
    text = address.strip()
    if text == "auto":
        return parse_address(_auto_address())
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    elif scheme != "ray":
        raise RayClusterError(f"Ray address {address!r} has the scheme {scheme}://; use {FORMS}")
    host, _, port = rest.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # [IPv6]:PORT
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c in host for c in "/ "):
        raise RayClusterError(f"{address!r} is not a Ray address; use {FORMS}")
    return Address(text, host, int(port), client=bool(sep))


def _auto_address() -> str:
    """``RAY_ADDRESS``, else the address ``ray start --head`` recorded on this machine."""
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env and env != "auto":
        return env
    root = os.environ.get("RAY_TMPDIR") or os.environ.get("TMPDIR") or "/tmp"
    record = Path(root) / "ray" / "ray_current_cluster"  # where Ray's own `auto` looks first
    try:
        return record.read_text(encoding="utf-8").strip()
    except OSError:
        raise RayClusterError(
            "--address auto: no Ray cluster was started on this machine (`ray start --head` "
            f"writes {record}, and RAY_ADDRESS is unset); give the head's HOST:PORT"
        ) from None


def probe(target: Address, timeout: float = PROBE_TIMEOUT_S) -> None:
    """A TCP connection to the head, or a one-line RayClusterError saying why not."""
    where = f"{target.host}:{target.port}"
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout):
            pass
    except socket.gaierror:
        raise RayClusterError(f"cannot reach the Ray cluster at {where}: unknown host") from None
    except TimeoutError:
        raise RayClusterError(
            f"cannot reach the Ray cluster at {where}: no answer within {timeout:g} s "
            "(a firewall, or the wrong host)"
        ) from None
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise RayClusterError(
            f"cannot reach the Ray cluster at {where}: {reason} (is `ray start --head` "
            "running there, on that port?)"
        ) from None


def _enable_token_auth_for_auto() -> None:
    """Ray 2.60 turns on token authentication for ``ray.init(address="auto")`` when a token is
    on this machine; the resolved HOST:PORT that we pass instead gets the same treatment."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token authentication
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _why(exc: BaseException) -> str:
    """Why ``ray.init`` failed, in one line: Ray wraps the telling error (a missing token, say)
    in a general one, so the whole chain is read."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 8:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any("InvalidAuthToken" in str(e) or "uthentication token" in str(e) for e in chain):
        return (
            "it wants its authentication token (set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN, "
            "or copy the head's ~/.ray/auth_token here)"
        )
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def join(address: str, timeout: float = JOIN_TIMEOUT_S) -> bool:
    """Connect this process to the cluster at ``address``; False if Ray was already initialised
    here (a notebook, a test), whose session is then used. Raises RayClusterError."""
    target = parse_address(address)
    probe(target)
    import logging

    import ray

    from pbml_control.ray_local import sigterm_kept

    if ray.is_initialized():
        return False
    auto = address.strip() == "auto"
    _try_join(target.text, auto, timeout)
    if auto:
        _enable_token_auth_for_auto()
    try:
        with sigterm_kept():
            ray.init(address=target.text, log_to_driver=False, logging_level=logging.ERROR)
    except Exception as exc:
        raise RayClusterError(f"cannot join the Ray cluster at {address}: {_why(exc)}") from None
    return True


def _try_join(address: str, auto: bool, timeout: float) -> None:
    """Join and leave from a child process, killed after ``timeout``; its last line of output
    says why it could not join."""
    command = [sys.executable, "-m", "pbml_control.ray_cluster", address, *(["auto"] * auto)]
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise RayClusterError(
            f"the Ray cluster at {address} did not let this process join within {timeout:g} s "
            "(is it a Ray head's GCS port? A driver outside the cluster needs ray://HOST:10001)"
        ) from None
    if done.returncode != 0:
        lines = [x for x in (done.stdout or done.stderr).splitlines() if x.strip()]
        reason = lines[-1].strip() if lines else f"exit code {done.returncode}"
        raise RayClusterError(f"cannot join the Ray cluster at {address}: {reason}")


def _join_and_leave(address: str, auto: bool) -> int:
    """The child of :func:`_try_join`: 0 if it joined, else 1 with the reason on stdout."""
    import logging

    import ray

    if auto:
        _enable_token_auth_for_auto()
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except Exception as exc:
        print(_why(exc), flush=True)
        return 1
    ray.shutdown()
    return 0


class RaySession:
    """What ``pbml train`` holds while it runs on a cluster it joined: ``close`` disconnects."""

    def __init__(self, joined: bool) -> None:
        self._joined = joined

    def close(self) -> None:
        if self._joined:
            import ray

            ray.shutdown()
            self._joined = False


def join_for_run(problem_params: dict[str, Any]) -> RaySession:
    """Join the cluster a run's ``[problem]`` names, before the run writes anything; a run
    without ``backend = "ray"`` and ``ray_address`` gets a session that does nothing."""
    address = problem_params.get("ray_address") or ""
    if problem_params.get("backend") != "ray" or not address or find_spec("ray") is None:
        return RaySession(False)  # (the problem's own checks say that Ray is missing)
    session = RaySession(join(str(address)))
    import ray

    workers, cpus = problem_params.get("workers", 1), ray.cluster_resources().get("CPU", 0)
    if isinstance(workers, int) and workers > cpus:  # the extra actors would wait for ever
        session.close()
        raise RayClusterError(
            f"problem.workers = {workers} Ray actors need {workers} CPUs, but the cluster at "
            f"{address} has {cpus:g}; set problem.workers to at most {cpus:g}"
        )
    return session


def describe_cluster() -> str:
    """``2 nodes (1a2b3c4d: 1 CPU, ...)``: what the driver joined, for a one-line note."""
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    parts = [f"{n['NodeID'][:8]}: {n.get('Resources', {}).get('CPU', 0):g} CPU" for n in nodes]
    return f"{len(nodes)} node{'s' * (len(nodes) != 1)} ({', '.join(parts)})"


if __name__ == "__main__":
    sys.exit(_join_and_leave(sys.argv[1], auto=sys.argv[2:] == ["auto"]))
