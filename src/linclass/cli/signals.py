"""Ctrl-C and ``kill``: how a command stops when asked to, without leaving half of anything behind.

SIGINT (Ctrl-C) raises ``KeyboardInterrupt``, as Python does by default; :func:`stop_on_terminate`
makes SIGTERM (``kill``, a batch system's time limit) raise :class:`Stopped`, a ``KeyboardInterrupt``
too, so that both take the same path: the best model so far is kept and the command says where.

A few steps must not be cut in the middle — a checkpoint writes the metrics, ``config.json`` and the
model, which must agree on the epoch. :func:`deferred` holds both signals back while such a step runs
and raises the first one that arrived as soon as the step is over.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """A stop asked for by a signal; ``signum`` says which (SIGINT or SIGTERM)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code(stop: KeyboardInterrupt) -> int:
    """The shell's code for a command ended by a signal: 128 + its number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + getattr(stop, "signum", signal.SIGINT)


def how_stopped(stop: KeyboardInterrupt) -> str:
    """``"interrupted"`` for Ctrl-C, ``"terminated"`` for SIGTERM."""
    return "terminated" if getattr(stop, "signum", signal.SIGINT) == signal.SIGTERM else "interrupted"


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


def stop_on_terminate() -> None:
    """Make SIGTERM raise :class:`Stopped` in the main thread, as Ctrl-C raises ``KeyboardInterrupt``."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_stopped)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Run the ``with`` block to its end even if SIGINT or SIGTERM arrives; then raise :class:`Stopped`.

    Outside the main thread (where Python delivers no signals) the block simply runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {signum: signal.signal(signum, lambda number, frame: arrived.append(number)) for signum in HANDLED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if arrived:
        raise Stopped(arrived[0])
