"""One compute thread per worker process: W workers on W cores must not start W thread pools each.

Every worker process (the process backend's, a Ray actor) loads numpy, whose OpenBLAS starts
a thread pool as wide as the machine; torch, if loaded, brings an OpenMP pool too. With many
workers those pools oversubscribe the cores and throughput falls. A worker calls
:func:`limit_blas_threads` once when it starts.

``threadpoolctl`` does the work because it limits pools that are *already running*: a spawned
worker unpickles its setup function, which imports numpy, before its initializer runs, so
setting ``OMP_NUM_THREADS`` there would be too late for numpy. The environment variables are
set as well, for libraries the worker loads later (and for any processes it starts). OpenMP
limits are per calling thread: call this from the thread that will run the jobs (the process
pool's initializer and a Ray actor's ``__init__`` both do).

The limit does not change results: the policy's matrix products split their output rows over
threads, never the sum behind one output, so each number is computed the same way.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from threadpoolctl import threadpool_info, threadpool_limits

__all__ = ["THREAD_ENV_VARS", "blas_thread_counts", "limit_blas_threads"]

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

# Kept so that the original limits could be restored (``restore_original_limits``); the limit
# itself holds for the life of the process.
_LIMITER: list[Any] = []


def limit_blas_threads() -> None:
    """Pin BLAS, OpenMP (and torch, if loaded) in this process to one thread; idempotent."""
    for name in THREAD_ENV_VARS:
        os.environ[name] = "1"
    _LIMITER[:] = [threadpool_limits(limits=1)]
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def blas_thread_counts() -> dict[str, int]:
    """Threads of each loaded pool, by library prefix (``libscipy_openblas``: 1): for tests."""
    return {pool["prefix"]: pool["num_threads"] for pool in threadpool_info()}
