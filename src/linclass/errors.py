"""The project's own error types.

A ``LinclassError`` is a user's mistake or a bad input (a missing file, a corrupted model, a learning
rate that diverges). Its message is one line that says what is wrong and what to do; the command line
prints it without a traceback, through :func:`printable`. Anything else that escapes is a bug.
"""


class LinclassError(Exception):
    """A user-facing error whose message is one self-explanatory line."""


class DataError(LinclassError, ValueError):
    """A dataset file or folder is missing, malformed or inconsistent."""


class ModelFileError(LinclassError, ValueError):
    """A saved model file is corrupted, truncated, foreign or of an unknown version."""


class DivergenceError(LinclassError, FloatingPointError):
    """Training diverged (the loss became NaN, infinite or exploded)."""


class MissingExtraError(LinclassError, ImportError):
    """A feature needs a package of an optional extra that is not installed; the message names the extra."""


def printable(text: str) -> str:
    """``text`` safe to print as one line: control characters (line breaks, a terminal's escape sequences)
    written as Python escapes, so that a file or folder name cannot redraw the terminal or add lines."""
    return "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)
