"""Smoke test of scripts/reproduce_paper.py: a --quick run writes a complete report.

It checks the products a reader relies on (a table row per scheme with numbers, the JSON the
figures come from, the PNGs), and that the results do not depend on the process count.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SCHEMES = ("pbml", "fixed_mutation", "greedy", "truncation", "drift")
FIGURES = ("numeric_world.png", "square_world.png", "transfer.png", "transfer_curves.png",
           "numeric_units.png")  # fmt: skip


@pytest.fixture(scope="module")
def reproduce(tmp_path_factory: pytest.TempPathFactory):
    """The script imported as a module (it is a script, not part of the package)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        import reproduce_paper

        yield reproduce_paper, tmp_path_factory
    finally:
        sys.path.remove(str(SCRIPTS))


def _comparable(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("runtime_s")
    for key in ("processes", "out_dir"):
        data["args"].pop(key)
    return data


def test_quick_run_writes_report_json_and_figures(reproduce) -> None:
    module, factory = reproduce
    out = factory.mktemp("two")
    data = module.main(["--quick", "--out-dir", str(out), "--processes", "2"])

    report = (out / "paper.md").read_text(encoding="utf-8")
    assert "## Which claims reproduce" in report
    assert "scripts/reproduce_paper.py" in report
    assert re.search(r"\[-?[0-9.e+-]+, -?[0-9.e+-]+\]", report), "CIs lost their formatting"
    table = report.split("## Results", 1)[1].split("Mean [95% CI]", 1)[0]
    for cond in (*SCHEMES, "static"):
        row = re.search(rf"^\| {cond} \|(.*)\|$", table, flags=re.MULTILINE)
        assert row, f"no table row for {cond}"
        cells = [c.strip() for c in row.group(1).split("|")]
        assert len(cells) == 7
        assert re.match(r"-?[0-9.]", cells[-2]), f"{cond}: no transfer success in {cells}"
        assert re.match(r"-?[0-9.]", cells[-1]), f"{cond}: no reach-probe share in {cells}"
        if cond != "static":
            assert re.match(r"-?[0-9.]", cells[0]), f"{cond}: no R slope in {cells}"
    verdicts = re.findall(r"\*\*(not reproduced|partly reproduced|reproduced)\*\*", report)
    assert len(verdicts) == len(data["claims"]) >= 8

    saved = json.loads((out / "paper.json").read_text(encoding="utf-8"))
    for scheme in SCHEMES:
        slope = saved["results"]["numeric"][scheme]["summary"]["R_slope"]
        assert len(slope["per_seed"]) == saved["args"]["seeds"] >= 2
        assert len(saved["results"]["numeric"][scheme]["curves"]["R"]["mean"]) == 20
    for cond in (*SCHEMES, "static", "fresh"):
        summary = saved["results"]["transfer"][cond]["summary"]
        assert 0.0 <= summary["success"]["mean"] <= 1.0
        assert 0.0 <= summary["probe_reach"]["mean"] <= 1.0
        assert summary["probe_reach"]["trials"] == saved["args"]["seeds"] * saved["args"]["probes"]
    additive = saved["results"]["numeric"]["additive pbml"]["summary"]
    assert additive["R_sigma_slope"]["mean"] is not None
    assert 0.0 <= additive["share_at_sigma_ceiling"]["mean"] <= 1.0
    assert re.search(r"^\| additive pbml \| -?[0-9.]", report, flags=re.MULTILINE)
    assert "additive sigma update: under PBML, fitness follows a quadratic" in report

    for name in FIGURES:
        blob = (out / name).read_bytes()
        assert blob[:8] == b"\x89PNG\r\n\x1a\n" and len(blob) > 10_000, name


def test_results_do_not_depend_on_process_count(reproduce) -> None:
    module, factory = reproduce
    one, two = factory.mktemp("p1"), factory.mktemp("p2")
    module.main(["--quick", "--no-sweep", "--out-dir", str(one), "--processes", "1"])
    module.main(["--quick", "--no-sweep", "--out-dir", str(two), "--processes", "2"])
    assert _comparable(one / "paper.json") == _comparable(two / "paper.json")
