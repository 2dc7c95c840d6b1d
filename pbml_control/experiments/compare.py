"""Arm against arm, seed by seed: the paired comparisons the experiment scripts report.

Arms of one seed share goals and episode seeds, so every comparison is paired by seed. A
metric with a value per seed gets the mean and 95% t-interval of the differences; the
generations to a threshold, which some seeds never reach, get the censored sign test of
:func:`pbml_control.stats.paired_censored_test` instead of a mean of censored values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pbml_control.stats import logrank_test, paired_censored_test, paired_difference, summary

__all__ = [
    "ALPHA",
    "direction",
    "paired_epochs",
    "paired_metric",
    "paired_time",
    "transfer_comparison",
]

ALPHA = 0.05  # two-sided level of every test and interval
TIME, REACHED = "generations_to_threshold", "reached_threshold"


def paired_metric(
    a: Sequence[float | None], b: Sequence[float | None], lo: str = "lo", hi: str = "hi"
) -> dict[str, Any]:
    """``a - b`` per seed, with the mean and 95% t-interval of the differences."""
    diffs, _ = paired_difference(a, b)
    return {**summary(diffs, lo, hi), "per_seed": diffs}


def paired_time(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Which of two arms reaches the threshold first, seed by seed (per-seed metric dicts with
    ``generations_to_threshold`` and ``reached_threshold``), censoring respected."""
    out = paired_censored_test(
        [m[TIME] for m in a], [m[REACHED] for m in a], [m[TIME] for m in b], [m[REACHED] for m in b]
    )
    return {"a_first": out["a_first"], "b_first": out["b_first"],
            "undecided": out["undecided"], "p": out["p"]}  # fmt: skip


def paired_epochs(
    a: Sequence[tuple[Sequence[int], Sequence[bool]]],
    b: Sequence[tuple[Sequence[int], Sequence[bool]]],
) -> dict[str, Any]:
    """Times to a hit in many epochs per seed (``(times, reached)`` per seed, censored where not
    reached): the log-rank test of ``a`` against ``b`` stratified by seed."""

    def flat(arm: Sequence[tuple[Sequence[int], Sequence[bool]]]) -> tuple[list, list, list]:
        times = [t for ts, _ in arm for t in ts]
        reached = [r for _, rs in arm for r in rs]
        seeds = [i for i, (ts, _) in enumerate(arm) for _ in ts]
        return times, reached, seeds

    (ta, ra, sa), (tb, rb, sb) = flat(a), flat(b)
    out = logrank_test(ta, ra, tb, rb, sa, sb)
    return {"z": out["z"], "p": out["p"], "observed": out["observed"], "expected": out["expected"]}


def direction(stat: dict[str, Any], higher_is_better: bool = True) -> int | None:
    """+1 when ``a`` is clearly better than ``b``, -1 when clearly worse, 0 when neither,
    None when undetermined (no interval, or no decided pair).

    A paired interval is clear when it excludes 0; a censored time comparison when its sign
    test or log-rank test has p < ALPHA (fewer generations is better, whatever
    ``higher_is_better`` says).
    """
    if "z" in stat:  # a log-rank test: z < 0 when a reaches sooner
        if stat["p"] is None:
            return None
        return 0 if stat["p"] >= ALPHA else (1 if stat["z"] < 0 else -1)
    if "a_first" in stat:
        if stat["a_first"] + stat["b_first"] == 0:
            return None
        if stat["p"] >= ALPHA or stat["a_first"] == stat["b_first"]:
            return 0
        return 1 if stat["a_first"] > stat["b_first"] else -1
    lo = stat.get("lo", stat.get("ci_low"))
    hi = stat.get("hi", stat.get("ci_high"))
    if lo is None or hi is None:
        return None
    if lo > 0 or hi < 0:
        return 1 if (lo > 0) == higher_is_better else -1
    return 0


def transfer_comparison(
    data: dict[str, Any], a: str, keys: Sequence[str], lo: str = "lo", hi: str = "hi"
) -> dict[str, dict[str, Any]]:
    """Arm ``a`` minus every other arm of an aggregated transfer, per metric key."""
    arms = data["arms"]

    def metrics(arm: str) -> list[dict[str, Any]]:
        seeds = arms[arm]["seeds"]
        return [seeds[s]["metrics"] for s in sorted(seeds, key=int)]

    out = {}
    for other in arms:
        if other == a:
            continue
        ma, mb = metrics(a), metrics(other)
        out[other] = {
            key: paired_time(ma, mb)
            if key == TIME
            else paired_metric([m[key] for m in ma], [m[key] for m in mb], lo, hi)
            for key in keys
        }
    return out
