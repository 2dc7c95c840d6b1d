"""The docs refer only to what is in the repository: every relative link resolves to a file
here, and no page cites an issue number, a file that is not here, or a folder outside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
# What points outside the repo: the method notes file, tracker numbers and phrases, the shared
# folder. Built from parts so that this source line is not itself such a reference.
_OUTSIDE_PARTS = (
    "PBML" r"\.md",
    r"\bissue" r"s? #?\d+",
    r"\bthe " r"issue\b",
    r"\.\./" "shared",
    r"\b" "shared/",
)
OUTSIDE = re.compile("|".join(_OUTSIDE_PARTS), re.IGNORECASE)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_refers_only_to_the_repository(page):
    text = page.read_text(encoding="utf-8")
    outside = [m.group(0) for m in OUTSIDE.finditer(text)]
    assert not outside, f"{page.name} refers outside the repository: {outside}"
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor on the same page
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name} links to {target}, which is not in the repository"


CODE = sorted(
    p
    for folder in ("pbml_control", "envs", "policies", "scripts")
    for p in (ROOT / folder).rglob("*.py")
)


@pytest.mark.parametrize("path", CODE, ids=[str(p.relative_to(ROOT)) for p in CODE])
def test_code_cites_no_issue_number_or_outside_file(path):
    """Docstrings and comments stand alone too: the next engineer cannot open our tracker."""
    outside = [m.group(0) for m in OUTSIDE.finditer(path.read_text(encoding="utf-8"))]
    assert not outside, f"{path.relative_to(ROOT)} refers outside the repository: {outside}"
