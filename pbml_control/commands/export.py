"""``pbml export``: one genome of a run as a safetensors file and a plain torch module."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pbml_control.config import ConfigError

EXAMPLE = """examples:
  pbml export runs/default --out best.safetensors
  pbml export runs/default --member rank:3 --goal -1.5 --out r3.safetensors \\
      --torch r3_torch.safetensors
  pbml export zoo:HalfCheetah-v5 --out cheetah.safetensors --torch cheetah.pt   (see pbml zoo)

--torch FILE saves the policy as a torch state_dict: FILE.safetensors (safetensors.torch, no
pickle: load it with safetensors.torch.load_file) or FILE.pt (torch.save, which is a zip of
pickles: load it only from people you trust, with torch.load(FILE, weights_only=True)).

members: best | rank:K (rank:1 = best) | a member id; best and rank:K evaluate the population
on the goals given (default: the goal the run was on at its checkpoint). A genome file or a
zoo entry holds one member: best.

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
    parser.add_argument(
        "run", type=Path, help="run folder, checkpoint (.json), genome file or zoo:<task>"
    )
    parser.add_argument("--member", default="best", help="best | rank:K | ID (default: best)")
    parser.add_argument(
        "--goal", action="append", help="goal for ranking (repeatable; '0.1,0.2' for vectors)"
    )
    parser.add_argument("--out", type=Path, required=True, help="genome file (.safetensors)")
    parser.add_argument(
        "--torch",
        type=Path,
        help="also save the nn.Module's state_dict: .safetensors (no pickle) or .pt (torch.save)",
    )
    parser.set_defaults(func=run)


TORCH_SUFFIXES = (".safetensors", ".pt", ".pth")


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path checked before anything is loaded, computed or written."""
    from pbml_control.outputs import check_output_file

    if args.out.suffix != ".safetensors":
        raise ConfigError(f"--out must end in .safetensors, got {args.out}")
    check_output_file(args.out, "--out")
    if args.torch is not None:
        if args.torch.suffix not in TORCH_SUFFIXES:
            raise ConfigError(f"--torch must end in {', '.join(TORCH_SUFFIXES)}, got {args.torch}")
        check_output_file(args.torch, "--torch")
        if args.torch.resolve() == args.out.resolve():
            raise ConfigError("--torch and --out name the same file")


def _torch_bytes(state_dict: dict, path: Path) -> bytes:
    """The state_dict as safetensors (no pickle) or, for .pt/.pth, torch.save's zip."""
    if path.suffix == ".safetensors":
        import safetensors.torch

        return safetensors.torch.save({k: v.contiguous() for k, v in state_dict.items()})
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    return buffer.getvalue()


def run(args: argparse.Namespace) -> int:
    from pbml_control.atomic import atomic_write_bytes
    from pbml_control.export import run_goal, save_member
    from pbml_control.members import (
        GenomeSource,
        MemberError,
        load_source,
        parse_goal,
        select_members,
    )

    _check_outputs(args)
    source = load_source(args.run)
    try:
        if isinstance(source, GenomeSource):
            if args.goal:
                raise MemberError(f"--goal ranks a run's members; {args.run} holds one genome")
            goals = []
        elif args.goal:
            goals = [parse_goal(g, source) for g in args.goal]
        else:
            goals = [run_goal(source)]
        (member,) = select_members(source, [args.member], goals)
        torch_data = None
        if args.torch is not None:  # built before either file is written
            from pbml_control.policies import to_torch_module

            module = to_torch_module(
                source.policy_spec, source.params(member), source.normalizer_state
            )
            torch_data = _torch_bytes(module.state_dict(), args.torch)
        path = save_member(source, member, goals, args.out)  # atomic (policies/io.py)
        if torch_data is not None:
            atomic_write_bytes(args.torch, torch_data)
    finally:
        source.close()
    print(_ranking(source, member, goals))
    print(f"wrote {path} (genome: policy spec, parameters, normaliser; pbml evaluate reads it)")
    if args.torch is not None:
        print(f"wrote {args.torch} (torch state_dict of the policy module)")
    return 0


def _ranking(source: Any, member: Any, goals: list[Any]) -> str:
    """Which member, and on what it was ranked: goals, episodes, horizon, seeds."""
    from pbml_control.members import GenomeSource

    if isinstance(source, GenomeSource):
        return f"member {member.id} ({member.label}): the file's one genome, saved as it is"
    if member.fitness is None:
        return f"member {member.id} ({member.label}): chosen by id, not ranked"
    config = source.evaluator.config
    shown = "; ".join(repr([float(x) for x in g.reshape(-1)]) for g in goals) or "none"
    episodes = f"{config.episodes} episode{'' if config.episodes == 1 else 's'}"
    # Ranking runs training's arithmetic (numpy forward pass, training's episode seeds), so its
    # fitness is close to, not equal to, what pbml evaluate measures with the exported module.
    return (
        f"member {member.id} ({member.label}), fitness {member.fitness!r}: ranked on "
        f"goal{'' if len(goals) == 1 else 's'} {shown}, {episodes} of "
        f"{config.max_episode_steps} steps (the run's training horizon), episodes seeded from "
        f"the run seed and checkpoint generation {source.checkpoint.generation}; a fresh "
        "evaluation as in training, so neither the metrics' best nor pbml evaluate's return"
    )
