"""Small statistics shared by the experiments: mean and 95% t-interval over seeds.

The t quantiles are tabulated (scipy is not a dependency); beyond df = 30 a Cornish-Fisher
expansion of the normal quantile is within 1e-3 of the exact value.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

__all__ = ["compact_json", "mean_ci", "t975"]

_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


def t975(df: int) -> float:
    """Two-sided 95% Student-t quantile (no scipy here); Cornish-Fisher beyond df = 30."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% t-interval over ``axis`` (the seeds)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, mean * np.nan, mean * np.nan
    half = t975(n - 1) * values.std(axis=axis, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def compact_json(data: dict[str, Any], sort_keys: bool = False, allow_nan: bool = False) -> str:
    """Indented JSON with every list of numbers on one line: readable, and a third the size.

    Only lists that ``json.dumps`` broke over lines are joined (strings never hold raw
    newlines). NaN is refused unless ``allow_nan``: strict JSON readers reject it.
    """
    text = json.dumps(data, indent=1, sort_keys=sort_keys, allow_nan=allow_nan)
    numbers = r"\[\n[\s0-9.eE+\-,nul]*\]"
    return re.sub(numbers, lambda m: re.sub(r"\s+", "", m.group(0)), text) + "\n"
