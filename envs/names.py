"""Suggestions for mistyped task and variant names ("did you mean ...?").

The same rule as ``pbml_control/suggest.py`` (the method's copy, for config keys): `envs`
imports nothing from the method, and the method nothing from `envs`, so each side has its own
few lines of ``difflib``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` for the closest choice (case-insensitive), or ``""``."""
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return f"; did you mean {by_lower[found[0]]!r}?" if found else ""
