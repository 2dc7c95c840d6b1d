"""Checkpoints: population and problem state as ``.npz`` (never pickled) plus a JSON record.

``gen_000040.npz`` holds arrays only and is opened with ``allow_pickle=False``, so a file from
a stranger cannot run code. ``gen_000040.json`` is written last and holds the schema version,
the generation, the next member id, the layout, the full config and the SHA-256 of the npz; a
checkpoint counts only when its JSON exists and the hash matches, so a crash mid-write leaves
the previous checkpoint as the latest valid one.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.atomic import atomic_write_bytes, atomic_write_text
from pbml_control.errors import UserError
from pbml_control.genome import ModuleLayout, Population

__all__ = [
    "SCHEMA_VERSION",
    "Checkpoint",
    "CheckpointError",
    "find_checkpoint",
    "latest_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]

SCHEMA_VERSION = 1
_PROBLEM_PREFIX = "problem/"


class CheckpointError(UserError):
    """A checkpoint that is missing, corrupt, or from another schema or config."""


@dataclass(frozen=True)
class Checkpoint:
    """Everything needed to continue a run at ``generation`` (the next one to evaluate)."""

    generation: int
    next_id: int
    population: Population
    problem_state: dict[str, np.ndarray]
    config: dict[str, Any]
    meta: dict[str, Any]


def git_commit() -> str:
    """The package's git commit, or "unknown" outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _stem(generation: int) -> str:
    return f"gen_{generation:06d}"


def save_checkpoint(folder: str | Path, ckpt: Checkpoint, keep: int = 3) -> Path:
    """Write ``ckpt`` atomically into ``folder`` and prune all but the newest ``keep``."""
    folder = Path(folder)
    arrays = {**ckpt.population.arrays()}
    arrays.update({_PROBLEM_PREFIX + k: np.asarray(v) for k, v in ckpt.problem_state.items()})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    npz_path = folder / f"{_stem(ckpt.generation)}.npz"
    atomic_write_bytes(npz_path, data)
    record = {
        "schema_version": SCHEMA_VERSION,
        "generation": ckpt.generation,
        "next_id": ckpt.next_id,
        "layout": ckpt.population.layout.to_json(),
        "config": ckpt.config,
        "sha256": hashlib.sha256(data).hexdigest(),
        **ckpt.meta,
    }
    json_path = folder / f"{_stem(ckpt.generation)}.json"
    atomic_write_text(json_path, json.dumps(record, indent=1, sort_keys=True))
    for old in sorted(folder.glob("gen_*.json"))[:-keep]:
        old.unlink(missing_ok=True)
        old.with_suffix(".npz").unlink(missing_ok=True)
    return json_path


# Integers past this are no generation count or member id a run could reach (and past 2**63
# they no longer fit the int64 arrays that hold ids).
_MAX_COUNTER = 2**53


def _counter(record: dict[str, Any], key: str, name: str) -> int:
    value = record.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_COUNTER:
        raise CheckpointError(
            f"checkpoint {name} is implausible: {key} = {value!r} (expected an integer in "
            f"0..{_MAX_COUNTER})"
        )
    return value


def _read_record(json_path: Path) -> dict[str, Any]:
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {json_path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise CheckpointError(f"checkpoint record is corrupt: {json_path}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {json_path}: {exc.strerror}") from None
    if not isinstance(record, dict) or record.get("schema_version") != SCHEMA_VERSION:
        version = record.get("schema_version") if isinstance(record, dict) else None
        raise CheckpointError(
            f"checkpoint {json_path.name} has schema version {version!r}, "
            f"this pbml-control reads {SCHEMA_VERSION}"
        )
    return record


def _check_plain_npz(data: bytes, name: str) -> None:
    """Refuse, before NumPy allocates anything, an npz we did not write.

    np.savez stores members uncompressed, so a compressed member (a zip bomb inflates a few
    KiB into GiB) is not ours; and each ``.npy`` header's shape must fit in the bytes its
    member really holds (NumPy allocates the header's shape before reading a single value).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                if member.compress_type != zipfile.ZIP_STORED or member.file_size > len(data):
                    raise CheckpointError(
                        f"checkpoint {name} is unreadable: member {member.filename!r} is "
                        "compressed (pbml writes plain npz files)"
                    )
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = header(handle)
                if math.prod(shape) * dtype.itemsize > member.file_size:
                    raise CheckpointError(
                        f"checkpoint {name} is unreadable: member {member.filename!r} claims "
                        f"shape {shape}, more than its {member.file_size} bytes"
                    )
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"checkpoint {name} is unreadable: {exc}") from None


def load_checkpoint(json_path: str | Path) -> Checkpoint:
    """Read and verify one checkpoint; any defect raises :class:`CheckpointError`.

    Beyond the hash: the counters must be plausible (a generation of -5 would drop a run's
    whole metrics history on resume; 1.5e300 overflows), the record must be the one its file
    name says, and the data a plain npz (never a pickle, never a zip bomb).
    """
    json_path = Path(json_path)
    if json_path.suffix == ".npz":
        json_path = json_path.with_suffix(".json")
    record = _read_record(json_path)
    name = json_path.name
    generation = _counter(record, "generation", name)
    next_id = _counter(record, "next_id", name)
    if json_path.stem.startswith("gen_") and json_path.stem != _stem(generation):
        raise CheckpointError(
            f"checkpoint {name} is implausible: its record says generation {generation}"
        )
    if not isinstance(record.get("config"), dict):
        raise CheckpointError(f"checkpoint {name} is implausible: it holds no config table")
    npz_path = json_path.with_suffix(".npz")
    try:
        data = npz_path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint data missing: {npz_path}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint data {npz_path}: {exc.strerror}") from None
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise CheckpointError(f"checkpoint data is corrupt (hash mismatch): {npz_path}")
    _check_plain_npz(data, name)
    try:
        layout = ModuleLayout.from_json(record["layout"])
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        population = Population.from_arrays(
            layout, {k: v for k, v in arrays.items() if not k.startswith(_PROBLEM_PREFIX)}
        )
        problem_state = {
            k[len(_PROBLEM_PREFIX) :]: v for k, v in arrays.items() if k.startswith(_PROBLEM_PREFIX)
        }
    except (KeyError, TypeError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"checkpoint {name} is unreadable: {exc}") from None
    if len(population) and next_id <= int(population.ids.max()):
        raise CheckpointError(
            f"checkpoint {name} is implausible: next_id {next_id} is not above its largest "
            f"member id {int(population.ids.max())}"
        )
    meta_keys = {"schema_version", "generation", "next_id", "layout", "config", "sha256"}
    return Checkpoint(
        generation=generation,
        next_id=next_id,
        population=population,
        problem_state=problem_state,
        config=record["config"],
        meta={k: v for k, v in record.items() if k not in meta_keys},
    )


def find_checkpoint(path: str | Path) -> Path | None:
    """The record a path names: a ``gen_*.json``/``.npz`` file itself, or the newest in a run
    folder or its ``checkpoints/`` folder; None when there is none."""
    path = Path(path)
    if path.is_file():
        return path.with_suffix(".json")
    if not path.is_dir():
        return None
    for folder in (path / "checkpoints", path):
        found = latest_checkpoint(folder)
        if found is not None:
            return found
    return None


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The newest checkpoint record in ``folder``, or None."""
    records = sorted(Path(folder).glob("gen_*.json"))
    return records[-1] if records else None
