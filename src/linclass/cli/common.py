"""Options and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse


def common_options() -> argparse.ArgumentParser:
    """A parent parser with the options every sub-command accepts (``parents=[common_options()]``)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    return parent
