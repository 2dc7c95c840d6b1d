"""Installing prints no warning: the editable build that `make run` and `make test` do (pip's
`install -e`, setuptools' PEP 660 hook) emits none under the Makefile's environment.

setuptools' own build hook is called here, in a subprocess with the venv's setuptools, rather
than pip (which fetches a build environment): a deprecation in pyproject.toml (the `license`
table setuptools warned about, twice per install) or any new warning fails this test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD = """
import json, sys, tempfile, warnings
report = sys.argv[1]  # read first: the build rewrites sys.argv
with warnings.catch_warnings(record=True) as caught:  # keeps PYTHONWARNINGS's filters
    from setuptools import build_meta
    with tempfile.TemporaryDirectory() as out:
        build_meta.build_editable(out)
with open(report, "w") as f:
    json.dump([f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught], f)
"""


def makefile_quiet_setuptools() -> str:
    """The PYTHONWARNINGS filter the Makefile installs with."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(r'^QUIET_SETUPTOOLS := PYTHONWARNINGS="([^"]+)"$', text, re.MULTILINE)
    assert found, "the Makefile names no PYTHONWARNINGS filter for pip install"
    assert "$(QUIET_SETUPTOOLS) $(BIN)/pip install" in text
    return found.group(1)


def build_warnings(tmp_path: Path, pythonwarnings: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    if pythonwarnings is not None:
        env["PYTHONWARNINGS"] = pythonwarnings
    out = tmp_path / "warnings.json"
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text())


def test_the_makefile_install_prints_no_warning(tmp_path):
    assert build_warnings(tmp_path, makefile_quiet_setuptools()) == []


def test_without_the_filter_only_the_editable_notice_remains(tmp_path):
    """The filter hides setuptools' one informational notice and nothing else: pyproject.toml
    itself draws no warning (a plain `pip install -e .` shows only that notice)."""
    caught = build_warnings(tmp_path, None)
    assert all(w.endswith(": Editable installation.") for w in caught), caught
