"""Deterministic random streams.

Every random draw in a run comes from a Generator derived from (run seed, generation, member,
purpose). Results therefore do not depend on the number of workers or on the order in which
work is done, and a resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["episode_seeds", "generator", "stream_id"]


def stream_id(purpose: str) -> int:
    """A stable integer for a purpose name (``hash()`` is salted per process, crc32 is not)."""
    return zlib.crc32(purpose.encode("utf-8"))


def generator(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """Generator for ``purpose`` at integer coordinates ``keys`` (generation, member, ...)."""
    entropy = [int(seed) & 0xFFFFFFFF, stream_id(purpose), *(int(k) & 0xFFFFFFFFFFFF for k in keys)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def episode_seeds(seed: int, generation: int, count: int) -> list[int]:
    """Episode seeds shared by every member in one generation (same goal, same seeds)."""
    rng = generator(seed, "episodes", generation)
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=count)]
