"""The project's own error types.

A ``LinclassError`` is a user's mistake or a bad input (a missing file, a corrupted model, a learning
rate that diverges). Its message is one line that says what is wrong and what to do; the command line
prints it without a traceback. Anything else that escapes is a bug.
"""


class LinclassError(Exception):
    """A user-facing error whose message is one self-explanatory line."""


class DataError(LinclassError, ValueError):
    """A dataset file or folder is missing, malformed or inconsistent."""


class ModelFileError(LinclassError, ValueError):
    """A saved model file is corrupted, truncated, foreign or of an unknown version."""


class DivergenceError(LinclassError, FloatingPointError):
    """Training diverged (the loss became NaN, infinite or exploded)."""
