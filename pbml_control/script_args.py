"""Command lines for the scripts in ``scripts/``: one typed dataclass of arguments each.

CleanRL's convention: every field of the script's ``Args`` dataclass is a flag, with its type
and default, and the string written under the field is its ``--help`` text.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
from collections.abc import Sequence
from typing import Any, TypeVar, get_type_hints

__all__ = ["field_docs", "parse_dataclass_args"]

T = TypeVar("T")

_SEQUENCES = {tuple[int, ...]: int, tuple[float, ...]: float, tuple[str, ...]: str}


def field_docs(cls: type) -> dict[str, str]:
    """The string under each field of ``cls`` (its --help text)."""
    body = ast.parse(inspect.getsource(cls)).body[0].body  # type: ignore[attr-defined]
    return {
        node.target.id: str(nxt.value.value)  # type: ignore[union-attr,attr-defined]
        for node, nxt in itertools.pairwise(body)
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr)
    }


def parse_dataclass_args(
    cls: type[T],
    argv: Sequence[str] | None,
    description: str,
    quick: dict[str, Any] | None = None,
) -> tuple[T, argparse.ArgumentParser]:
    """Parse ``argv`` into ``cls``; with ``--quick`` (a bool field) apply the ``quick`` sizes.

    Returns the parser too, so a script can report its own checks with ``parser.error``.
    """
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    hints, docs = get_type_hints(cls), field_docs(cls)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        flag, kind, help_text = f"--{f.name.replace('_', '-')}", hints[f.name], docs.get(f.name)
        if kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=f.default, help=help_text
            )
        elif kind in _SEQUENCES:
            parser.add_argument(
                flag, type=_SEQUENCES[kind], nargs="+", default=f.default, help=help_text
            )
        else:
            parser.add_argument(flag, type=kind, default=f.default, help=help_text)
    values = vars(parser.parse_args(argv))
    args = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    if quick and getattr(args, "quick", False):
        args = dataclasses.replace(args, **quick)  # type: ignore[type-var]
    return args, parser
