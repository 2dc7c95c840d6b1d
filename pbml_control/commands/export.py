"""``pbml export``: one genome of a run as a safetensors file and a plain torch module."""

from __future__ import annotations

import argparse
from pathlib import Path

from pbml_control.config import ConfigError

EXAMPLE = """examples:
  pbml export runs/default --out best.safetensors
  pbml export runs/default --member rank:3 --goal -1.5 --out r3.safetensors --torch r3.pt

members: best | rank:K (rank:1 = best) | a member id; best and rank:K evaluate the population
on the goals given (default: the goal the run was on at its checkpoint).

Use the genome in your own Gymnasium loop:
  from pbml_control.policies import load_genome, to_torch_module
  g = load_genome("best.safetensors")
  policy = to_torch_module(g.spec, g.params, g.normalizer_state)   # a plain nn.Module
  with torch.no_grad():
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
    parser.add_argument("--member", default="best", help="best | rank:K | ID (default: best)")
    parser.add_argument(
        "--goal", action="append", help="goal for ranking (repeatable; '0.1,0.2' for vectors)"
    )
    parser.add_argument("--out", type=Path, required=True, help="genome file (.safetensors)")
    parser.add_argument("--torch", type=Path, help="also save the nn.Module's state_dict here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pbml_control.export import run_goal, save_member
    from pbml_control.members import MemberError, load_source, parse_goal, select_members

    if args.out.suffix != ".safetensors":
        raise ConfigError(f"--out must end in .safetensors, got {args.out}")
    try:
        source = load_source(args.run)
    except MemberError as exc:
        raise ConfigError(str(exc)) from None
    try:
        goals = [parse_goal(g, source) for g in args.goal] if args.goal else [run_goal(source)]
        (member,) = select_members(source, [args.member], goals)
        path = save_member(source, member, goals, args.out)
        if args.torch is not None:
            import torch

            from pbml_control.policies import to_torch_module

            module = to_torch_module(
                source.problem.policy_spec,
                source.checkpoint.population.params[member.index],
                source.normalizer_state,
            )
            torch.save(module.state_dict(), args.torch)
    except MemberError as exc:
        raise ConfigError(str(exc)) from None
    finally:
        source.close()
    fitness = "" if member.fitness is None else f", fitness {member.fitness:.4g}"
    print(f"saved member {member.id} ({member.label}{fitness}) to {path}")
    return 0
