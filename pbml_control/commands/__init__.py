"""One module per ``pbml`` command: ``register(subparsers)`` and ``run(args) -> int``."""
