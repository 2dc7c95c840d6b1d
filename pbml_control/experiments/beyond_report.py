"""Report of the operators experiment (``scripts/experiment_beyond.py``): metric tables,
paired differences and verdicts, from beyond.json's numbers only (``--replot`` rewrites it
without running anything). Figures: :mod:`pbml_control.experiments.beyond_figures`.
"""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path
from typing import Any

from pbml_control.stats import format_ci, summary
from pbml_control.transfer_report import transfer_table

__all__ = [
    "PRIMARY",
    "ROBOT_METRICS",
    "SQUARE_METRICS",
    "in_arm_order",
    "verdicts",
    "write_report",
]

# The operator keys an arm may switch on (values come from the script's Args).
OPERATOR_KEYS = (
    "scout_fraction",
    "scout_sigma_scale",
    "fatal_pass_probability",
    "fatal_pass_generations",
    "crossover_rate",
    "low_rank_sigma_boost",
)
# Square metrics: (key, heading, higher is better)
SQUARE_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("success", "transfer success (share of goal epochs with a hit)", True),
    ("mean_fitness", "average fitness (population mean, all transfer gens)", True),
    ("best_fitness", "top fitness (population best, all transfer gens)", True),
    ("gens_to_hit", "gens from shift to first hit (threshold fitness 1)", False),
    ("source_final_mean", "Square World final mean", True),
    ("source_final_best", "Square World final best", True),
    ("hard_log_sigma_x", "final log sigma_x on Hard Square", True),
)
# Robot metrics (key, heading, higher is better); keys of pbml_control.transfer's seed metrics.
ROBOT_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("generations_to_threshold", "gens to threshold", False),
    ("auc_mean", "average fitness (AUC of the mean curve)", True),
    ("final_mean", "final mean", True),
    ("final_best", "top fitness (final best)", True),
    ("mean_at_k", "mean @ k", True),
    ("best_at_k", "best @ k", True),
    ("zero_shot_mean", "zero-shot mean", True),
)
# The three a verdict rests on: average fitness, top fitness, speed to threshold.
PRIMARY = {
    "square": ("mean_fitness", "best_fitness", "gens_to_hit"),
    "robot": ("auc_mean", "final_best", "generations_to_threshold"),
}


def verdict(effects: list[str]) -> str:
    """One word per operator and transfer, from its primary metrics."""
    good, bad = "helps" in effects, "hurts" in effects
    if good and bad:
        return "mixed"
    return "helps" if good else "hurts" if bad else "no detectable difference"


def _g(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def _ci(stat: dict[str, Any]) -> str:
    """A cell: mean [95% CI], a censored time's median, or a censored comparison's test."""
    if "median" in stat:
        return f"median {_g(stat['median'])} ({stat['reached']}/{stat['n']} reached)"
    if "z" in stat:
        return "—" if stat["z"] is None else f"log-rank z {stat['z']:.2f}, p {stat['p']:.2g}"
    if "a_first" in stat:
        return f"first {stat['a_first']} vs {stat['b_first']} seeds, p {stat['p']:.2g}"
    return format_ci(stat)


_tci = _ci


def _settings(args: dict[str, Any]) -> list[str]:
    ops = ", ".join(f"`{k} = {args[k]}`" for k in OPERATOR_KEYS)
    return [
        f"- Operator settings (chosen before any result, the same in both transfers): {ops}. "
        "An arm switches on only its operator's keys (`all`: every one); the rest stay 0.",
        "- The operators act **during source training and during adaptation after transfer** "
        "(each arm's adaptation config is its source config with the new target and goal).",
        f"- (a) Square World -> Hard Square (`scripts/reproduce_paper.py` settings): PBML, "
        f"N = {args['square_population']}, D = {args['death_rate']}, alpha = 1, init sigma 1.0, "
        f"tau 0.2 (decoupled); {args['square_generations']} Square-World generations, then the "
        f"whole population on Hard Square for {args['hard_generations']} generations; random "
        f"goal every {args['square_period']} generations; seeds 0..{args['square_seeds'] - 1}.",
        f"- (b) {args['task']}: PBML on shifting train goals (|v| in [0.5, 2], shift every "
        f"{args['robot_period']} generations), N = {args['robot_population']}, MLP "
        f"{list(args['hidden'])}, one {args['max_episode_steps']}-step episode per member and "
        f"generation, {args['source_generations']} source generations, init sigma "
        f"{args['init_sigma']}, tau {args['tau']}, D = {args['death_rate']}; then one held-out "
        f"goal per seed (|v| in [2, 3], static) for {args['transfer_generations']} generations "
        f"of PBML adaptation (generation 0 = zero-shot); seeds 0..{args['robot_seeds'] - 1}; "
        "`fresh` = "
        "new random genomes adapting like PBML alone (a control, not compared).",
    ]


def _square_table(data: dict[str, Any]) -> list[str]:
    heads = [h for _, h, _ in SQUARE_METRICS]
    lines = ["| arm | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for arm, entry in data["square"]["arms"].items():
        cells = [_ci(entry["summary"][key]) for key, _, _ in SQUARE_METRICS]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return lines


def _diff_table(
    comparison: dict[str, Any], metrics: tuple[tuple[str, str, bool], ...]
) -> list[str]:
    heads = [h for _, h, _ in metrics]
    lines = ["| arm - pbml | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for arm, cmp in comparison.items():
        cells = []
        for key, _, _ in metrics:
            d = cmp[key]
            mark = {"helps": " **+**", "hurts": " **−**"}.get(d["effect"], "")
            cells.append(_ci(d) + mark)
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return lines


def verdicts(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for part in ("square", "robot"):
        for arm, cmp in data["comparison"][part].items():
            effects = [cmp[key]["effect"] for key in PRIMARY[part]]
            out.setdefault(arm, {})[part] = verdict(effects)
    return out


SHORT = {
    "mean_fitness": "average",
    "best_fitness": "top",
    "gens_to_hit": "gens to hit",
    "auc_mean": "average (AUC)",
    "final_best": "top (final best)",
    "generations_to_threshold": "gens to threshold",
}


def _verdict_lines(data: dict[str, Any]) -> list[str]:
    """A summary table, then one line of numbers per operator (primary metrics only)."""
    lines = ["| arm | Hard Square | robot |", "|---|---|---|"]
    lines += [f"| {arm} | {v['square']} | {v['robot']} |" for arm, v in data["verdicts"].items()]
    lines.append("")
    for arm, parts in data["verdicts"].items():
        bits = []
        for part in ("square", "robot"):
            cmp = data["comparison"][part][arm]
            nums = "; ".join(
                f"{SHORT[key]} {_ci(cmp[key])}"
                + ("" if cmp[key]["effect"].startswith("no ") else f" ({cmp[key]['effect']})")
                for key in PRIMARY[part]
            )
            name = "Hard Square" if part == "square" else "robot"
            bits.append(f"{name} **{parts[part]}**: {nums}")
        lines.append(f"- **{arm}** — " + ". ".join(bits) + ".")
    return lines


def write_report(data: dict[str, Any], out_dir: Path, figures: list[Path]) -> Path:
    args = Namespace(**data["args"])
    tr = data["robot"]
    plan = tr["plan"]
    k = plan["k"]
    thresholds = ", ".join(f"seed {s}: {_g(t)}" for s, t in tr["thresholds"].items())
    lines = [
        "# Operators beyond the paper: do they help PBML?",
        "",
        f"Generated by `python scripts/experiment_beyond.py{' --quick' if args.quick else ''}` "
        f"in {data['runtime_s']:.0f} s ({data['square_seconds']:.0f} s Square World, "
        f"{data['robot_source_seconds']:.0f} s robot source runs, "
        f"{data['robot_transfer_seconds']:.0f} s robot transfer) with {args.processes} "
        "processes on a shared 2-core machine. Numbers: `beyond.json`. Operators: "
        "`pbml_control/operators.py`, equations in docs/method.md." + _reuse_note(data),
        "",
        "## Verdict per operator",
        "",
        "Paired by seed, arm minus PBML alone, mean [95% t-CI]; times to a hit or a threshold, "
        "which some epochs or seeds never reach, by censored tests (Hard Square: log-rank "
        "stratified by seed; robot: sign test on the seeds whose order is known, 'first a vs b' "
        "= seeds on which the arm / PBML alone got there first). An operator **helps** (or "
        "**hurts**) on a metric when the interval excludes 0 (the test has p < 0.05) in the "
        "good (bad) direction. The "
        "verdict per transfer rests on three primary metrics: average fitness, top fitness and "
        "generations to threshold (helps: at least one helps and none hurts; mixed: both).",
        "",
        *_verdict_lines(data),
        "",
        _conclusion(data),
        "",
        f"These are {_tests(data)} primary tests at 95%: even if no operator did anything, "
        f"about {0.05 * _tests(data):.1f} of them would exclude 0 by chance, so a verdict that "
        "rests on one metric of one transfer is weak evidence.",
        "",
        "## Settings (identical for every arm but the operators)",
        "",
        *_settings(data["args"]),
        "",
        "## (a) Square World -> Hard Square",
        "",
        "Mean [95% t-CI] over seeds. Hard Square fitness is 1 inside a square, else 0: "
        "**top fitness** = share of transfer generations in which some member is in a square; "
        "**average fitness** = population mean over all transfer generations; **threshold** = "
        "fitness 1 (a member in a square), counted in generations from each goal shift "
        f"(censored at {args.square_period}: Kaplan-Meier median over all epochs; compared by a "
        "log-rank test stratified by seed, which treats a seed's epochs as independent, so its "
        "p-values are optimistic). Success = share of goal epochs with a hit (Wilson interval "
        "over all epochs).",
        "",
        *_square_table(data),
        "",
        "### Paired differences (arm - PBML alone)",
        "",
        *_diff_table(data["comparison"]["square"], SQUARE_METRICS),
        "",
        "**+**: helps, **−**: hurts (interval excludes 0); for generations, negative is better; "
        "log sigma_x has no better direction (marked as if higher were better).",
        "",
        f"## (b) {args.task}: train goals -> held-out goals",
        "",
        "Mean [95% t-CI] over seeds (`pbml_control.transfer` metrics). Fitness is the episode "
        "return (higher is better). Threshold on the population mean, per seed: F0 + "
        f"{plan['threshold_fraction']} x (Fmax - F0), F0 = fresh arm's zero-shot mean, Fmax = "
        f"best mean any arm reached ({thresholds}); a seed that never reaches it is censored "
        "(Kaplan-Meier median; arms compared by the paired sign test on the seeds whose order "
        "is known).",
        "",
        transfer_table(tr),
        "",
        "### Paired differences (arm - PBML alone)",
        "",
        *_diff_table(data["comparison"]["robot"], ROBOT_METRICS),
        "",
        f"`mean @ k` / `best @ k`: after k = {k} generations of adaptation.",
        "",
        "### Robot source runs (train goals, operators on)",
        "",
        "| arm | last-epoch mean | last-epoch best | mean log sigma: start -> end | seconds/run |",
        "|---|---|---|---|---|",
    ]
    for arm, runs in data["robot_sources"].items():
        m = summary([r["last_epoch_mean"] for r in runs])
        b = summary([r["last_epoch_best"] for r in runs])
        s0 = summary([r["first_log_sigma"] for r in runs])
        s1 = summary([r["final_log_sigma"] for r in runs])
        sec = summary([r["seconds"] for r in runs])
        lines.append(
            f"| {arm} | {_ci(m)} | {_ci(b)} | {_g(s0['mean'])} -> {_ci(s1)} | {_g(sec['mean'])} |"
        )
    lines += [
        "",
        "Every arm of one seed sees the same train goals (the schedule is keyed by the seed), so "
        "these rows are comparable; beyond.json has the paired differences of every metric.",
        "",
        "## Caveats",
        "",
        f"- The robot budget is lean ({args.robot_seeds} seeds, one "
        f"{args.max_episode_steps}-step episode per evaluation): its intervals are wide, and "
        "'no detectable difference' there is not evidence of no effect.",
        "- One operator setting each, chosen a priori; a different scale or rate may behave "
        "differently. The `all` arm does not say which operator drives its effect.",
        "- The robot threshold depends on the set of arms (Fmax is the best any arm reached).",
        _control_note(tr),
        "- Fatal passes keep members that selection removed, mostly low-fitness ones, so they "
        "lower the population mean by construction; their top fitness and speed say more.",
        "",
        "## Figures",
        "",
        *[f"![{p.name}]({p.name})\n" for p in figures],
    ]
    path = out_dir / "beyond.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _conclusion(data: dict[str, Any]) -> str:
    """Which operators clearly help (in one transfer and hurt in none); never hand-edited."""
    v = data["verdicts"]
    helps = [a for a, p in v.items() if "helps" in p.values() and "hurts" not in p.values()]
    hurts = [a for a, p in v.items() if "hurts" in p.values()]
    text = (
        f"**Helps**: {', '.join(helps)}. "
        if helps
        else "**No operator helps** in either transfer at these settings, so no recommended "
        "config is written and every default stays off. "
    )
    if hurts:
        text += f"**Hurts** on at least one transfer: {', '.join(hurts)}."
    return text


def _control_note(tr: dict[str, Any]) -> str:
    """How far evolved PBML genomes are from fresh ones: the transfer's own signal strength."""
    p, f = tr["arms"]["pbml"]["summary"], tr["arms"]["fresh"]["summary"]
    n = len(tr["arms"]["pbml"]["seeds"])
    return (
        f"- Robot control: PBML alone zero-shot mean {_tci(p['zero_shot_mean'])} vs fresh "
        f"{_tci(f['zero_shot_mean'])}; gens to threshold {_tci(p['generations_to_threshold'])} "
        f"vs {_tci(f['generations_to_threshold'])}; reached {p['reached_threshold']}/{n} vs "
        f"{f['reached_threshold']}/{n}. Where these are close, the evolved genomes carry "
        "little over to the held-out goals and leave the operators little to improve on."
    )


def _tests(data: dict[str, Any]) -> int:
    return sum(len(data["comparison"][part]) * len(PRIMARY[part]) for part in PRIMARY)


def _reuse_note(data: dict[str, Any]) -> str:
    reused = sum(r["reused"] for runs in data["robot_sources"].values() for r in runs)
    if not reused:
        return ""
    return (
        f" {reused} robot source runs were reused from an earlier call; their time is not counted."
    )


def in_arm_order(data: dict[str, Any]) -> dict[str, Any]:
    """JSON sorts keys; tables and figures list the arms in --arms order (fresh last)."""
    arms = data["args"]["arms"]
    data["square"]["arms"] = {a: data["square"]["arms"][a] for a in arms}
    data["robot"]["arms"] = {a: data["robot"]["arms"][a] for a in (*arms, "fresh")}
    data["robot_sources"] = {a: data["robot_sources"][a] for a in arms}
    for part in ("square", "robot"):
        data["comparison"][part] = {a: data["comparison"][part][a] for a in arms if a != "pbml"}
    data["verdicts"] = {a: data["verdicts"][a] for a in arms if a != "pbml"}
    return data
