"""Worker processes run numpy's BLAS (and OpenMP) on one thread each, so W workers fill W cores."""

from __future__ import annotations

import os

import pytest

from pbml_control.evaluators import ProcessBackend
from pbml_control.threads import THREAD_ENV_VARS


class ThreadReport:
    """A worker's runner whose job reports the worker's thread pools and environment."""

    def __init__(self) -> None:
        import numpy as np

        np.ones((64, 64)) @ np.ones((64, 64))  # BLAS is loaded and its pool started

    def run(self) -> tuple[dict[str, int], dict[str, str | None]]:
        from pbml_control.threads import blas_thread_counts

        return blas_thread_counts(), {name: os.environ.get(name) for name in THREAD_ENV_VARS}


def make_report() -> ThreadReport:
    return ThreadReport()


@pytest.fixture
def two_thread_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers would start two-thread pools on their own, even on a one-core machine."""
    for name in THREAD_ENV_VARS:
        monkeypatch.setenv(name, "2")


@pytest.mark.usefixtures("two_thread_env")
def test_every_pool_in_a_worker_process_has_one_thread() -> None:
    backend = ProcessBackend(make_report, (), workers=2)
    try:
        reports = backend.run([(), (), ()])
    finally:
        backend.close()
    for counts, env in reports:
        assert counts, "threadpoolctl found no BLAS in the worker"
        assert any("blas" in prefix for prefix in counts), counts
        assert set(counts.values()) == {1}, counts
        assert set(env.values()) == {"1"}, env


def test_limit_blas_threads_pins_an_already_started_pool_in_a_fresh_process() -> None:
    """In a child of its own (not this test process): numpy is loaded before the limit."""
    import subprocess
    import sys

    code = (
        "import numpy as np; np.ones((64, 64)) @ np.ones((64, 64));"
        "from pbml_control.threads import blas_thread_counts, limit_blas_threads;"
        "before = blas_thread_counts(); limit_blas_threads();"
        "print(max(before.values()), max(blas_thread_counts().values()))"
    )
    env = {**os.environ, **dict.fromkeys(THREAD_ENV_VARS, "2")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["2", "1"]
