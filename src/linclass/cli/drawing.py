"""Drawing a run's pictures side by side: one process per free CPU, each taking the next picture to draw.

A run's six pictures take several times longer to draw than a linear classifier takes to train on
Fashion-MNIST, and matplotlib draws on one core. The pictures do not depend on one another, so they are
drawn by this process and by processes forked from it — a fork shares the data and the trained model
without copying them, and finds matplotlib already imported. The pictures are handed out costliest
first (:attr:`Picture.cost`), each to whichever process is free next, so that a picture that takes
longer than expected holds up no one else's. How many processes: the CPUs that other processes leave
free (:func:`linclass.threads.free_cpus_now`); on a busy machine, or where ``fork`` is not available,
the pictures are drawn one after the other in this process.

A picture that fails in a forked process is drawn again in this one, so that its error is raised here
as any other error is.

Importing matplotlib takes about half a second. A command that will draw starts that import in a thread
(:func:`start_importing_drawing`) before it loads its data, which spends its time in zlib and NumPy,
both of which let the thread run meanwhile, and waits for it once the data are loaded.
"""

from __future__ import annotations

import importlib
import multiprocessing
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Callable

from linclass.threads import CpuMeter, free_cpus_now
from linclass.warning_filters import FILTERS_LOCK


DRAWING_MODULE = "linclass.report.style"
"""The module whose import brings in matplotlib, set up as every report figure needs it."""
_importing: list[threading.Thread] = []


def start_importing_drawing() -> None:
    """Import :data:`DRAWING_MODULE` in a thread beside this one, until :func:`finish_importing_drawing`.

    matplotlib's import changes the warning filters for a while, so the thread holds
    :data:`linclass.warning_filters.FILTERS_LOCK` as it imports. An import that fails is left for
    :func:`draw_pictures`, which imports again and raises the error there, as any other error of
    drawing is raised. The thread does not keep the process from exiting (on an error, or Ctrl-C).
    """
    if DRAWING_MODULE not in sys.modules and not _importing:
        _importing.append(threading.Thread(target=_import_quietly, name=f"import {DRAWING_MODULE}", daemon=True))
        _importing[0].start()


def finish_importing_drawing() -> None:
    """Wait for the import :func:`start_importing_drawing` began, if any. Called before anything forks,
    as a process forked while another thread runs copies that thread's locks held, and before the
    training, whose steps would wait for the interpreter's lock the import holds."""
    while _importing:
        _importing.pop().join()


def _import_quietly() -> None:
    try:
        with FILTERS_LOCK:
            importlib.import_module(DRAWING_MODULE)
    except Exception:  # raised again by the import in draw_pictures
        pass


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
    """Draw every picture, in ``processes`` processes (default: one per free CPU, judged by ``meter`` when
    given, see :func:`linclass.threads.free_cpus_now`), each taking the costliest picture not yet taken."""
    if processes is None:
        processes = free_cpus_now(meter)
    queue = sorted(pictures, key=lambda p: -p.cost)
    workers = max(1, min(processes, len(queue))) - 1
    if workers and "fork" not in multiprocessing.get_all_start_methods():
        workers = 0
    finish_importing_drawing()
    importlib.import_module(DRAWING_MODULE)  # matplotlib: imported once here, not in every process
    drawn = Drawn({}, {}, {})
    claims = Claims(len(queue), shared=workers > 0)
    first = claims.next()  # the costliest starts here at once, before any worker is forked
    sys.stdout.flush()  # a forked process must not write out this one's buffered output a second time
    sys.stderr.flush()
    started = [_start_worker(queue, claims) for _ in range(workers)]
    try:
        index = first
        while index is not None:
            _draw_here(queue[index], drawn)
            index = claims.next()
        for process, connection in started:
            _collect(queue, process, connection, drawn)
    except BaseException:  # an error here, or a stop (Ctrl-C, SIGTERM): the workers end with this process
        _stop(started)
        raise
    for picture in queue:
        if picture.key not in drawn.images:  # its worker failed on it, or died: drawn (or raised) here
            _draw_here(picture, drawn)
    return Drawn({p.key: drawn.images[p.key] for p in pictures}, drawn.seconds, drawn.captions)


class Claims:
    """The next picture to draw, handed out once each: a counter that forked processes share when ``shared``."""

    def __init__(self, count: int, shared: bool) -> None:
        self.count = count
        self.taken = multiprocessing.get_context("fork").Value("i", 0) if shared else None
        self.unshared = 0

    def next(self) -> int | None:
        """The index of a picture no process has taken yet, now taken; None when all are."""
        if self.taken is None:
            index, self.unshared = self.unshared, self.unshared + 1
        else:
            with self.taken.get_lock():
                index = self.taken.value
                self.taken.value = index + 1
        return index if index < self.count else None


def _draw_here(picture: Picture, drawn: Drawn) -> None:
    start = time.perf_counter()
    caption = picture.draw()
    _record(drawn, picture, time.perf_counter() - start, caption)


def _record(drawn: Drawn, picture: Picture, seconds: float, caption: str | None) -> None:
    drawn.images[picture.key] = picture.path
    drawn.seconds[f"picture: {picture.key}"] = seconds
    if caption is not None:
        drawn.captions[picture.key] = caption


def _start_worker(queue: list[Picture], claims: Claims) -> tuple[BaseProcess, Connection]:
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_draw_claimed, args=(queue, claims, sending), daemon=True)
    process.start()
    sending.close()
    return process, receiving


def _draw_claimed(queue: list[Picture], claims: Claims, connection: Connection) -> None:
    """In a forked process: draw each picture it claims, sending back (index, seconds, caption), or
    (index, None, None) for a picture that failed. A stop is the parent's to report: Ctrl-C is left to
    it, and the SIGTERM it sends ends this process quietly, the picture being written removed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _end_quietly)
    index = claims.next()
    while index is not None:
        start = time.perf_counter()
        try:
            caption = queue[index].draw()
        except Exception:  # drawn again by the parent, which raises the error itself
            connection.send((index, None, None))
        else:
            connection.send((index, time.perf_counter() - start, caption))
        index = claims.next()
    connection.close()


def _end_quietly(signum: int, frame: object) -> None:
    """A worker's SIGTERM: exit through the code being run, so that a file half written is removed."""
    raise SystemExit(128 + signum)


def _stop(started: list[tuple[BaseProcess, Connection]]) -> None:
    """End the workers and wait until they have, so that no picture is still being written after this."""
    for process, _ in started:
        process.terminate()
    for process, _ in started:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


def _collect(queue: list[Picture], process: BaseProcess, connection: Connection, drawn: Drawn) -> None:
    """Record what a worker drew, until it closes its end (done, or died)."""
    try:
        while True:
            index, seconds, caption = connection.recv()
            if seconds is not None:
                _record(drawn, queue[index], seconds, caption)
    except EOFError:
        pass
    connection.close()
    process.join()
