"""Ctrl-C and SIGTERM: one clean stop, however many signals arrive.

The first SIGINT or SIGTERM becomes a ``KeyboardInterrupt`` (so ``train`` saves a checkpoint and
every writer removes its temporary file); every later one is ignored while that clean-up runs.
Without that, a second Ctrl-C landed in the worker pool's shutdown, printed a traceback and hung
until a third one. Worker processes start with SIGINT blocked, so a Ctrl-C sent to the whole
process group stops only the parent, which shuts its workers down itself (no worker tracebacks);
the standard library's resource tracker starts its process the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

__all__ = ["ignore_interrupts", "interrupts_as_exceptions", "raise_if_stopped", "spawn_context"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


_stopped = False  # set by the first signal: the process is on its way out
_depth = 0  # how many interrupts_as_exceptions blocks are open on the main thread


def _stop_once(signum: int, frame: Any) -> None:
    """Raise KeyboardInterrupt once; from now on both signals are ignored."""
    global _stopped
    _stopped = True
    for sig in _SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


def _reraise_lost_stop(args: Any) -> None:
    """A KeyboardInterrupt raised where Python cannot raise (a weakref callback inside the
    import machinery, a ``__del__``) would be printed as "Exception ignored" and lost: raise it
    again at the next point where the main thread can take it."""
    if issubclass(args.exc_type, KeyboardInterrupt) and _on_main_thread():
        signal.signal(signal.SIGINT, _stop_once)
        signal.raise_signal(signal.SIGINT)
        return
    sys.__unraisablehook__(args)


def raise_if_stopped() -> None:
    """Raise KeyboardInterrupt if a signal has stopped the open block but its exception never
    arrived, because C code that clears errors (``PyObject_HasAttr`` over a Python
    ``__getattr__``, for one) swallowed it; the process would otherwise carry on with both
    signals ignored. Called at the points a long
    command passes often (each generation) and when a nested block opens."""
    if _stopped and _depth > 0 and _on_main_thread():
        raise KeyboardInterrupt


@contextlib.contextmanager
def interrupts_as_exceptions(ends_process: bool = False) -> Iterator[None]:
    """Within the block the first SIGINT/SIGTERM raises KeyboardInterrupt, later ones are
    ignored; the previous handlers come back on exit. A no-op off the main thread.

    ``ends_process`` (the CLI): once a signal has stopped the block, both signals stay ignored
    after it too, so a second Ctrl-C that lands while the process exits cannot kill it with
    Python's default handler (exit -2 instead of 130).
    """
    global _stopped, _depth
    if not _on_main_thread():
        yield
        return
    if _depth == 0:
        _stopped = False  # a new outermost block: an earlier, finished stop is history
    else:
        raise_if_stopped()  # the enclosing block was stopped and never heard of it
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _reraise_lost_stop
    for sig in _SIGNALS:
        signal.signal(sig, _stop_once)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        for sig, handler in previous.items():
            if _stopped and (ends_process or handler is _stop_once):
                handler = signal.SIG_IGN  # stopped once: an enclosing block is not re-armed
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        sys.unraisablehook = previous_hook


def ignore_interrupts() -> None:
    """From here on (until the enclosing :func:`interrupts_as_exceptions` exits) ignore both
    signals: for clean-up that must not be cut short, such as shutting a worker pool down."""
    if _on_main_thread():
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


class _SigintBlockedProcess(SpawnProcess):
    """A spawned process that starts with SIGINT blocked (the mask survives exec)."""

    def start(self) -> None:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _SigintBlockedContext(SpawnContext):
    Process = _SigintBlockedProcess


def spawn_context() -> SpawnContext:
    """The ``spawn`` multiprocessing context, with SIGINT blocked in every child."""
    return _SigintBlockedContext()


def exit_when_orphaned(parent: int, interval: float = 1.0) -> None:
    """In a worker process: exit once ``parent`` is gone (a thread checks every ``interval``).

    A pool worker whose parent was killed (SIGKILL, or SIGTERM with no handler) would otherwise
    wait on its job queue forever, or, if it was running a job, finish a job nobody collects
    while holding a core.
    """

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
