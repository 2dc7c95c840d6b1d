"""The zoo's model cards render from their card.json alone: each committed README.md is what
pbml_control.experiments.zoo_card makes of the numbers beside it, so card and numbers agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pbml_control.experiments.zoo_card import card_markdown, goal_card_markdown

ZOO = Path(__file__).resolve().parents[1] / "zoo"
ENTRIES = sorted(p for p in ZOO.iterdir() if (p / "card.json").is_file())


@pytest.mark.parametrize("entry", ENTRIES, ids=[p.name for p in ENTRIES])
def test_committed_card_is_its_numbers_rendered(entry: Path) -> None:
    card = json.loads((entry / "card.json").read_text(encoding="utf-8"))
    render = goal_card_markdown if "goals" in card else card_markdown
    assert render(card) == (entry / "README.md").read_text(encoding="utf-8")


def test_a_card_without_a_wall_note_keeps_the_old_wording() -> None:
    card = json.loads((ZOO / "HalfCheetah-v5" / "card.json").read_text(encoding="utf-8"))
    card["training"].pop("wall_note", None)
    assert "min on 2 CPU cores |" in card_markdown(card)
