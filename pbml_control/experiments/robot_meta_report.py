"""The robot meta-learning report: the pre-registered design first, then what the finished
stages show, one verdict line per question (robot_meta_stats computes them)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.atomic import atomic_write_text
from pbml_control.experiments.robot_meta_design import Design, design_text, detectable_effect
from pbml_control.experiments.robot_meta_stats import (
    SUMMARY_KEYS,
    arm_summary,
    c3_verdict,
    c4_verdict,
    convergence,
    sigma_verdict,
    transfer_gain,
)
from pbml_control.stats import compact_json, format_ci
from pbml_control.transfer_report import plot_transfer

__all__ = ["write_report"]


def _ci(stat: dict[str, Any] | None, fmt: str = ".3g") -> str:
    return "n/a" if not stat or stat.get("mean") is None else format_ci(stat, fmt)


def _pilot_lines(pilot: dict[str, Any] | None) -> list[str]:
    if pilot is None:
        return ["## Pilot", "", "Not run yet (`--stage pilot`).", ""]
    lines = [
        "## Pilot",
        "",
        "| arm | seeds | normalised mean fitness (per seed) | final log sigma per module "
        "(first seed) | final p per module (first seed) | minutes |",
        "|---|---|---|---|---|---|",
    ]
    for label, rows in pilot["runs"].items():
        values = ", ".join(
            "n/a" if r["norm_mean"] is None else f"{r['norm_mean']:.3f}" for r in rows
        )
        sigma = ", ".join(f"{m} {v:.2f}" for m, v in rows[0]["final_log_sigma"].items())
        p = ", ".join(f"{m} {v:.2f}" for m, v in rows[0]["final_p"].items())
        minutes = np.mean([r["seconds"] for r in rows]) / 60
        lines.append(f"| {label} | {len(rows)} | {values} | {sigma} | {p} | {minutes:.1f} |")
    lines += ["", f"Best fixed sigma s* = {pilot['best_sigma']:g}.", ""]
    return lines


def _seed_status(n: int, planned: int) -> str:
    """How many seeds the results stand on; an interim report says so in its first line."""
    if n >= planned:
        return f"{n} seeds finished for every arm, as pre-registered."
    head = (
        f"**Interim: {n} of the {planned} pre-registered seeds** finished for every arm (the rest "
        "are later stages)"
    )
    if n < 2:
        return f"{head}; one seed allows no paired comparison, so no verdict below is a test."
    return (
        f"{head}. With {n} seeds a paired comparison detects about "
        f"{detectable_effect(n):.2f} standard deviations of the per-seed differences (power 0.8, "
        "two-sided 0.05); every verdict below is on these seeds only."
    )


def _main_lines(runs: dict[str, list[dict[str, Any]]], planned: int) -> list[str]:
    if not runs:
        return ["## Main runs", "", "Not run yet (`--stage main`).", ""]
    n = len(next(iter(runs.values())))
    lines = [
        "## Main runs",
        "",
        _seed_status(n, planned),
        "",
        "| arm | normalised mean fitness | normalised best | final log sigma (mean of "
        "modules) | distance from log s* | log RMS step, post hoc |",
        "|---|---|---|---|---|---|",
    ]
    for arm, stats in arm_summary(runs).items():
        cells = [_ci(stats[k]) for k in SUMMARY_KEYS]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "*Log RMS step* (post hoc, not pre-registered): the members' mean of "
        "log(sigma x sqrt(p)) per module in the final population, then over modules: the log "
        "root-mean-square mutation step per parameter and birth. A module whose p has fallen "
        "near 0 rarely mutates, so its sigma is not selected and drifts; the step is what "
        "selection acts on. The fixed arms keep p at its initial value, so fixed_best's step "
        "is log s* + log sqrt(p0).",
        "",
        "Final log sigma, mutation probability and log RMS step per module (mean over seeds):",
        "",
        "| arm | module | log sigma | p | log RMS step |",
        "|---|---|---|---|---|",
    ]
    for arm, rows in runs.items():
        for module in rows[0]["final_log_sigma"]:
            sigma = np.mean([r["final_log_sigma"][module] for r in rows])
            p = np.mean([r["final_p"][module] for r in rows])
            step = np.mean([r["final_log_step"][module] for r in rows])
            lines.append(f"| {arm} | {module} | {sigma:.2f} | {p:.2f} | {step:.2f} |")
    return [*lines, ""]


def _verdict_lines(
    runs: dict[str, list[dict[str, Any]]], transfers: dict[str, Any], start_gap: float
) -> tuple[list[str], dict[str, Any]]:
    out: dict[str, Any] = {}
    lines = ["## Verdicts", ""]
    if runs:
        out["sigma"] = sigma = sigma_verdict(runs)
        parts = "; ".join(f"{s} start {_ci(v)}" for s, v in sigma["pbml_minus_shuffle"].items())
        lines.append(
            f"- **Sigma carries information (vs the shuffle null): {sigma['verdict']}.** "
            f"PBML minus shuffle, distance of the final log sigma from log s*: {parts}."
        )
        out["convergence"] = conv = convergence(runs, start_gap)
        parts = "; ".join(
            f"{k} {_ci(v)} ({'converged' if v['converged'] else 'not converged'})"
            for k, v in conv["gaps"].items()
        )
        lines.append(
            f"- **The two starts converge** (final log sigma, high minus low start; "
            f"starting gap {start_gap:.2f}): {parts}."
        )
        out["c3"] = c3 = c3_verdict(runs)
        parts = "; ".join(f"{k} {_ci(v['mean_fitness'])}" for k, v in c3["comparisons"].items())
        lines.append(
            f"- **C3, PBML reaches the best average fitness: {c3['verdict']}.** "
            f"Normalised mean fitness, paired by seed: {parts}."
        )
    else:
        lines.append("- Sigma, convergence and C3: no main runs yet.")
    frozen = {k: v for k, v in transfers.items() if k.endswith("_frozen")}
    if frozen:
        out["c4"] = c4 = c4_verdict(frozen)
        parts = "; ".join(f"{k} {_ci(v)}" for k, v in c4["comparisons"].items())
        lines.append(
            f"- **C4, PBML genomes adapt faster (sigma frozen): {c4['verdict']}.** "
            f"Area under the mean-fitness curve, paired by seed: {parts}."
        )
        out["transfer_gain"] = gain = transfer_gain(frozen)
        parts = "; ".join(f"{k} {_ci(v)}" for k, v in gain.items())
        lines += [
            "",
            "Exploratory, not pre-registered (no verdict rests on it): the area mixes how much "
            "an arm gains during the transfer with the level it starts at. The gain alone, "
            f"final minus zero-shot population mean, paired by seed: {parts}.",
        ]
    else:
        lines.append("- C4: no transfer yet.")
    return [*lines, ""], out


def _transfer_lines(transfers: dict[str, Any], figures: dict[str, list[Path]]) -> list[str]:
    lines = ["## Transfer", ""]
    if not transfers:
        return [*lines, "Not run yet (`--stage transfer`).", ""]
    for name, data in transfers.items():
        seeds = data["plan"]["seeds"]
        lines += [
            f"### {name}",
            "",
            f"Over {len(seeds)} seeds: {', '.join(map(str, seeds))}.",
            "",
            "| arm | area under mean fitness | final mean | "
            "generations to threshold, KM median | reached |",
            "|---|---|---|---|---|",
        ]
        for arm, block in data["arms"].items():
            s = block["summary"]
            time = s["generations_to_threshold"]
            median = "not reached by half" if time["median"] is None else time["median"]
            lines.append(
                f"| {arm} | {_ci(s['auc_mean'])} | {_ci(s['final_mean'])} | {median} | "
                f"{s['reached_threshold']}/{len(block['seeds'])} |"
            )
        lines.append("")
        if name in figures:
            lines += [*(f"![{name}: {path.stem}]({path.name})" for path in figures[name]), ""]
    return lines


def _transfer_figures(transfers: dict[str, Any], prefix: Path) -> dict[str, list[Path]]:
    """The adaptation curves and the share at the threshold, for the frozen-sigma transfers
    (the main readout): what the area and the censored times summarise, seed by seed."""
    return {
        name: plot_transfer(data, prefix.parent, prefix=f"{prefix.name}_{name}")
        for name, data in transfers.items()
        if name.endswith("_frozen")
    }


def _sigma_figure(runs: dict[str, list[dict[str, Any]]], path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [a for a in runs if a.split("_")[0] in ("pbml", "shuffle", "coupled")]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for arm in shown:
        curves = [np.mean(list(r["log_sigma_curve"].values()), axis=0) for r in runs[arm]]
        ax.plot(np.mean(curves, axis=0), label=arm, ls="-" if arm.endswith("low") else "--")
    ax.set_xlabel("generation (thinned to about 100 points)")
    ax.set_ylabel("mean log sigma over modules and members")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(
    design: Design,
    pilot: dict[str, Any] | None,
    runs: dict[str, list[dict[str, Any]]],
    transfers: dict[str, Any],
    prefix: Path,
) -> Path:
    """``<prefix>.md``, ``<prefix>.json``, ``<prefix>_sigma.png`` and two figures per
    frozen-sigma transfer target; returns the markdown."""
    start_gap = math.log(design.start_factor**2)
    verdict_lines, verdicts = _verdict_lines(runs, transfers, start_gap)
    figure = _sigma_figure(runs, prefix.with_name(prefix.name + "_sigma.png"))
    transfer_figures = _transfer_figures(transfers, prefix)
    lines = [
        "# Do learned mutation parameters matter on robots?",
        "",
        "Generated by `scripts/experiment_robot_meta.py`; do not edit. The design below was "
        "committed before any of its runs; results follow it, stage by stage.",
        "",
        design_text(design),
        *_pilot_lines(pilot),
        *_main_lines(runs, len(design.seeds)),
        *verdict_lines,
        *_transfer_lines(transfers, transfer_figures),
    ]
    if figure is not None:
        lines += ["![log sigma](" + figure.name + ")", ""]
    summary = {
        name: {arm: block["summary"] for arm, block in data["arms"].items()}
        for name, data in transfers.items()
    }
    data = {
        "design": dataclasses.asdict(design),
        "pilot": pilot,
        "runs": runs,
        "verdicts": verdicts,
        "transfer": summary,
    }
    atomic_write_text(prefix.with_suffix(".json"), compact_json(data, allow_nan=True))
    path = prefix.with_suffix(".md")
    atomic_write_text(path, "\n".join(lines))
    return path
