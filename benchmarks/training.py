"""Training speed of linclass next to a hand-written NumPy loop, PyTorch and scikit-learn.

One linear softmax classifier on Fashion-MNIST (50000 training images, the 10000 test images; float32,
batch 256, momentum SGD, 15 epochs; see ``training_contenders.py``), trained by every contender.

How it is measured:

* **Mini-batch contenders** (linclass fused, linclass autograd, the NumPy loop, PyTorch) run in this
  one process, after one untimed warm-up epoch each, interleaved (each repeat runs all of them, in a
  rotated order) and repeated, repeat r with seed r. After each epoch the test accuracy is computed
  outside the clock. *Seconds per epoch* is the median over all epochs of all repeats; *time to 84%*
  is the median over repeats of the training seconds (setup included) until the first epoch that
  reaches 84% test accuracy; *test accuracy* is the median final accuracy.
* **scikit-learn** contenders fit once each (LinearSVC alone takes over a minute), each in its own
  process, which gives their time and memory from that one fit.
* **Peak memory**: each contender trains once more in a fresh process. Just before training starts
  (data loaded and preprocessed, libraries imported) the process resets the kernel's high-water mark
  of its resident memory (``/proc/self/clear_refs``); after training it reads the new mark
  (``VmHWM``). *Added* is that peak less the resident memory before training: everything training
  allocates, NumPy, PyTorch or liblinear alike. *× array* is ``(training array + added) / training
  array``, the peak in units of the float32 training array that every contender holds anyway.

    python benchmarks/training.py                 # full run: a few minutes on 2 cores
    python benchmarks/training.py --quick         # 3 epochs, 2 repeats, scikit-learn on 5000 examples
    python benchmarks/training.py --no-sklearn    # the mini-batch contenders only

The machinery (interleaved timing, fresh processes for memory and scikit-learn, the table) takes the
contenders as a :class:`Benchmark`, so that another model's benchmark (``mlp.py``) is measured the same way.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import resource
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import median
from typing import Callable

import numpy as np

import machine
from training_contenders import (MINIBATCH_CONTENDERS, SKLEARN_NAMES, Problem, Settings, Train, load_problem,
                                 sklearn_estimators, subset)

TARGET_ACCURACY = 0.84
MB = 1e6


@dataclass(frozen=True)
class Plan:
    """How much to run: the full benchmark or a quick check."""

    settings: Settings
    repeats: int
    sklearn_examples: int | None  # None: the whole training set

    @property
    def summary(self) -> str:
        """The plan in a few words, for ``--help``."""
        examples = "all" if self.sklearn_examples is None else self.sklearn_examples
        return f"{self.settings.epochs} epochs, {self.repeats} repeats, scikit-learn on {examples} examples"


@dataclass(frozen=True)
class Benchmark:
    """What the machinery of this module measures: the contenders, the plans, and the script whose
    ``--child NAME`` trains one contender in a fresh process (for its memory, and scikit-learn's time)."""

    script: Path
    minibatch: dict[str, Train]
    sklearn: Callable[[Problem, Settings, int], dict[str, object]]  # (problem, settings, examples) -> estimators
    sklearn_names: tuple[str, ...]
    full: Plan
    quick: Plan
    libraries: tuple[str, ...]  # imported by a mini-batch child before training, so none counts as training memory
    sklearn_epochs: bool = False  # whether a scikit-learn fit's ``n_iter_`` counts epochs (it gives s / epoch)

    def plan(self, quick: bool) -> Plan:
        return self.quick if quick else self.full


LINEAR = Benchmark(Path(__file__).resolve(), MINIBATCH_CONTENDERS, sklearn_estimators, SKLEARN_NAMES,
                   full=Plan(Settings(), repeats=5, sklearn_examples=None),
                   quick=Plan(Settings(epochs=3), repeats=2, sklearn_examples=5000),
                   libraries=("torch", "linclass.estimator"))  # ``import linclass`` alone leaves out scikit-learn
"""The linear classifier's benchmark: the contenders of ``training_contenders.py``."""


@dataclass
class Run:
    """One training run: the training seconds and test accuracy at the end of each epoch."""

    seconds: list[float] = field(default_factory=list)     # cumulative, setup included
    accuracies: list[float] = field(default_factory=list)

    @property
    def epoch_seconds(self) -> list[float]:
        return list(np.diff([0.0] + self.seconds))

    def seconds_to(self, accuracy: float) -> float | None:
        reached = [s for s, a in zip(self.seconds, self.accuracies, strict=True) if a >= accuracy]
        return reached[0] if reached else None


@dataclass
class Memory:
    """Resident memory before training and its peak during training, in bytes."""

    before: int
    peak: int
    method: str

    @property
    def added(self) -> int:
        return max(0, self.peak - self.before)

    def times_array(self, array_bytes: int) -> float:
        """The peak in units of the training array: ``(array + added) / array``."""
        return (array_bytes + self.added) / array_bytes


@dataclass
class Contender:
    """Everything measured of one contender."""

    name: str
    runs: list[Run] = field(default_factory=list)
    memory: Memory | None = None
    note: str = ""
    whole_fit: bool = False  # a scikit-learn fit: one point, not a curve
    fit_epochs: int | None = None  # a whole fit's epochs, where its estimator counts them

    @property
    def seconds_per_epoch(self) -> float | None:
        """The median epoch over all runs; a whole fit's seconds over its epochs, where it counts them."""
        if self.whole_fit:
            return self.runs[0].seconds[-1] / self.fit_epochs if self.runs and self.fit_epochs else None
        epochs = [s for run in self.runs for s in run.epoch_seconds]
        return median(epochs) if epochs else None

    @property
    def total_seconds(self) -> float | None:
        return median(run.seconds[-1] for run in self.runs) if self.runs else None

    @property
    def seconds_to_target(self) -> float | None:
        """Median over runs; a run that never reaches the target counts as taking forever."""
        times = [run.seconds_to(TARGET_ACCURACY) for run in self.runs]
        middle = median(math.inf if t is None else t for t in times) if times else math.inf
        return None if math.isinf(middle) else middle

    @property
    def final_accuracy(self) -> float | None:
        return median(run.accuracies[-1] for run in self.runs) if self.runs else None

    def curve(self) -> tuple[list[float], list[float]]:
        """Median cumulative seconds against median accuracy, epoch by epoch, over the runs."""
        return (list(np.median([run.seconds for run in self.runs], axis=0)),
                list(np.median([run.accuracies for run in self.runs], axis=0)))


@dataclass
class Results:
    plan: Plan
    train_array_bytes: int
    contenders: list[Contender]
    others_cpu: float | None = None  # the share of the machine's CPU time other processes used meanwhile
    machine: machine.MachineFigures | None = None  # measured with the linear benchmark
    machine_text: str = ""


# -- timing mini-batch contenders --------------------------------------------------------------------------


def time_run(train, problem: Problem, settings: Settings) -> Run:
    """Train once; the clock stops while the epoch callback measures test accuracy."""
    run = Run()
    paused = 0.0
    start = time.perf_counter()

    def on_epoch(predict) -> None:
        nonlocal paused
        now = time.perf_counter()
        run.seconds.append(now - start - paused)
        run.accuracies.append(float(np.mean(predict(problem.X_test) == problem.y_test)))
        paused += time.perf_counter() - now

    train(problem, settings, on_epoch)
    return run


def time_interleaved(contenders: dict[str, Train], problem: Problem, plan: Plan) -> dict[str, list[Run] | str]:
    """Every repeat runs every contender once, starting one further along the list each time.

    One untimed epoch of each comes first. Repeat r runs every contender with seed r, so that medians
    over repeats are also medians over seeds (the epoch at which 84% is first reached varies by seed).

    A contender that cannot run (its library missing, linclass's classifier not there yet) gives the
    one-line reason instead of runs.
    """
    names = list(contenders)
    outcomes: dict[str, list[Run] | str] = {name: [] for name in names}
    warm_up = replace(plan.settings, epochs=1)
    for name in names:  # untimed: first-use costs (library initialization, fresh pages) are paid here
        try:
            time_run(contenders[name], problem, warm_up)
        except (ImportError, AttributeError, TypeError) as error:
            outcomes[name] = f"not run: {type(error).__name__}: {error}"
    for repeat in range(plan.repeats):
        settings = replace(plan.settings, seed=repeat)
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:
            if isinstance(outcomes[name], str):
                continue
            try:
                outcomes[name].append(time_run(contenders[name], problem, settings))
            except (ImportError, AttributeError, TypeError) as error:
                outcomes[name] = f"not run: {type(error).__name__}: {error}"
            print(f"  repeat {repeat + 1}/{plan.repeats}: {name} done", file=sys.stderr, flush=True)
    return outcomes


# -- fresh processes: memory of everyone, time of scikit-learn -------------------------------------------


def resident_bytes(field_name: str) -> int | None:
    """A ``Vm...`` line of ``/proc/self/status`` in bytes (None where there is no /proc)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak() -> str:
    """Start a new high-water mark of resident memory; say which method will read it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return "VmHWM reset before training"
    except OSError:
        return "ru_maxrss (the whole process's peak, loading included)"


def peak_bytes(method: str) -> int:
    if method.startswith("VmHWM"):
        return resident_bytes("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_main(benchmark: Benchmark, name: str, quick: bool) -> None:
    """Train ``name`` once in this fresh process; print one JSON line with its memory (and time)."""
    plan = benchmark.plan(quick)
    problem = load_problem()
    warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at its default max_iter
    if name in benchmark.sklearn_names:
        problem = subset(problem, plan.sklearn_examples)
        estimator = benchmark.sklearn(problem, plan.settings, len(problem.X_train))[name]
    else:  # every library a contender could import, so that no child counts an import as training memory
        for module in benchmark.libraries:
            importlib.import_module(module)
    before = resident_bytes("VmRSS") or 0
    method = reset_peak()
    result: dict = {}
    if name in benchmark.sklearn_names:
        start = time.perf_counter()
        estimator.fit(problem.X_train, problem.y_train)
        result["seconds"] = time.perf_counter() - start
        result["accuracy"] = float(np.mean(estimator.predict(problem.X_test) == problem.y_test))
        if benchmark.sklearn_epochs:
            result["epochs"] = int(estimator.n_iter_)
    else:
        benchmark.minibatch[name](problem, plan.settings, lambda predict: None)
    result.update(before=before, peak=peak_bytes(method), method=method)
    print(json.dumps(result))


def run_child(benchmark: Benchmark, name: str, quick: bool) -> dict | str:
    """Run :func:`child_main` in a fresh Python (the benchmark's script); its JSON result, or the reason it failed."""
    command = [sys.executable, str(benchmark.script), "--child", name] + (["--quick"] if quick else [])
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        lines = finished.stderr.strip().splitlines() or ["(no error output)"]
        return f"not run: {lines[-1]}"
    return json.loads(finished.stdout.strip().splitlines()[-1])


# -- how busy others keep the machine --------------------------------------------------------------------


def cpu_seconds() -> tuple[float, float, float] | None:
    """Wall-clock seconds, CPU seconds busy on the whole machine (``/proc/stat``), and CPU seconds of this
    process and its finished children; None where there is no /proc."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return None
    idle = ticks[3] + ticks[4]  # idle and iowait
    own = os.times()
    return (time.perf_counter(), (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK"),
            own.user + own.system + own.children_user + own.children_system)


def others_share(before: tuple[float, float, float] | None, after: tuple[float, float, float] | None) -> float | None:
    """The share of all cores' time between two :func:`cpu_seconds` readings that other processes used."""
    if before is None or after is None:
        return None
    wall, busy, own = (b - a for a, b in zip(before, after, strict=True))
    return max(0.0, busy - own) / (wall * (os.cpu_count() or 1))


# -- the whole benchmark -------------------------------------------------------------------------------


def measure(benchmark: Benchmark, problem: Problem, quick: bool, sklearn: bool = True) -> list[Contender]:
    """Every contender of ``benchmark`` (scikit-learn's only when ``sklearn``); see the module docstring for how."""
    plan = benchmark.plan(quick)
    names = list(benchmark.minibatch)
    print(f"timing {', '.join(names)}: {plan.repeats} interleaved repeats", file=sys.stderr, flush=True)
    outcomes = time_interleaved(benchmark.minibatch, problem, plan)
    contenders = []
    for name in names:
        contender = Contender(name)
        if isinstance(outcomes[name], str):
            contender.note = outcomes[name]
        else:
            contender.runs = outcomes[name]
            print(f"memory of {name}", file=sys.stderr, flush=True)
            child = run_child(benchmark, name, quick)
            if isinstance(child, str):
                contender.note = "memory " + child
            else:
                contender.memory = Memory(child["before"], child["peak"], child["method"])
        contenders.append(contender)
    for name in benchmark.sklearn_names if sklearn else ():
        print(f"fitting {name}", file=sys.stderr, flush=True)
        contender = Contender(name, whole_fit=True)
        child = run_child(benchmark, name, quick)
        if isinstance(child, str):
            contender.note = child
        else:
            contender.runs = [Run([child["seconds"]], [child["accuracy"]])]
            contender.fit_epochs = child.get("epochs")
            contender.memory = Memory(child["before"], child["peak"], child["method"])
            if plan.sklearn_examples is not None:
                contender.note = f"fitted on {plan.sklearn_examples} examples"
        contenders.append(contender)
    return contenders


def run(quick: bool = False, sklearn: bool = True, benchmark: Benchmark = LINEAR,
        machine_figures: bool = True) -> Results:
    """Measure the machine (with ``machine_figures``) and every contender of ``benchmark`` (scikit-learn's
    only when ``sklearn``)."""
    cpu_before = cpu_seconds()
    problem = load_problem()
    figures = None
    if machine_figures:
        print("measuring the machine", file=sys.stderr, flush=True)
        figures = machine.measure(problem.X_train, problem.n_classes)
    contenders = measure(benchmark, problem, quick, sklearn)
    return Results(benchmark.plan(quick), problem.X_train.nbytes, contenders, others_share(cpu_before, cpu_seconds()),
                   figures, "" if figures is None else machine.describe(figures, problem.X_train))


# -- reporting -------------------------------------------------------------------------------------------


def _seconds(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ratio(value: float | None, reference: float | None) -> str:
    return "—" if value is None or not reference else f"{value / reference:.2f}×"


def table(results: Results, references: tuple[str, ...] = ("NumPy loop", "PyTorch"),
          time_to_target: bool = True) -> str:
    """The results as a markdown table: seconds per epoch as multiples of each reference contender's, and
    (with ``time_to_target``) the seconds to :data:`TARGET_ACCURACY`."""
    by_name = {c.name: c for c in results.contenders}
    reference_epochs = [by_name[name].seconds_per_epoch for name in references]
    target_header = [f"s to {TARGET_ACCURACY:.0%}"] if time_to_target else []
    headers = (["contender", "s / epoch"] + [f"× {name}" for name in references] + target_header
               + ["total s", "test accuracy", "memory added (MB)", "peak × array", "note"])
    alignments = ["---"] + ["---:"] * (len(headers) - 2) + ["---"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(alignments) + "|"]
    for c in results.contenders:
        epoch = c.seconds_per_epoch
        memory = c.memory
        peak = None if memory is None else memory.times_array(results.train_array_bytes)
        cells = [c.name, _seconds(epoch, 4), *(_ratio(epoch, reference) for reference in reference_epochs),
                 *([_seconds(c.seconds_to_target, 2)] if time_to_target else []), _seconds(c.total_seconds, 2),
                 "—" if c.final_accuracy is None else f"{c.final_accuracy:.2%}",
                 "—" if memory is None else f"{memory.added / MB:.0f}",
                 "—" if peak is None else f"{peak:.2f}",
                 c.note]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def settings_line(results: Results, model: str = "softmax") -> str:
    """The model and recipe, the repeats, and how busy other work kept the machine's cores."""
    s = results.plan.settings
    return (f"{model}, reg {s.reg}, lr {s.lr}, momentum {s.momentum}, batch {s.batch_size}, {s.epochs} epochs; "
            f"{results.plan.repeats} interleaved repeats; training array {results.train_array_bytes / MB:.0f} MB; "
            + ("other processes' CPU use unknown" if results.others_cpu is None else
               f"other processes used {results.others_cpu:.0%} of the machine's CPU time meanwhile"))


def plot(results: Results, path: Path) -> None:
    """Test accuracy against training seconds for every contender (log time axis), saved as PNG."""
    from matplotlib.figure import Figure

    from linclass.files import write_atomically

    figure = Figure(figsize=(8, 5), layout="constrained")
    axes = figure.subplots()
    for contender in results.contenders:
        if not contender.runs:
            continue
        if contender.whole_fit:
            axes.plot(contender.runs[0].seconds, contender.runs[0].accuracies, "s", markersize=8,
                      label=contender.name)
        else:
            seconds, accuracies = contender.curve()
            axes.plot(seconds, accuracies, "o-", markersize=3, label=contender.name)
    axes.axhline(TARGET_ACCURACY, color="gray", linestyle="--", linewidth=1)
    axes.set_xscale("log")
    axes.set_xlabel("training seconds (log scale; test evaluation not counted)")
    axes.set_ylabel("test accuracy")
    axes.set_title("Fashion-MNIST, linear softmax classifier: accuracy against wall-clock time")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", loc="best")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda stream: figure.savefig(stream, format="png", dpi=110))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=LINEAR.quick.summary)
    parser.add_argument("--plot", type=Path, default=Path("training_accuracy.png"),
                        help="where to write the accuracy-against-time plot (PNG)")
    parser.add_argument("--no-sklearn", action="store_true", help="leave out the scikit-learn fits (minutes)")
    parser.add_argument("--child", metavar="CONTENDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(LINEAR, args.child, args.quick)
        return
    results = run(args.quick, sklearn=not args.no_sklearn)
    plot(results, args.plot)
    print(results.machine_text + "\n\n" + settings_line(results) + "\n\n" + table(results))
    print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
