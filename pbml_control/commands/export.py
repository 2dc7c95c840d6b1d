"""``pbml export``: one genome of a run as a safetensors file and a plain torch module."""

from __future__ import annotations

import argparse
from pathlib import Path

from pbml_control.config import ConfigError

EXAMPLE = """examples:
  pbml export runs/default --out best.safetensors
  pbml export runs/default --member rank:3 --goal -1.5 --out r3.safetensors --torch r3.pt

Use the genome in your own Gymnasium loop:
  from pbml_control.policies import load_genome, to_torch_module
  g = load_genome("best.safetensors")
  policy = to_torch_module(g.spec, g.params, g.normalizer_state)   # a plain nn.Module
  action = policy(torch.as_tensor(obs)).numpy()
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help="save one genome (safetensors, optional torch state_dict)",
        description="Save one member of a run as a genome file, and optionally a torch module.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run", type=Path, help="run folder or checkpoint (.json)")
    parser.add_argument("--member", default="best", help="best | rank:K | id:N (default: best)")
    parser.add_argument(
        "--goal", type=float, nargs="+", help="goal for picking 'best' (default: the run's)"
    )
    parser.add_argument("--out", type=Path, required=True, help="genome file (.safetensors)")
    parser.add_argument("--torch", type=Path, help="also save the nn.Module's state_dict here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from pbml_control.export import open_run, pick_member, save_member

    if args.out.suffix != ".safetensors":
        raise ConfigError(f"--out must end in .safetensors, got {args.out}")
    ckpt, problem = open_run(args.run)
    try:
        if not hasattr(problem, "policy_spec"):
            raise ConfigError(f"{args.run} is a {type(problem).__name__} run: it has no policy")
        goal = None
        if args.goal is not None:
            goal = np.asarray(args.goal, dtype=np.float64)
            try:
                problem.validate_goal(goal)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        picked = pick_member(ckpt, problem, args.member, goal)
        path = save_member(ckpt, problem, picked, args.out)
        if args.torch is not None:
            import torch

            from pbml_control.policies import to_torch_module

            module = to_torch_module(
                problem.policy_spec,
                ckpt.population.params[picked.index],
                problem.normalizer.state_dict(),
            )
            torch.save(module.state_dict(), args.torch)
    finally:
        problem.close()
    fitness = "" if picked.fitness is None else f", fitness {picked.fitness:.4g}"
    print(f"saved member {picked.member_id} (goal {picked.goal.tolist()}{fitness}) to {path}")
    return 0
