"""One error model: every refusal a user can fix is a :class:`UserError`.

Each layer raises its own subclass (``ConfigError``, ``CheckpointError``, ``RunError``,
``MemberError``, ...) so a caller can catch exactly what it can handle, and the command line
maps the whole family to one line on stderr and exit code 2 in one place (``cli.main``).
Subclassing ``ValueError`` keeps the code that caught the old errors as ``ValueError`` working.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(ValueError):
    """Bad input a user can fix (a config, a file, a folder, a selector); the message is one
    line that names what to change."""
