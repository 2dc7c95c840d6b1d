"""The method imports neither MuJoCo, torch, Gymnasium, envs nor policies (ARCHITECTURE.md)."""

import subprocess
import sys

METHOD = [
    "genome",
    "mutation",
    "selection",
    "schedules",
    "operators",
    "loop",
    "runner",
    "checkpoint",
    "transfer",
    "transfer_report",
    "stats",
    "worlds.numeric",
    "worlds.square",
    "cli",
]


def test_method_modules_import_no_simulator_and_no_torch():
    """Importing every method module (and the CLI) loads none of the heavy stacks."""
    code = (
        "import sys\n"
        + "".join(f"import pbml_control.{m}\n" for m in METHOD)
        + "heavy = ('mujoco', 'torch', 'gymnasium', 'pbml_control.envs', 'pbml_control.policies')\n"
        + "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
