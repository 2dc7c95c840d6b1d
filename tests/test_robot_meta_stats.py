"""The robot meta-learning transfer readouts: the pre-registered area verdict (C4) and the
exploratory gain, on hand-made per-seed transfer metrics whose differences are known."""

from __future__ import annotations

from typing import Any

import pytest

from pbml_control.experiments.robot_meta_stats import c4_verdict, transfer_gain


def _arm(per_seed: list[tuple[float, float, float]]) -> dict[str, Any]:
    """An aggregated transfer arm from (area, zero-shot mean, final mean) per seed."""
    return {
        "seeds": {
            str(seed): {"metrics": {"auc_mean": auc, "zero_shot_mean": z, "final_mean": f}}
            for seed, (auc, z, f) in enumerate(per_seed)
        }
    }


@pytest.fixture
def transfers() -> dict[str, Any]:
    # fixed_best starts 100 higher and keeps a larger area; PBML gains 50 more per seed
    pbml = [(-300.0, -500.0, -200.0), (-310.0, -520.0, -215.0), (-290.0, -480.0, -190.0)]
    best = [(-250.0, -400.0, -150.0), (-262.0, -420.0, -165.0), (-238.0, -380.0, -140.0)]
    return {"Target_frozen": {"arms": {"pbml_low": _arm(pbml), "fixed_best": _arm(best)}}}


def test_the_area_verdict_counts_the_starting_level(transfers: dict[str, Any]) -> None:
    out = c4_verdict(transfers)
    stat = out["comparisons"]["Target_frozen: pbml - fixed_best"]
    assert stat["per_seed"] == pytest.approx([-50.0, -48.0, -52.0])
    assert out["verdict"] == "contradicted"


def test_the_gain_leaves_the_starting_level_out(transfers: dict[str, Any]) -> None:
    stat = transfer_gain(transfers)["Target_frozen: pbml - fixed_best"]
    # pbml gains 300, 305, 290; fixed_best 250, 255, 240
    assert stat["per_seed"] == pytest.approx([50.0, 50.0, 50.0])
    assert stat["mean"] == pytest.approx(50.0)


def test_controls_missing_from_a_target_are_left_out(transfers: dict[str, Any]) -> None:
    assert set(transfer_gain(transfers)) == {"Target_frozen: pbml - fixed_best"}
