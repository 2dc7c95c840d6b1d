"""TensorBoard event files for a run (``pbml train --tensorboard``), in ``RUN/tb/``.

TensorBoard is what RL users already watch runs with, so each generation's metrics row is
written there too: every number of the row as a scalar (``fitness/mean``, ``fitness/best``,
``sigma/<module>``, ``goal/0``, ...), the env steps per second, each module's sigma over the
members as a histogram (``sigma_members/<module>``), and each goal shift as text. The row is
only read: metrics.jsonl and the checkpoints are the same with or without TensorBoard.

A resumed run appends a new event file to the same ``tb/`` and starts it with a
``SessionLog.START`` at the generation it resumes from, which tells TensorBoard to drop what a
killed run wrote past its checkpoint. Records are framed by TensorBoard's own ``RecordWriter``
(``tensorboard`` package, the optional extra ``pbml-control[tensorboard]``; no torch, no
TensorFlow) but written here, one ``os.write`` per generation, without its background thread:
a Ctrl-C that landed inside that thread's queue left ``close()`` waiting for the thread for good.
A write to a regular file is not cut short by a signal, so an event file ends on a whole record.
"""

from __future__ import annotations

import io
import math
import os
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.errors import UserError

__all__ = ["TB_FOLDER", "TensorBoardLog", "require", "scalar_values"]

TB_FOLDER = "tb"
HISTOGRAM_BINS = 30
INSTALL_HINT = "pip install 'pbml-control[tensorboard]'"


def require() -> None:
    """Refuse ``--tensorboard`` in one line, before anything is written, when the package
    that writes (and shows) event files is missing."""
    try:
        import tensorboard.summary.writer.event_file_writer  # noqa: F401
    except ImportError:
        raise UserError(f"--tensorboard needs the tensorboard package: {INSTALL_HINT}") from None


def _tag(key: str) -> str:
    return f"fitness/{key.removeprefix('fitness_')}" if key.startswith("fitness_") else key


def scalar_values(row: dict[str, Any]) -> dict[str, float]:
    """The scalars a metrics row becomes: ``{tag: value}`` for every finite number in it
    (``fitness_mean`` -> ``fitness/mean``; a list such as ``goal`` -> ``goal/0``, ...)."""
    out: dict[str, float] = {}
    for key, value in row.items():
        if key == "generation" or isinstance(value, bool | str) or value is None:
            continue
        if isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, int | float) and math.isfinite(item):
                    out[f"{_tag(key)}/{i}"] = float(item)
        elif isinstance(value, int | float) and math.isfinite(value):
            out[_tag(key)] = float(value)
    return out


class TensorBoardLog:
    """One run's event-file writer; :meth:`write` once per generation, then :meth:`close`."""

    def __init__(self, run_dir: str | Path, start_generation: int) -> None:
        require()
        from tensorboard.compat.proto import event_pb2

        self._pb = event_pb2
        folder = Path(run_dir) / TB_FOLDER
        folder.mkdir(exist_ok=True)
        # TensorBoard reads a folder's event files in name order: seconds, then nanoseconds,
        # so a resume's file sorts after the one it continues, even within the same second.
        ns = time.time_ns()
        now = ns / 1e9
        stamp = f"{ns // 10**9:010d}.{ns % 10**9:09d}"
        name = f"events.out.tfevents.{stamp}.{socket.gethostname()}.{os.getpid()}.pbml"
        self._fd: int | None = os.open(
            folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644
        )
        start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
        self._add(
            event_pb2.Event(wall_time=now, file_version="brain.Event:2"),
            event_pb2.Event(wall_time=now, step=start_generation, session_log=start),
        )

    def _add(self, *events: Any) -> None:
        """Frame the events as TFRecords and write them with one system call."""
        from tensorboard.summary.writer.record_writer import RecordWriter

        buffer = io.BytesIO()
        records = RecordWriter(buffer)
        for event in events:
            records.write(event.SerializeToString())
        if self._fd is not None:
            os.write(self._fd, buffer.getvalue())

    def write(
        self, row: dict[str, Any], seconds: float, log_sigma: np.ndarray, modules: tuple[str, ...]
    ) -> None:
        """One generation: ``row`` as written to metrics.jsonl, the evaluation's wall-clock
        seconds, and the population's ``log_sigma`` (members x modules)."""
        from tensorboard.compat.proto.summary_pb2 import Summary

        step = int(row["generation"])
        values = [Summary.Value(tag=t, simple_value=v) for t, v in scalar_values(row).items()]
        steps = row.get("env_steps")
        if isinstance(steps, int | float) and steps and seconds > 0:
            speed = steps / seconds
            values.append(Summary.Value(tag="speed/env_steps_per_second", simple_value=speed))
        sigma = np.exp(np.asarray(log_sigma, dtype=np.float64))
        for k, name in enumerate(modules):
            values.append(Summary.Value(tag=f"sigma_members/{name}", histo=_histogram(sigma[:, k])))
        if row.get("goal_shift") or step == 0:
            what = "goal shifts to" if row.get("goal_shift") else "first goal"
            values.append(_text("goal_shifts", f"generation {step}: {what} {row.get('goal')}"))
        self._add(self._pb.Event(wall_time=time.time(), step=step, summary=Summary(value=values)))

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _histogram(values: np.ndarray) -> Any:
    from tensorboard.compat.proto.summary_pb2 import HistogramProto

    values = values[np.isfinite(values)]
    if not values.size:
        return HistogramProto()
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    return HistogramProto(
        min=float(values.min()),
        max=float(values.max()),
        num=float(values.size),
        sum=float(values.sum()),
        sum_squares=float(np.square(values).sum()),
        bucket_limit=[float(e) for e in edges[1:]],
        bucket=[float(c) for c in counts],
    )


def _text(tag: str, text: str) -> Any:
    """A text summary the way TensorBoard's text plugin reads it (a string tensor)."""
    from tensorboard.compat.proto import types_pb2
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

    tensor = TensorProto(
        dtype=types_pb2.DT_STRING,
        string_val=[text.encode("utf-8")],
        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]),
    )
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
    return Summary.Value(tag=tag, metadata=metadata, tensor=tensor)
