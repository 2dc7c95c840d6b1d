"""Suggestions for a mistyped name ("did you mean ...?"): config keys and problems.

Task and variant names have their own copy in envs/names.py (envs imports nothing from the
method). One rule, so every refusal of an unknown name reads the same and nobody has to scan a
list of known names for the one they meant. Standard library only (``difflib``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice most like ``word`` (case-insensitive), or None when none is close."""
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or ``""`` when none is close."""
    match = closest(word, choices, cutoff)
    return f"; did you mean {match!r}?" if match is not None else ""
