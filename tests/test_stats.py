"""The statistics module against hand-computed values, censored times included."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbml_control.stats import (
    format_ci,
    kaplan_meier,
    logrank_test,
    mean_ci,
    paired_censored_test,
    paired_difference,
    summary,
    time_to_threshold,
    wilson_interval,
)


def test_mean_ci_is_the_t_interval_over_the_seed_axis():
    values = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    mean, lo, hi = mean_ci(values)
    half = 4.303 * 1.0 / math.sqrt(3)  # t(0.975, df=2) x sd / sqrt(n)
    assert mean.tolist() == [2.0, 20.0]
    assert lo[0] == pytest.approx(2.0 - half) and hi[1] == pytest.approx(20.0 + 10 * half)


def test_mean_ci_leaves_missing_values_out_and_has_no_interval_for_one_seed():
    assert mean_ci([1.0, None, 3.0, math.nan], drop_missing=True).mean == 2.0
    one = mean_ci([5.0])
    assert one.mean == 5.0 and math.isnan(one.lo) and math.isnan(one.hi)
    assert summary([None, 4.0]) == {"mean": 4.0, "lo": None, "hi": None, "n": 1}


def test_paired_difference_pairs_by_seed_and_skips_missing_pairs():
    diffs, ci = paired_difference([3.0, 5.0, None], [1.0, 2.0, 7.0])
    assert diffs == [2.0, 3.0, None]
    assert ci.mean == 2.5 and ci.lo < 2.5 < ci.hi
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 2.0])


def test_wilson_interval_stays_in_the_unit_interval():
    zero = wilson_interval(0, 10)
    assert zero.mean == 0.0 and zero.lo == 0.0 and zero.hi == pytest.approx(0.2775, abs=1e-4)
    half = wilson_interval(5, 10)
    assert (half.lo, half.hi) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(10, 10).hi == 1.0


def test_time_to_threshold_censors_at_the_horizon():
    assert time_to_threshold([0.0, 0.4, 0.6, 0.9], 0.5) == (2, True)
    assert time_to_threshold([0.0, None, 0.1], 0.5) == (2, False)
    assert time_to_threshold([1.0], math.nan) == (0, False)


def test_kaplan_meier_median_respects_censoring():
    """A seed censored early leaves the risk set; 'unreached = horizon' would say otherwise."""
    km = kaplan_meier([2, 3, 4], [False, True, True])
    assert km["survival"] == [0.5, 0.0] and km["median"] == 3
    km = kaplan_meier([1, 2, 3, 5, 5], [True, True, True, False, False])
    assert km["survival"] == pytest.approx([0.8, 0.6, 0.4]) and km["median"] == 3
    assert kaplan_meier([5, 5], [False, False])["median"] is None


def test_logrank_test_matches_a_hand_computation():
    out = logrank_test([1, 2], [True, True], [3, 4], [True, True])
    # Expected events of a: 1/2 + 1/3; variance 1/4 + 2/9; a reaches sooner, so z < 0.
    z = (5 / 6 - 2) / math.sqrt(1 / 4 + 2 / 9)
    assert out["expected"] == pytest.approx(5 / 6) and out["z"] == pytest.approx(z)
    assert out["p"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))


def test_paired_censored_test_counts_only_decided_pairs():
    # seed 0: a first; seed 1: b first; seed 2: both censored; seed 3: a censored at 5 after
    # b reached at 4, so b first; seed 4: b censored at 2, a reached at 3: order unknown.
    out = paired_censored_test(
        [1, 2, 5, 5, 3],
        [True, True, False, False, True],
        [3, 1, 5, 4, 2],
        [True] * 2 + [False, True, False],
    )
    assert (out["a_first"], out["b_first"], out["undecided"]) == (1, 2, 2)
    assert out["p"] == 1.0
    wins = paired_censored_test([1] * 5, [True] * 5, [9] * 5, [False] * 5)
    assert wins["a_first"] == 5 and wins["p"] == pytest.approx(2 / 32)


def test_format_ci_reads_both_dict_shapes():
    assert format_ci({"mean": 1.0, "lo": 0.5, "hi": 1.5}) == "1 [0.5, 1.5]"
    assert format_ci({"mean": 2.0, "ci_low": None, "ci_high": None}) == "2"
    assert format_ci({"mean": None, "lo": None, "hi": None}) == "—"
    assert format_ci(mean_ci([1e-13, -1e-13, 0.0]), zero_below=1e-12) == "0 [0, 0]"


def test_stratified_logrank_compares_within_each_stratum():
    """Two strata whose times differ in level: pooled, the arms look alike; within, a is first."""
    times_a, times_b = [1, 2, 11, 12], [2, 3, 12, 13]
    reached = [True] * 4
    strata = [0, 0, 1, 1]
    pooled = logrank_test(times_a, reached, times_b, reached)
    paired = logrank_test(times_a, reached, times_b, reached, strata, strata)
    assert paired["z"] < pooled["z"] < 0 and paired["p"] < pooled["p"]
    one = logrank_test([1, 2], [True, True], [2, 3], [True, True])
    assert paired["observed"] == 2 * one["observed"] and paired["expected"] == 2 * one["expected"]
