"""The ``linclass`` command line: one module of this package per sub-command.

Each sub-command module has ``add_parser(subparsers)``, which registers its options and sets
``run=...``, a function taking the parsed arguments and returning the exit code. User errors
(``LinclassError``, unreadable files) print one line and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from linclass.cli.common import OneLineErrorParser
from linclass.errors import LinclassError, printable

COMMANDS = ("train", "tune", "evaluate", "predict", "gradcheck", "graph", "playground", "datasets")


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
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
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
    except KeyboardInterrupt:
        print(f"linclass {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
