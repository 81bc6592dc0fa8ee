"""A busy machine: the same training with one CPU-bound process running beside it.

On a shared machine another process often keeps a core busy. This section trains each contender of
``training_contenders.py`` for a few epochs on a quiet machine and then with a *spinner* beside it: a
child Python process that does nothing but spin on one CPU, started for the busy round only, bounded
to :data:`SPIN_SECONDS` and stopped as soon as the round ends. Quiet and busy rounds alternate, every
round runs every contender in a rotated order, after one untimed epoch each, and each figure is the
median seconds per epoch over all epochs of all rounds of its kind.

Besides linclass as it is (the BLAS thread count chosen for the step and the free CPUs), the table has
linclass with as many BLAS threads as the CPUs it may use, which is what it did before it chose: the
same code, before and after, measured side by side; and linclass held to one BLAS thread, quiet and
busy, which is what a busy core leaves it: its own slowdown is the machine's (two virtual CPUs may share
one physical core, or the host may be loaded), which no choice of threads can undo.

    python benchmarks/busy_machine.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from statistics import median

from training import time_run
from training_contenders import MINIBATCH_CONTENDERS, Problem, Settings, linclass_classifier, load_problem

from linclass.threads import usable_cpus

SPIN_SECONDS = 300
"""The longest a spinner may live, even if this benchmark is killed before it can stop it."""
SPINNER = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"
BEFORE = "linclass fused, BLAS threads = CPUs (before)"
ONE_THREAD = "linclass fused, 1 BLAS thread"


@dataclass
class BusyRuns:
    """One contender's seconds per epoch, quiet and busy, and linclass's thread choices."""

    name: str
    quiet: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    threads: dict[str, str] = field(default_factory=dict)  # "quiet" / "busy" -> the choice linclass made

    def per_epoch(self, kind: str) -> float | None:
        values = getattr(self, kind)
        return median(values) if values else None

    @property
    def slowdown(self) -> float | None:
        quiet, busy = self.per_epoch("quiet"), self.per_epoch("busy")
        return None if quiet is None or busy is None else busy / quiet


def contenders() -> dict:
    """linclass (threads chosen), linclass with a thread per usable CPU and with one, the NumPy loop and
    PyTorch."""
    return {"linclass fused": MINIBATCH_CONTENDERS["linclass fused"],
            BEFORE: linclass_classifier("fused", threads=usable_cpus()),
            ONE_THREAD: linclass_classifier("fused", threads=1),
            "NumPy loop": MINIBATCH_CONTENDERS["NumPy loop"], "PyTorch": MINIBATCH_CONTENDERS["PyTorch"]}


class Spinner:
    """A CPU-bound child process for the length of a ``with`` block (and never longer than SPIN_SECONDS)."""

    def __enter__(self) -> "Spinner":
        self.process = subprocess.Popen([sys.executable, "-c", SPINNER.format(seconds=SPIN_SECONDS)])
        time.sleep(0.5)  # let it take its core before the clock starts
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def timed_round(kind: str, trainers: dict, problem: Problem, settings: Settings, rotation: int,
                results: dict[str, BusyRuns]) -> None:
    """Every contender once, in an order rotated by ``rotation``, its epochs added to ``results[...].<kind>``."""
    names = list(trainers)
    for name in names[rotation % len(names):] + names[:rotation % len(names)]:
        timed_run(kind, trainers[name], problem, settings, results[name])


def timed_run(kind: str, trainer, problem: Problem, settings: Settings, runs: BusyRuns) -> None:
    """One contender's run, its epochs added to ``runs.<kind>`` and linclass's thread choice kept."""
    fitted = []

    def train(problem, settings, on_epoch):
        def watch(predict):
            fitted[:] = [getattr(predict, "__self__", None)]  # linclass: the classifier whose predict it is
            on_epoch(predict)

        trainer(problem, settings, watch)

    run = time_run(train, problem, settings)
    getattr(runs, kind).extend(run.epoch_seconds[1:])  # the first epoch carries the fit's setup
    choice = getattr(fitted[0], "threads_", None) if fitted else None
    if choice is not None:
        runs.threads[kind] = f"{choice.threads} ({choice.reason})"


def run(quick: bool = False, problem: Problem | None = None) -> list[BusyRuns]:
    """Alternate quiet and busy rounds (3 of each, 1 when quick) of every contender."""
    problem = load_problem() if problem is None else problem
    trainers = contenders()
    settings = Settings(epochs=3 if quick else 4)
    results = {name: BusyRuns(name) for name in trainers}
    for train in trainers.values():  # untimed: first-use costs are paid here
        time_run(train, problem, replace(settings, epochs=1))
    for repeat in range(1 if quick else 3):
        round_settings = replace(settings, seed=repeat)
        timed_round("quiet", trainers, problem, round_settings, repeat, results)
        with Spinner():
            timed_round("busy", trainers, problem, round_settings, repeat, results)
        print(f"  busy machine: repeat {repeat + 1} done", file=sys.stderr, flush=True)
    return list(results.values())


def table(results: list[BusyRuns]) -> str:
    """The markdown table: seconds per epoch quiet and busy, the slowdown, and linclass's thread choices."""
    lines = ["| contender | s / epoch, quiet | s / epoch, one core busy | busy × quiet | BLAS threads (busy) |",
             "|---|---:|---:|---:|---|"]
    for runs in results:
        quiet, busy, slowdown = runs.per_epoch("quiet"), runs.per_epoch("busy"), runs.slowdown
        lines.append(f"| {runs.name} | {_seconds(quiet)} | {_seconds(busy)} | "
                     f"{'—' if slowdown is None else f'{slowdown:.2f}×'} | {runs.threads.get('busy', '')} |")
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one quiet and one busy round of 3 epochs")
    print(table(run(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
