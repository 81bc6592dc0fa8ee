"""What a long job shows while it runs: a bar on a terminal, one line per step elsewhere, nothing when quiet.

On a terminal the :class:`~linclass.cli.common.ProgressBar` redraws one line. Written to a log file or
a pipe, carriage returns would be clutter, but silence is worse: a run on a slow or busy machine would
look hung. So off a terminal every finished step (an epoch, a trial) prints one line of its own, and
only ``--quiet`` silences the job.
"""

from __future__ import annotations

import sys
from typing import IO

from linclass.cli.common import ProgressBar


class LineLog(ProgressBar):
    """The bar's text as one line per step, e.g. ``epoch 3/20 [###---] loss 0.4120 ... 1.2 s``, flushed."""

    def update(self, done: int, details: str = "") -> None:
        if self.enabled:
            self.stream.write(self.line(done, details) + "\n")
            self.stream.flush()


def progress_display(total: int, label: str, quiet: bool, stream: IO[str] | None = None,
                     open_ended: bool = False) -> ProgressBar:
    """A bar when ``stream`` (stderr) is a terminal, a :class:`LineLog` when not, disabled when ``quiet``;
    ``open_ended``: ``total`` is the most steps, not the number (training until converged)."""
    stream = stream or sys.stderr
    kind = ProgressBar if stream.isatty() else LineLog
    return kind(total, label, enabled=not quiet, stream=stream, open_ended=open_ended)
