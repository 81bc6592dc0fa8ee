"""``python -m linclass``: the ``linclass`` command line, for when the console script is not on PATH."""

from linclass.cli import console

console()
