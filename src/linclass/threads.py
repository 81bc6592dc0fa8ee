"""How many BLAS threads a training step uses: as many as its size deserves, never more than the CPUs free.

A step of linear-classifier training multiplies a batch by the weights and back, e.g. 256 × 784 by
784 × 10: about 4 million floating-point operations per product, some 40 µs on one core. Splitting so
little work between threads gains little on an idle machine, and on a machine whose other cores are
busy it is a disaster: a BLAS thread that waits for a core stalls every product it shares (with one
core of two taken by another process, two threads made an epoch ten times slower than one).

So the count is chosen from two facts:

- the work of one step (:func:`step_flops`): a thread is worth starting for every
  :data:`FLOPS_PER_THREAD` operations;
- the CPUs free for this process (:func:`free_cpus`): those it may run on (its affinity) less those
  other processes keep busy, judged from the load average before training and, during training, from
  ``/proc/stat`` over each epoch, less this process's own CPU time (:class:`CpuMeter`).

An explicit choice always wins: a ``threads`` setting, or one of the environment variables BLAS
libraries read (:data:`THREAD_VARIABLES`), which leaves the libraries as the user configured them.
The limit is applied through threadpoolctl, to the BLAS libraries only and only while training runs.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Mapping

__all__ = ["ThreadChoice", "choose_threads", "free_cpus", "free_cpus_now", "step_flops", "usable_cpus",
           "environment_setting", "CpuMeter", "blas_threads", "THREAD_VARIABLES", "FLOPS_PER_THREAD"]

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Environment variables through which a user sets the BLAS libraries' thread count themselves."""
FLOPS_PER_THREAD = 2e6
"""Floating-point operations of one step that justify one more BLAS thread. Below about this much
work per thread, waking and joining the threads costs as much as it saves. Measured with OpenBLAS on
2 idle cores (20 000 rows, 5 epochs): a second thread changes nothing at 2 MFLOP a step (256 × 196 × 10),
saves 15–20% at 4 MFLOP and 30% at 8 MFLOP, the 256 × 784 × 10 step of Fashion-MNIST; so that step gets
two threads on an idle machine, and one while another process keeps a core busy."""
BUSY_SHARE = 0.5
"""A CPU counts as taken when other processes use at least this share of it."""
MIN_WINDOW_SECONDS = 0.1
"""The shortest stretch of time over which :class:`CpuMeter` judges the other processes' CPU use (the
kernel counts CPU time in ticks of 10 ms, so a shorter window is mostly rounding)."""


@dataclass(frozen=True)
class ThreadChoice:
    """The BLAS thread count of a fit and why: ``threads`` is None when the environment decides."""

    threads: int | None
    reason: str


def step_flops(batch_size: int, n_features: int, n_classes: int) -> float:
    """Floating-point operations of one step's two products: scores ``X W`` and the gradient ``Xᵀ dS``."""
    return 2 * 2.0 * batch_size * n_features * n_classes


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask where the system has one, else all of them."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def free_cpus(usable: int, others_busy: float) -> int:
    """The CPUs left of ``usable`` when other processes keep ``others_busy`` CPUs' worth busy (at least 1)."""
    taken = math.floor(max(others_busy, 0.0) + 1.0 - BUSY_SHARE)
    return max(1, usable - taken)


def free_cpus_now(meter: CpuMeter | None = None) -> int:
    """The CPUs free for this process now (see :func:`free_cpus`): judged from what other processes did
    since ``meter`` was started (training's seconds, say), else from the load average, which lags by a
    minute and counts this process's own recent work as well."""
    usable = usable_cpus()
    others = None if meter is None else meter.others_busy()
    return free_cpus(usable, others_from_load_average(usable) if others is None else others)


def choose_threads(flops: float, usable: int, others_busy: float) -> int:
    """The thread count for steps of ``flops`` operations on ``usable`` CPUs of which others use ``others_busy``.

    One thread per :data:`FLOPS_PER_THREAD` of work, at least one, and no more than the CPUs free.
    """
    wanted = max(1, math.floor(flops / FLOPS_PER_THREAD))
    return min(wanted, free_cpus(usable, others_busy))


def environment_setting(environ: Mapping[str, str] | None = None) -> str | None:
    """``"NAME=value"`` for the first of :data:`THREAD_VARIABLES` that is set, else None."""
    environ = os.environ if environ is None else environ
    for name in THREAD_VARIABLES:
        if environ.get(name, "").strip():
            return f"{name}={environ[name].strip()}"
    return None


def others_from_load_average(usable: int) -> float:
    """Other processes' CPU use guessed from the 1-minute load average, less this process's own thread.

    It lags by a minute, so it is only the first guess, before an epoch has been measured.
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0
    return min(float(usable), max(0.0, load - 1.0))


class CpuMeter:
    """Measures how many CPUs other processes kept busy since the last reading.

    Busy time of the whole machine comes from ``/proc/stat`` (everything but idle and I/O wait; on a
    virtual machine, time stolen by the host counts as busy too); this process's own CPU time, all its
    threads together, comes from :func:`os.times` and is subtracted.
    """

    STAT = "/proc/stat"

    def __init__(self) -> None:
        self.available = os.path.exists(self.STAT)
        self.ticks_per_second = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._start = self._reading()

    def others_busy(self) -> float | None:
        """CPUs' worth of other processes' work since the last call that returned a figure.

        None while less than :data:`MIN_WINDOW_SECONDS` has passed (the window then keeps growing), or
        where the machine has no ``/proc/stat``.
        """
        if not self.available:
            return None
        now = self._reading()
        wall = now[0] - self._start[0]
        if wall < MIN_WINDOW_SECONDS:
            return None
        machine = (now[1] - self._start[1]) / self.ticks_per_second
        own = now[2] - self._start[2]
        self._start = now
        return max(0.0, (machine - own) / wall)

    def _reading(self) -> tuple[float, int, float]:
        """Wall clock, busy ticks of all CPUs, this process's CPU seconds."""
        times = os.times()
        return time.monotonic(), self._busy_ticks(), times.user + times.system

    def _busy_ticks(self) -> int:
        if not self.available:
            return 0
        with open(self.STAT, encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        idle, iowait = fields[3], fields[4]
        guest = sum(fields[8:10])  # guest time is already counted in user time
        return sum(fields) - idle - iowait - guest


class BlasThreads:
    """The BLAS thread limit of one fit, chosen at its start and revised after every epoch.

    Parameters
    ----------
    threads : int or None
        An explicit count (it wins over everything), or None to choose.
    flops : float
        The operations of one step (:func:`step_flops`).
    """

    def __init__(self, threads: int | None, flops: float, environ: Mapping[str, str] | None = None) -> None:
        self.flops = flops
        self.usable = usable_cpus()
        setting = environment_setting(environ)
        small = choose_threads(flops, self.usable, 0.0) == 1  # one thread, however idle the machine
        self.adaptive = threads is None and setting is None and not small
        if threads is not None:
            self.choice = ThreadChoice(int(threads), f"set by threads={threads}")
        elif setting is not None:
            self.choice = ThreadChoice(None, f"set by the environment ({setting})")
        elif small:
            self.choice = ThreadChoice(1, f"{flops / 1e6:.0f} MFLOP per step, less than two threads' worth "
                                          f"({FLOPS_PER_THREAD / 1e6:.0f} MFLOP each)")
        else:
            self.choice = self._chosen(others_from_load_average(self.usable), "load average")
        self.meter = CpuMeter() if self.adaptive else None
        self._limiter = None

    def _chosen(self, others: float, measured_by: str) -> ThreadChoice:
        threads = choose_threads(self.flops, self.usable, others)
        return ThreadChoice(threads, f"{self.flops / 1e6:.0f} MFLOP per step, {self.usable} CPU(s) usable, "
                                     f"{others:.1f} busy with other processes ({measured_by})")

    def apply(self) -> None:
        """Limit the BLAS libraries to the chosen count (nothing when the environment decides)."""
        self.release()
        if self.choice.threads is not None:
            from threadpoolctl import threadpool_limits

            self._limiter = threadpool_limits(limits=self.choice.threads, user_api="blas")

    def revise(self) -> None:
        """After an epoch: choose again from the other processes' CPU use measured since the last choice."""
        others = None if self.meter is None else self.meter.others_busy()
        if others is None:
            return
        revised = self._chosen(others, "measured during training")
        changed = revised.threads != self.choice.threads
        self.choice = revised
        if changed:
            self.apply()

    def release(self) -> None:
        """Give the BLAS libraries back the thread counts they had."""
        if self._limiter is not None:
            self._limiter.restore_original_limits()
            self._limiter = None


@contextmanager
def blas_threads(threads: int | None, flops: float) -> Iterator[BlasThreads]:
    """Run the block with the BLAS thread count chosen for steps of ``flops`` operations (see the module)."""
    limit = BlasThreads(threads, flops)
    limit.apply()
    try:
        yield limit
    finally:
        limit.release()
