"""The one exception type the command line turns into a one-line message."""


class VidganError(Exception):
    """A user-facing error: bad input, config or plugin. Its message says what to fix."""
