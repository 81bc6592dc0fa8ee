"""``linclass playground``: the interactive page where a linear classifier's lines meet the loss."""

from __future__ import annotations

import argparse
import sys

from linclass.cli.common import common_options

DEFAULT_PORT = 8231


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``playground`` and its options."""
    parser = subparsers.add_parser(
        "playground",
        parents=[common_options()],
        help="open the interactive 2-D linear classifier playground in a browser",
        description=(
            "Start a local web page (on 127.0.0.1 only) showing 2-D points, each class's zero-score line "
            "and the loss; train it step by step with linclass. Works offline."
        ),
    )
    parser.add_argument("--port", type=int, default=None,
                        help=f"port to listen on (default {DEFAULT_PORT}, or a free one if that is taken; "
                             "0 picks a free one)")
    parser.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve the playground until Ctrl-C."""
    from linclass.playground.server import bind_loopback, serve

    if args.port is not None and not 0 <= args.port <= 65535:
        print(f"linclass playground: error: --port {args.port} is not a port; use 0 to 65535", file=sys.stderr)
        return 2
    if args.port is None:
        try:
            sock = bind_loopback(DEFAULT_PORT)
        except OSError:
            print(f"port {DEFAULT_PORT} is busy; using a free port instead", file=sys.stderr)
            sock = bind_loopback(0)
    else:
        sock = bind_loopback(args.port)
    serve(sock, open_browser=not args.no_browser, announce=lambda line: print(line, flush=True))
    return 0
