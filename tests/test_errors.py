"""One error model: every refusal a user can fix is a UserError, which cli.main maps to exit 2."""

from __future__ import annotations

import pytest

from pbml_control.checkpoint import CheckpointError
from pbml_control.cli import main
from pbml_control.config import ConfigError
from pbml_control.errors import UserError
from pbml_control.members import MemberError
from pbml_control.memory import MemoryLimitError
from pbml_control.outputs import OutputPathError
from pbml_control.plotting import PlotError
from pbml_control.runfolder import RunFolderError
from pbml_control.runlock import FolderBusyError
from pbml_control.runner import RunError
from pbml_control.zoo import ZooError

FAMILY = (
    CheckpointError,
    ConfigError,
    FolderBusyError,
    MemberError,
    MemoryLimitError,
    OutputPathError,
    PlotError,
    RunError,
    RunFolderError,
    ZooError,
)


@pytest.mark.parametrize("error", FAMILY, ids=lambda e: e.__name__)
def test_every_user_error_is_one_family(error):
    assert issubclass(error, UserError)


def test_cli_maps_any_user_error_to_one_line_and_exit_2(monkeypatch, capsys):
    """A UserError raised anywhere below a command ends as `pbml: error: <first line>`."""
    import pbml_control.commands.plot as plot

    def refuse(args):
        raise UserError("the first line\nand a second one")

    monkeypatch.setattr(plot, "run", refuse)
    assert main(["plot", "anything"]) == 2
    assert capsys.readouterr().err == "pbml: error: the first line\n"
