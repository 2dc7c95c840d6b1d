"""Import rules of the layout, read with ``ast`` from every .py file, lazy imports included.

- The method (``pbml_control/`` minus the MuJoCo-facing layer below) imports no simulator, no
  torch, and neither ``envs`` nor ``policies``, so PBML runs on any problem without them.
- ``policies/`` never imports ``envs``, and ``envs/`` never imports ``policies``: tasks and
  policies meet in the MuJoCo-facing layer only.
- No script in ``scripts/`` imports another: each reads top to bottom on its own.

Every import statement counts, wherever it sits (module level, inside a function, under
``if TYPE_CHECKING``), and so does ``importlib.import_module`` or ``__import__`` with a literal
name. The problem registry names its factories as strings ("pbml_control.mujoco_problem:make")
and imports them by a computed name: that is the plugin boundary, not an import of the method.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# folder -> the package name it installs as (pyproject.toml, [tool.setuptools] package-dir)
PACKAGES = {
    "pbml_control": "pbml_control",
    "envs": "pbml_control.envs",
    "policies": "pbml_control.policies",
}

# pbml_control/ files that are the MuJoCo-facing layer, each with the reason it meets MuJoCo.
MUJOCO_LAYER = {
    "pbml_control/mujoco_problem.py": "the MuJoCo problem: the evaluator plus the run's state",
    "pbml_control/evaluator.py": "the evaluator: where tasks (envs) meet policies",
    "pbml_control/run_loader.py": "loads a run's or a genome's evaluator, task and policy spec",
    "pbml_control/render.py": "renders members with MuJoCo, Gymnasium, envs and policies",
    "pbml_control/members.py": "ranks a run's members with its evaluator (run_loader)",
    "pbml_control/export.py": "writes a member as a policies genome file",
    "pbml_control/commands/evaluate.py": "`pbml evaluate`: a genome file on a MuJoCo task",
    "pbml_control/commands/export.py": "`pbml export`: safetensors and torch files",
    "pbml_control/commands/render.py": "`pbml render`: runs the render module",
    "pbml_control/experiments/final.py": "rolls a run's best survivor out on its MuJoCo task",
    "pbml_control/experiments/tracking.py": "rolls a goal-conditioned policy out per goal",
    "pbml_control/user_loop.py": "a user's Gymnasium loop with the exported torch module",
    "pbml_control/zoo.py": "the zoo: replays a genome's torch module in a Gymnasium loop",
    "pbml_control/commands/zoo.py": "`pbml zoo`: lists the zoo module's entries",
}
SIMULATION = ("mujoco", "gymnasium", "torch", "envs", "policies")


def module_name(path: Path) -> str:
    """The dotted name a file imports as, e.g. envs/specs.py -> pbml_control.envs.specs."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [PACKAGES.get(rel.parts[0], rel.parts[0]), *rel.parts[1:]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module name ``source`` (the module ``module``) may import, resolved to absolute.

    ``from a import b`` yields both ``a`` and ``a.b``, since ``b`` may be a submodule.
    """
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args:
            func, arg = node.func, node.args[0]
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            if called in ("import_module", "__import__") and literal:
                names.add(arg.value)
    return names


def file_imports(path: Path) -> set[str]:
    return imported_names(
        path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
    )


def within(name: str, prefixes: tuple[str, ...] | list[str]) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in prefixes)


def files(folder: str) -> list[Path]:
    found = sorted((ROOT / folder).rglob("*.py"))
    assert found, f"no .py files under {folder}/"
    return found


def test_import_collector_sees_lazy_relative_and_dynamic_imports():
    """The collector finds imports in functions, TYPE_CHECKING blocks, relative and literal ones."""
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from pbml_control.mujoco_problem import MujocoProblem
def f():
    import mujoco.batch
    from ..envs import specs
    from . import torch_export
    importlib.import_module("gymnasium")
"""
    names = imported_names(source, "pbml_control.policies.io")
    expected = {
        "pbml_control.mujoco_problem",
        "mujoco.batch",
        "pbml_control.envs",
        "pbml_control.envs.specs",
        "pbml_control.policies.torch_export",
        "gymnasium",
    }
    assert expected <= names


def test_method_imports_no_simulator_torch_envs_or_policies():
    """Outside the MuJoCo-facing layer, pbml_control/ imports none of them, even lazily."""
    layer_modules = [module_name(ROOT / path) for path in MUJOCO_LAYER]
    banned = [*SIMULATION, *(f"pbml_control.{name}" for name in SIMULATION), *layer_modules]
    offences = []
    for path in files("pbml_control"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in MUJOCO_LAYER:
            continue
        offences += [f"{rel} imports {name}" for name in file_imports(path) if within(name, banned)]
    assert not offences, "\n".join(sorted(offences))


@pytest.mark.parametrize("path", sorted(MUJOCO_LAYER))
def test_every_allow_listed_module_is_really_mujoco_facing(path):
    """Each allow-list entry exists and needs its place: it imports what the method may not."""
    assert (ROOT / path).is_file(), f"{path} is gone: update MUJOCO_LAYER"
    layer_modules = [module_name(ROOT / p) for p in MUJOCO_LAYER if p != path]
    facing = [*SIMULATION, *(f"pbml_control.{name}" for name in SIMULATION), *layer_modules]
    assert any(within(name, facing) for name in file_imports(ROOT / path)), (
        f"{path} imports nothing MuJoCo-facing: remove it from MUJOCO_LAYER"
    )


@pytest.mark.parametrize(("folder", "other"), [("policies", "envs"), ("envs", "policies")])
def test_policies_and_envs_do_not_import_each_other(folder, other):
    """Policies know no tasks and tasks know no policies."""
    banned = [other, f"pbml_control.{other}"]
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files(folder)
        for name in file_imports(path)
        if within(name, banned)
    ]
    assert not offences, "\n".join(sorted(offences))


def script_imports(scripts: list[Path]) -> set[tuple[str, str]]:
    """(script, other script) for every import of one script by another, lazy ones included."""
    stems = {path.stem for path in scripts}
    found = set()
    for path in scripts:
        for name in imported_names(path.read_text(encoding="utf-8"), path.stem):
            top = name.removeprefix("scripts.").split(".")[0]
            if top in stems and top != path.stem:
                found.add((path.name, top))
    return found


def test_script_import_check_sees_a_lazy_import(tmp_path):
    """The check itself: a function-level import of a sibling script is found."""
    (tmp_path / "a.py").write_text("def f():\n    import b\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("X = 1\n", encoding="utf-8")
    assert script_imports([tmp_path / "a.py", tmp_path / "b.py"]) == {("a.py", "b")}


def test_no_script_imports_another_script():
    """Scripts share code through the package (pbml_control.experiments), never each other."""
    found = script_imports(files("scripts"))
    assert not found, f"scripts import other scripts: {sorted(found)}"
