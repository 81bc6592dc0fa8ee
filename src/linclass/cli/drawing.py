"""Drawing a run's pictures side by side: one process per free CPU, each drawing a share of them.

A run's six pictures take several times longer to draw than a linear classifier takes to train on
Fashion-MNIST, and matplotlib draws on one core. The pictures do not depend on one another, so they are
shared out among processes forked from this one — a fork shares the data and the trained model without
copying them, and finds matplotlib already imported. The shares are balanced by each picture's
expected cost (:attr:`Picture.cost`), the largest first. How many processes: the CPUs that other
processes leave free (:func:`linclass.threads.free_cpus_now`); on a busy machine, or where ``fork`` is
not available, the pictures are drawn one after the other in this process.

A picture that fails in a forked process is drawn again in this one, so that its error is raised here
as any other error is.
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Callable

from linclass.threads import CpuMeter, free_cpus_now


@dataclass
class Picture:
    """One picture of a run: ``draw()`` writes it to ``path`` and returns a caption for the report, or None."""

    key: str
    path: Path
    draw: Callable[[], str | None]
    cost: float = 1.0  # expected drawing time, relative to the others


@dataclass
class Drawn:
    """What drawing the pictures gave: their paths, their seconds and their captions, by key."""

    images: dict[str, Path]
    seconds: dict[str, float]
    captions: dict[str, str]


def draw_pictures(pictures: list[Picture], processes: int | None = None, meter: CpuMeter | None = None) -> Drawn:
    """Draw every picture, sharing them out among ``processes`` processes (default: one per free CPU,
    judged by ``meter`` when given, see :func:`linclass.threads.free_cpus_now`)."""
    if processes is None:
        processes = free_cpus_now(meter)
    shares = balanced_shares(pictures, max(1, min(processes, len(pictures))))
    drawn = Drawn({}, {}, {})
    if len(shares) > 1 and "fork" not in multiprocessing.get_all_start_methods():
        shares = [[picture for share in shares for picture in share]]
    importlib.import_module("linclass.report.style")  # matplotlib: imported once here, not in every process
    sys.stdout.flush()  # a forked process must not write out this one's buffered output a second time
    sys.stderr.flush()
    workers = [_start_worker(share) for share in shares[1:]]
    for picture in shares[0] if shares else []:
        _draw_here(picture, drawn)
    for share, (process, connection) in zip(shares[1:], workers, strict=True):
        _collect(share, process, connection, drawn)
    return Drawn({p.key: drawn.images[p.key] for p in pictures}, drawn.seconds, drawn.captions)


def balanced_shares(pictures: list[Picture], count: int) -> list[list[Picture]]:
    """``count`` shares of the pictures with costs as even as can be: each, costliest first, to the lightest."""
    shares: list[list[Picture]] = [[] for _ in range(count)]
    totals = [0.0] * count
    for picture in sorted(pictures, key=lambda p: -p.cost):
        lightest = totals.index(min(totals))
        shares[lightest].append(picture)
        totals[lightest] += picture.cost
    return [share for share in shares if share]


def _draw_here(picture: Picture, drawn: Drawn) -> None:
    start = time.perf_counter()
    caption = picture.draw()
    _record(drawn, picture, time.perf_counter() - start, caption)


def _record(drawn: Drawn, picture: Picture, seconds: float, caption: str | None) -> None:
    drawn.images[picture.key] = picture.path
    drawn.seconds[f"picture: {picture.key}"] = seconds
    if caption is not None:
        drawn.captions[picture.key] = caption


def _start_worker(share: list[Picture]) -> tuple[BaseProcess, Connection]:
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_draw_share, args=(share, sending), daemon=True)
    process.start()
    sending.close()
    return process, receiving


def _draw_share(share: list[Picture], connection: Connection) -> None:
    """In a forked process: draw each picture of the share, sending back (key, seconds, caption) or a failure."""
    for picture in share:
        start = time.perf_counter()
        try:
            caption = picture.draw()
        except Exception:  # drawn again by the parent, which raises the error itself
            connection.send((picture.key, None, None))
            continue
        connection.send((picture.key, time.perf_counter() - start, caption))
    connection.close()


def _collect(share: list[Picture], process: BaseProcess, connection: Connection, drawn: Drawn) -> None:
    """Receive a worker's results; draw here whatever it did not draw (it failed, or died)."""
    by_key = {picture.key: picture for picture in share}
    done = set()
    try:
        for _ in share:
            key, seconds, caption = connection.recv()
            if seconds is not None:
                _record(drawn, by_key[key], seconds, caption)
                done.add(key)
    except EOFError:  # the process ended early
        pass
    connection.close()
    process.join()
    for picture in share:
        if picture.key not in done:
            _draw_here(picture, drawn)
