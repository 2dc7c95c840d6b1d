"""The experiments' one statistics module: intervals over seeds, paired differences, shares,
and times to a threshold that some seeds never reach.

- :func:`mean_ci`: mean and 95% Student-t interval over seeds (the axis of an array, or a list
  with missing values left out). The t quantiles are tabulated (scipy is not a dependency);
  beyond df = 30 a Cornish-Fisher expansion of the normal quantile is within 1e-3 of exact.
- :func:`paired_difference`: ``a - b`` seed by seed (arms of one seed share goals and episode
  seeds), and its interval.
- :func:`wilson_interval`: a share in [0, 1] (successes out of trials); unlike a t-interval it
  never leaves [0, 1] and is not degenerate at 0 or 1.
- Times to a threshold are *censored*: a seed that never reaches it within the horizon only
  says "later than the horizon". Counting it as horizon + 1 and averaging biases the mean and
  its interval. :func:`kaplan_meier` estimates the share still below the threshold over time
  (and its median), :func:`logrank_test` compares two independent arms, and
  :func:`paired_censored_test` compares two arms seed by seed: a pair counts for the arm that
  is known to be first, and an exact sign test on those pairs gives the p-value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "Interval",
    "compact_json",
    "format_ci",
    "kaplan_meier",
    "logrank_test",
    "mean_ci",
    "paired_censored_test",
    "paired_difference",
    "summary",
    "t975",
    "time_to_threshold",
    "wilson_interval",
]

_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip
Z975 = 1.959964


class Interval(NamedTuple):
    """A point estimate and its 95% interval; floats, or arrays for curves over seeds."""

    mean: Any
    lo: Any
    hi: Any


def t975(df: int) -> float:
    """Two-sided 95% Student-t quantile (no scipy here); Cornish-Fisher beyond df = 30."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def _finite(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """The finite values of a 1-D sequence; None, NaN and infinities are missing."""
    arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return arr[np.isfinite(arr)]


def mean_ci(values: Any, axis: int = 0, drop_missing: bool = False) -> Interval:
    """Mean and 95% t-interval over ``axis`` (the seeds); NaN bounds below two seeds.

    ``drop_missing`` (1-D only) leaves out None and non-finite values first; with none left
    the mean is NaN too.
    """
    if drop_missing:
        arr = _finite(values)
        if arr.size == 0:
            return Interval(math.nan, math.nan, math.nan)
    else:
        arr = np.asarray(values, dtype=np.float64)
    n = arr.shape[axis]
    mean = arr.mean(axis=axis)
    if n < 2:
        return Interval(mean, mean * np.nan, mean * np.nan)
    half = t975(n - 1) * arr.std(axis=axis, ddof=1) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half)


def _or_none(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def summary(values: Sequence[float | None], lo: str = "lo", hi: str = "hi") -> dict[str, Any]:
    """``{"mean", lo, hi, "n"}`` over the finite values, None where undefined (JSON-ready)."""
    m, low, high = mean_ci(values, drop_missing=True)
    return {"mean": _or_none(m), lo: _or_none(low), hi: _or_none(high), "n": _finite(values).size}


def paired_difference(
    a: Sequence[float | None], b: Sequence[float | None]
) -> tuple[list[float | None], Interval]:
    """``a - b`` seed by seed (None where either is missing), and its mean and t-interval."""
    if len(a) != len(b):
        raise ValueError(f"paired_difference: {len(a)} values against {len(b)}")
    diffs = [None if x is None or y is None else x - y for x, y in zip(a, b, strict=True)]
    return diffs, mean_ci(diffs, drop_missing=True)


def wilson_interval(successes: int, trials: int) -> Interval:
    """The share ``successes / trials`` and its 95% Wilson score interval (inside [0, 1])."""
    if not 0 <= successes <= trials:
        raise ValueError(f"wilson_interval: {successes} successes out of {trials} trials")
    if trials == 0:
        return Interval(math.nan, math.nan, math.nan)
    p, z2 = successes / trials, Z975**2
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z975 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2)) / (1 + z2 / trials)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(p, lo, hi)


def format_ci(stat: Any, fmt: str = ".3g", zero_below: float = 0.0) -> str:
    """'mean [lo, hi]', 'mean' without an interval, '—' without a mean.

    ``stat`` is an :class:`Interval` or a dict with ``mean`` and ``lo``/``hi`` (or
    ``ci_low``/``ci_high``). Values smaller than ``zero_below`` in size print as 0 (for
    least-squares round-off).
    """
    if isinstance(stat, dict):
        lo = stat.get("lo", stat.get("ci_low"))
        hi = stat.get("hi", stat.get("ci_high"))
        stat = Interval(stat["mean"], lo, hi)

    def missing(v: Any) -> bool:
        return v is None or not math.isfinite(v)

    def f(v: float) -> str:
        return f"{0.0 if abs(v) < zero_below else v:{fmt}}"

    if missing(stat.mean):
        return "—"
    if missing(stat.lo) or missing(stat.hi):
        return f(stat.mean)
    return f"{f(stat.mean)} [{f(stat.lo)}, {f(stat.hi)}]"


# ----------------------------------------------------------------------------------------------
# Censored times to a threshold
# ----------------------------------------------------------------------------------------------


def time_to_threshold(curve: Sequence[float | None], threshold: float) -> tuple[int, bool]:
    """(time, reached): the first index whose value is >= ``threshold``, or the last index
    (the horizon, censored) when none is."""
    ok = math.isfinite(threshold)
    for g, v in enumerate(curve):
        if ok and v is not None and v >= threshold:
            return g, True
    return len(curve) - 1, False


def kaplan_meier(times: Sequence[float], reached: Sequence[bool]) -> dict[str, Any]:
    """Kaplan-Meier estimate of P(not yet reached by t), and its median time.

    ``times`` are event times where ``reached``, else censoring times (the horizon). The median
    is the first time the estimate drops to 0.5 or below, None when it never does (fewer than
    half the seeds reached the threshold).
    """
    t = np.asarray(times, dtype=np.float64)
    r = np.asarray(reached, dtype=bool)
    event_times = sorted({float(x) for x in t[r]})
    surv, curve = 1.0, []
    for s in event_times:
        at_risk = int(np.sum(t >= s))
        events = int(np.sum((t == s) & r))
        surv *= 1.0 - events / at_risk
        curve.append(surv)
    median = next((s for s, p in zip(event_times, curve, strict=True) if p <= 0.5), None)
    return {"times": event_times, "survival": curve, "median": median, "reached": int(r.sum()),
            "n": int(r.size)}  # fmt: skip


def _normal_two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


def _logrank_terms(
    ta: np.ndarray, ra: np.ndarray, tb: np.ndarray, rb: np.ndarray
) -> tuple[float, float, float]:
    """Observed and expected events of ``a``, and the variance, over the event times."""
    observed = expected = variance = 0.0
    for s in sorted({float(x) for x in np.concatenate([ta[ra], tb[rb]])}):
        na, nb = float(np.sum(ta >= s)), float(np.sum(tb >= s))
        da, db = float(np.sum((ta == s) & ra)), float(np.sum((tb == s) & rb))
        n, d = na + nb, da + db
        observed += da
        expected += d * na / n
        if n > 1:
            variance += d * (na / n) * (nb / n) * (n - d) / (n - 1)
    return observed, expected, variance


def logrank_test(
    times_a: Sequence[float],
    reached_a: Sequence[bool],
    times_b: Sequence[float],
    reached_b: Sequence[bool],
    strata_a: Sequence[Any] | None = None,
    strata_b: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Log-rank test of two arms' censored times; ``z`` < 0: ``a`` reaches sooner.

    With ``strata_a``/``strata_b`` (e.g. the seed of every time) the test is stratified: each
    stratum is compared within itself and the terms are summed, so arms are paired by seed.
    Returns the observed and expected events of ``a``, ``z`` and the two-sided p-value (normal
    approximation of the chi-square statistic with one degree of freedom).
    """
    ta, tb = np.asarray(times_a, float), np.asarray(times_b, float)
    ra, rb = np.asarray(reached_a, bool), np.asarray(reached_b, bool)
    sa = np.zeros(ta.size) if strata_a is None else np.asarray(strata_a)
    sb = np.zeros(tb.size) if strata_b is None else np.asarray(strata_b)
    observed = expected = variance = 0.0
    for stratum in sorted(set(sa.tolist()) | set(sb.tolist())):
        o, e, v = _logrank_terms(
            ta[sa == stratum], ra[sa == stratum], tb[sb == stratum], rb[sb == stratum]
        )
        observed, expected, variance = observed + o, expected + e, variance + v
    if variance <= 0:
        return {"observed": observed, "expected": expected, "z": None, "p": None}
    z = (expected - observed) / math.sqrt(variance)
    return {"observed": observed, "expected": expected, "z": z, "p": _normal_two_sided(z)}


def _sign_test_p(wins: int, losses: int) -> float:
    """Exact two-sided binomial p-value of ``wins`` against ``losses`` at p = 1/2."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def paired_censored_test(
    times_a: Sequence[float],
    reached_a: Sequence[bool],
    times_b: Sequence[float],
    reached_b: Sequence[bool],
) -> dict[str, Any]:
    """Which arm reaches the threshold first, seed by seed, with censoring respected.

    A pair counts for ``a`` when ``a`` reached it and strictly before ``b`` did (or ``b`` never
    did within a horizon at least ``a``'s time); likewise for ``b``. Ties and pairs in which
    neither order is known (both censored, or one censored before the other's event) count for
    neither (Gehan's scoring). The p-value is the exact sign test on the decided pairs.
    """
    if not len(times_a) == len(reached_a) == len(times_b) == len(reached_b):
        raise ValueError("paired_censored_test: the four sequences must have one value per seed")
    a_first = b_first = 0
    for ta, ra, tb, rb in zip(times_a, reached_a, times_b, reached_b, strict=True):
        if ra and ((rb and ta < tb) or (not rb and tb >= ta)):
            a_first += 1
        elif rb and ((ra and tb < ta) or (not ra and ta >= tb)):
            b_first += 1
    n = len(times_a)
    return {"a_first": a_first, "b_first": b_first, "undecided": n - a_first - b_first,
            "p": _sign_test_p(a_first, b_first)}  # fmt: skip


# ----------------------------------------------------------------------------------------------
# JSON
# ----------------------------------------------------------------------------------------------


def compact_json(data: dict[str, Any], sort_keys: bool = False, allow_nan: bool = False) -> str:
    """Indented JSON with every list of numbers on one line: readable, and a third the size.

    Only lists that ``json.dumps`` broke over lines are joined (strings never hold raw
    newlines). NaN is refused unless ``allow_nan``: strict JSON readers reject it.
    """
    text = json.dumps(data, indent=1, sort_keys=sort_keys, allow_nan=allow_nan)
    numbers = r"\[\n[\s0-9.eE+\-,nul]*\]"
    return re.sub(numbers, lambda m: re.sub(r"\s+", "", m.group(0)), text) + "\n"
