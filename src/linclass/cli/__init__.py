"""The ``linclass`` command line: one module of this package per sub-command.

Each sub-command module has ``add_parser(subparsers)``, which registers its options and sets
``run=...``, a function taking the parsed arguments and returning the exit code. User errors
(``LinclassError``, unreadable files) print one line and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from typing import NoReturn

from linclass.cli import signals
from linclass.cli.common import OneLineErrorParser
from linclass.errors import LinclassError, printable

COMMANDS = ("train", "tune", "evaluate", "predict", "export", "gradcheck", "graph", "playground", "datasets",
            "shards")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    from linclass import __version__

    parser = OneLineErrorParser(
        prog="linclass",
        description="Image classification with linear classifiers (SVM, softmax) on a small autograd engine.",
    )
    parser.add_argument("--version", action="version", version=f"linclass {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"linclass.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``linclass`` console script."""
    signals.stop_on_terminate()
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except BrokenPipeError:  # the reader went away (``linclass ... --json | head``): nothing more to say
        _silence_stdout()
        return 128 + 13  # as a process ended by SIGPIPE
    except LinclassError as error:
        if args.debug:
            raise
        print(f"linclass {args.command}: error: {printable(str(error))}", file=sys.stderr)
        return 2
    except OSError as error:
        if args.debug:
            raise
        where = f": {error.filename}" if error.filename else ""
        print(f"linclass {args.command}: error: {printable(f'{error.strerror or error}{where}')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        print(f"linclass {args.command}: {signals.how_stopped(stop)}", file=sys.stderr)
        return signals.exit_code(stop)


def console() -> NoReturn:
    """The ``linclass`` console script (and ``python -m linclass``): :func:`main` on ``sys.argv``, then exit.

    Before exiting, every object is moved out of the garbage collector's sight (``gc.freeze``): a run
    that drew its pictures leaves tens of thousands of matplotlib objects, and the interpreter's last
    collection at exit took 0.2 s to free memory that the system frees anyway when the process ends.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush does not complain about the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    console()
