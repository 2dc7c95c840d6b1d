"""The ``pbml`` command line.

Each command lives in its own module under ``pbml_control/commands/`` with ``register(sub)``
and ``run(args) -> int``. Every user error (a ``UserError`` from ``pbml_control/errors.py``:
bad config, bad checkpoint, a run folder in the way; or a file that cannot be read or written)
prints one line, ``pbml: error: ...``, here in :func:`main` and nowhere else, and exits with
code 2 without touching anything on disk. Ctrl-C or SIGTERM, however often and however
early, prints one line and exits with code 130.

Only the standard library is imported at module level: signal handling starts before NumPy or
anything heavy loads, so an early Ctrl-C is handled like any other.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head -1`

# One module per command, in the order `pbml --help` lists them.
COMMANDS = ("train", "export", "evaluate", "transfer", "render", "plot", "zoo")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every user error
        self.exit(EXIT_USAGE, f"pbml: error: {message}\n")


def version_text() -> str:
    """``pbml 0.1.0``, plus the git commit when run from a checkout (what a checkpoint records)."""
    from importlib.metadata import PackageNotFoundError, version

    from pbml_control.checkpoint import git_commit

    try:
        text = f"pbml {version('pbml-control')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        text = "pbml (not installed)"
    commit = git_commit()
    return text if commit == "unknown" else f"{text} (git {commit[:12]})"


class _Version(argparse.Action):
    """``--version``, computed only when asked for (it starts a git subprocess)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(version_text())
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pbml", description="Population-Based Meta Learning for robot control.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"pbml_control.commands.{name}").register(sub)
    return parser


def describe_os_error(exc: OSError) -> str:
    """An OSError as one line: what failed and on which path (no errno noise)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    return f"{reason}: {' -> '.join(str(p) for p in paths)}" if paths else reason


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _error(message: str) -> int:
    print(f"pbml: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _forget_unhandled_interrupt() -> None:
    """Exit 130, not death by SIGINT, after an interrupt we handled.

    CPython marks a KeyboardInterrupt as unhandled when it leaves code that ``exec`` or
    ``eval`` ran from a string (``PyRun_StringFlags``; namedtuple and dataclass definitions do
    that at import), and kills the process by SIGINT at exit even though we caught the
    exception further up: 29 of 125 SIGTERMs sent 0.10-0.15 s after NumPy was mapped. Running
    an empty string the same way clears the mark.
    """
    import ctypes

    with contextlib.suppress(AttributeError, OSError):
        ctypes.pythonapi.PyRun_SimpleString(b"")


def _stdout_is_broken() -> bool:
    """Whether stdout is a pipe whose reader has gone: poll reports an error on such a write
    end (the BrokenPipeError itself does not say which file it came from)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll, or stdout is no real file
        return False


def _reader_went_away() -> int:
    """Exit quietly when the program reading our output stopped early (``pbml ... | head``),
    as Unix tools do; stdout is pointed at /dev/null so that Python's flush at exit cannot
    fail a second time and print a traceback."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    from pbml_control.errors import UserError
    from pbml_control.interrupts import interrupts_as_exceptions, raise_if_stopped

    with interrupts_as_exceptions(ends_process=True):
        try:
            args = build_parser().parse_args(argv)
            code = int(args.func(args))
            if sys.stdout is not None:  # None when started with stdout closed (`>&-`)
                sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at exit
            if code != EXIT_INTERRUPTED:  # a stop whose exception was swallowed is still a stop
                raise_if_stopped()
            return code
        except KeyboardInterrupt:
            print("pbml: interrupted", file=sys.stderr)
            _forget_unhandled_interrupt()
            return EXIT_INTERRUPTED
        except MemoryError:
            return _error("out of memory (the request is too large for this machine)")
        except RecursionError:
            return _error("input is nested too deeply")
        except BrokenPipeError as exc:
            if _stdout_is_broken():
                return _reader_went_away()
            return _error(describe_os_error(exc))  # another pipe (a worker's) broke
        except OSError as exc:  # unreadable input, full disk, read-only folder, ...
            return _error(describe_os_error(exc))
        except (OverflowError, UnicodeDecodeError) as exc:
            return _error(_first_line(exc))
        except UserError as exc:  # every refusal a user can fix (pbml_control/errors.py)
            return _error(_first_line(exc))


if __name__ == "__main__":
    sys.exit(main())
