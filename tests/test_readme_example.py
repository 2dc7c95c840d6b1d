"""The README's ask/tell example runs as printed and solves its problem."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
HEADING = "## Your own fitness function"


def readme_example() -> str:
    """The first python code block of the README's ask/tell section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(HEADING) :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the ask/tell section has no python code block"
    return match.group(1)


def test_readme_example_evolves_a_plain_fitness_function(capsys):
    code = readme_example()
    assert len(code.splitlines()) <= 25
    scope: dict = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), scope)
    best_fitness = scope["best_fitness"]
    assert best_fitness > -0.01  # mean squared error of the fitted line
    assert abs(scope["genome"].modules["b"][0] - 3.0) < 0.1
    assert "'w'" in capsys.readouterr().out
