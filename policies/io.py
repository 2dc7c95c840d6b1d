"""Save and load one genome as a safetensors file, never with pickle.

A genome file from a stranger must not be able to run code (ARCHITECTURE.md, "Files"), so the
format is safetensors: an 8-byte header length, a JSON header, then raw little-endian arrays.
Loading parses the JSON header itself and hands the rest to ``safetensors.numpy.load``, which
only ever builds numeric arrays; nothing in this module calls ``pickle`` or ``np.load``.

Layout of a file (schema version 1):
- tensors ``params (D,)``, ``log_sigma (M,)``, ``logit_p (M,)`` (float64, written by
  ``pbml_control.genome.Genome.to_arrays``, the schema of a checkpoint's population too) and,
  when present, ``normalizer.count``, ``normalizer.mean``, ``normalizer.m2``, ``normalizer.clip``,
  ``normalizer.eps`` (see :mod:`.normalizer`);
- header metadata (strings): ``format``, ``schema_version``, ``spec`` and ``layout`` (JSON), and
  ``metadata`` (the caller's dict as JSON: config, git commit, seeds, fitness...).

Writes are atomic: a temporary file in the same folder is written, flushed, fsynced and then
``os.replace``-d over the target, so a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import safetensors.numpy

from pbml_control.atomic import atomic_write_bytes
from pbml_control.genome import GENOME_ARRAYS, Genome, ModuleLayout

from .normalizer import NORMALIZER_KEYS, check_normalizer_state
from .spec import PolicySpec

__all__ = ["FORMAT", "SCHEMA_VERSION", "LoadedGenome", "load_genome", "save_genome"]

FORMAT = "pbml-control/genome"
SCHEMA_VERSION = 1
_MAX_HEADER = 100_000_000  # safetensors' own limit on the JSON header


class LoadedGenome(NamedTuple):
    """A genome file: the genome's arrays (:attr:`genome`) with what the file adds around
    them, the policy spec, the observation normaliser and the caller's metadata."""

    spec: PolicySpec
    genome: Genome
    normalizer_state: dict[str, np.ndarray] | None
    metadata: dict[str, Any]

    @property
    def params(self) -> np.ndarray:
        return self.genome.params

    @property
    def log_sigma(self) -> np.ndarray:
        return self.genome.log_sigma

    @property
    def logit_p(self) -> np.ndarray:
        return self.genome.logit_p


def _check_shapes(
    spec: PolicySpec,
    params: np.ndarray,
    log_sigma: np.ndarray,
    logit_p: np.ndarray,
    normalizer_state: Mapping[str, np.ndarray] | None,
) -> None:
    m = spec.layout().num_modules
    for name, arr, shape in (
        ("params", params, (spec.num_params,)),
        ("log_sigma", log_sigma, (m,)),
        ("logit_p", logit_p, (m,)),
    ):
        if np.shape(arr) != shape:
            raise ValueError(f"{name} has shape {np.shape(arr)}, expected {shape} for this spec")
    if normalizer_state is not None:
        check_normalizer_state(dict(normalizer_state), spec.obs_dim)


def save_genome(
    path: str | os.PathLike[str],
    spec: PolicySpec,
    params: np.ndarray,
    log_sigma: np.ndarray,
    logit_p: np.ndarray,
    normalizer_state: Mapping[str, np.ndarray] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write one genome atomically; raises ValueError on shapes that do not match ``spec``."""
    path = Path(path)
    _check_shapes(spec, params, log_sigma, logit_p, normalizer_state)
    genome = Genome(spec.layout(), params, log_sigma, logit_p)
    tensors = genome.to_arrays()  # the method's schema (pbml_control.genome), as in checkpoints
    if normalizer_state is not None:
        for key in NORMALIZER_KEYS:
            # np.array, not np.ascontiguousarray: the latter turns 0-d arrays into (1,)
            tensors[f"normalizer.{key}"] = np.array(
                normalizer_state[key], dtype=np.float64, order="C"
            )
    try:
        user = json.dumps(dict(metadata or {}), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"save_genome: metadata is not plain JSON: {exc}") from None
    header = {
        "format": FORMAT,
        "schema_version": str(SCHEMA_VERSION),
        "spec": json.dumps(spec.to_json(), sort_keys=True),
        "layout": json.dumps(genome.layout.to_json()),
        "metadata": user,
    }
    data = safetensors.numpy.save(tensors, metadata=header)
    atomic_write_bytes(path, data)
    return path


def _read_header(data: bytes) -> dict[str, Any]:
    if len(data) < 8:
        raise ValueError("file is too short to be safetensors")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(_MAX_HEADER, len(data) - 8):
        raise ValueError(
            f"header length {n} does not fit in the file (truncated or not safetensors)"
        )
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("header is not valid JSON (corrupt or not safetensors)") from None
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    return header


def load_genome(path: str | os.PathLike[str]) -> LoadedGenome:
    """Read and validate a genome file; any problem is a one-line ValueError naming the file."""
    path = Path(path)
    try:
        return _load(path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _load(data: bytes) -> LoadedGenome:
    header = _read_header(data)
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file (header 'format' missing or different)")
    version = meta.get("schema_version")
    if version != str(SCHEMA_VERSION):
        raise ValueError(f"schema version {version!r} is not supported (expected {SCHEMA_VERSION})")
    try:
        spec = PolicySpec.from_json(json.loads(meta["spec"]))
        layout = ModuleLayout.from_json(json.loads(meta["layout"]))
        user = json.loads(meta["metadata"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"bad header metadata ({type(exc).__name__}: {exc})") from None
    if not isinstance(user, dict):
        raise ValueError("header 'metadata' is not a JSON object")
    if layout != spec.layout():
        raise ValueError("stored layout does not match the stored policy spec")
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as exc:  # safetensors raises its own error types on corrupt data
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"corrupt tensor data ({msg})") from None
    for key in GENOME_ARRAYS:
        if key not in tensors:
            raise ValueError(f"tensor {key!r} is missing")
    bad = sorted(k for k, v in tensors.items() if v.dtype != np.float64)
    if bad:
        raise ValueError(f"tensor(s) {bad} are not float64")
    norm_keys = sorted(k for k in tensors if k.startswith("normalizer."))
    normalizer_state = (
        {k.removeprefix("normalizer."): tensors[k] for k in norm_keys} if norm_keys else None
    )
    unknown = sorted(set(tensors) - set(GENOME_ARRAYS) - set(norm_keys))
    if unknown:
        raise ValueError(f"unknown tensor(s) {unknown}")
    _check_shapes(
        spec, tensors["params"], tensors["log_sigma"], tensors["logit_p"], normalizer_state
    )
    return LoadedGenome(spec, Genome.from_arrays(layout, tensors), normalizer_state, user)
