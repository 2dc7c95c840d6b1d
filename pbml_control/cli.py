"""The ``pbml`` command line.

Each command lives in its own module under ``pbml_control/commands/`` with ``register(sub)``
and ``run(args) -> int``. Every user error (bad config, bad checkpoint, a run folder in the
way) prints one line, ``pbml: error: ...``, and exits with code 2 without touching anything on
disk.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pbml_control.checkpoint import CheckpointError
from pbml_control.config import ConfigError

__all__ = ["main"]

EXIT_USAGE = 2

# One module per command, in the order `pbml --help` lists them.
COMMANDS = ("train", "export", "evaluate", "transfer", "render", "plot")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every user error
        self.exit(EXIT_USAGE, f"pbml: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pbml", description="Population-Based Meta Learning for robot control.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"pbml_control.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, CheckpointError) as exc:
        print(f"pbml: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
