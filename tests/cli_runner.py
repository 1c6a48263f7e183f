"""Running the ``vidgan`` command in-process from tests."""

from vidgan.cli import main


def vidgan(*args) -> int:
    """Run ``vidgan ARGS`` in-process; return its exit code (0 when it returns normally)."""
    try:
        main([str(a) for a in args])
    except SystemExit as exit:
        return exit.code
    return 0
