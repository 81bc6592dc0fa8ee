"""Cold start: a whole process per fit, as a user's script meets it, for linclass, the NumPy loop and PyTorch.

Each fit runs in a fresh Python process that loads the preprocessed Fashion-MNIST training array from
``.npy`` files (the same for every contender), imports its library, and fits once with the shared
recipe of ``training_contenders.py`` for 1 and for 15 epochs. The parent times the whole process from
outside; the process itself reports how long loading, the import and the fit took, and, for linclass,
the sum of its epochs (its ``history_``), so that its *setup* — the fit less its epochs: the checks,
the labels, the shuffled copy — shows on its own. The processes run interleaved (every repeat runs
every contender, in a rotated order) and each figure is a median over repeats.

    python benchmarks/cold_start.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

CONTENDERS = ("linclass fused", "NumPy loop", "PyTorch")
EPOCH_COUNTS = (1, 15)
LIBRARIES = {"linclass fused": "linclass.estimator", "NumPy loop": None, "PyTorch": "torch"}
"""The module each contender's fit needs beyond NumPy, imported (and timed) before the fit."""


@dataclass
class ColdRuns:
    """The medians of one contender's fresh-process fits, by number of epochs."""

    name: str
    process: dict[int, list[float]] = field(default_factory=dict)   # whole process, timed from outside
    imports: list[float] = field(default_factory=list)
    fit: dict[int, list[float]] = field(default_factory=dict)       # the fit alone, the import not included
    epochs: dict[int, list[float]] = field(default_factory=dict)    # linclass: the sum of its epochs
    threads: str = ""
    note: str = ""

    def median_of(self, table: dict[int, list[float]], epochs: int) -> float | None:
        values = table.get(epochs)
        return median(values) if values else None

    def setup(self, epochs: int) -> float | None:
        """The fit less its epochs (linclass only: it reports its epochs' own seconds)."""
        fit, inside = self.median_of(self.fit, epochs), self.median_of(self.epochs, epochs)
        return None if fit is None or inside is None else fit - inside


def save_problem(folder: Path) -> None:
    """The benchmark's preprocessed training array and labels, as ``.npy`` files every child loads."""
    import numpy as np

    from training_contenders import load_problem

    problem = load_problem()
    np.save(folder / "X_train.npy", problem.X_train)
    np.save(folder / "y_train.npy", problem.y_train)


def child_main(name: str, epochs: int, folder: Path) -> None:
    """In a fresh process: load, import, fit; print the seconds of each as one JSON line."""
    started = time.perf_counter()
    import numpy as np

    from training_contenders import MINIBATCH_CONTENDERS, Problem, Settings

    X, y = np.load(folder / "X_train.npy"), np.load(folder / "y_train.npy")
    loaded = time.perf_counter()
    if LIBRARIES[name] is not None:
        importlib.import_module(LIBRARIES[name])
    imported = time.perf_counter()
    fitted: list = []

    def on_epoch(predict) -> None:
        fitted[:] = [getattr(predict, "__self__", None)]  # linclass: the classifier whose predict this is

    problem = Problem(X, y, X[:0], y[:0])
    MINIBATCH_CONTENDERS[name](problem, Settings(epochs=epochs), on_epoch)
    finished = time.perf_counter()
    report = {"load": loaded - started, "import": imported - loaded, "fit": finished - imported}
    classifier = fitted[0] if fitted else None
    if hasattr(classifier, "history_"):
        report["epochs"] = classifier.history_["epochs"][-1]["seconds"]
        choice = classifier.threads_
        report["threads"] = f"{choice.threads} ({choice.reason})"
    print(json.dumps(report))


def parts_main(folder: Path) -> None:
    """In a fresh process: the seconds of each part of a linclass fit's setup, as one JSON line.

    The parts are those :meth:`linclass.LinearClassifier.fit` and :meth:`linclass.train.Trainer.fit` run
    before the first epoch, called one by one on the same data; the finiteness check is timed both as
    it is (one sum) and as it was (a mask as large as the data).
    """
    started = time.perf_counter()
    import numpy as np

    X, y = np.load(folder / "X_train.npy"), np.load(folder / "y_train.npy")
    seconds = {"loading the .npy files": time.perf_counter() - started}

    def timed(name: str, function):
        start = time.perf_counter()
        result = function()
        seconds[name] = time.perf_counter() - start
        return result

    timed("import linclass (the engine, NumPy only)", lambda: importlib.import_module("linclass"))
    estimator = timed("import the estimator (no scikit-learn)", lambda: importlib.import_module("linclass.estimator"))
    from linclass.estimator_contract import checked_training_data
    from linclass.train import ROW_ORDER_STREAM

    clf = estimator.LinearClassifier()
    X, y = timed("the features and labels checked", lambda: checked_training_data(
        clf, X, y, dtype=np.float32, order="C", reset=True))
    timed("finiteness: one sum (now)", lambda: np.isfinite(X.sum()))
    timed("finiteness: a mask (before)", lambda: np.isfinite(X).all())
    timed("labels: the classes", lambda: np.unique(y, return_inverse=True))
    order = np.random.default_rng((0, ROW_ORDER_STREAM)).permutation(len(X))
    timed("the shuffled copy of the rows", lambda: (X[order], y[order]))
    print(json.dumps(seconds))


def setup_parts(folder: Path) -> dict[str, float] | str:
    """:func:`parts_main` in a fresh process, or why it failed."""
    command = [sys.executable, str(Path(__file__).resolve()), "--parts", str(folder)]
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        return f"failed: {(finished.stderr.strip().splitlines() or ['(no output)'])[-1]}"
    return json.loads(finished.stdout.strip().splitlines()[-1])


def parts_line(parts: dict[str, float] | str) -> str:
    if isinstance(parts, str):
        return f"The parts of linclass's setup: not measured ({parts})."
    return ("The parts of linclass's setup, one by one in a fresh process: "
            + "; ".join(f"{name} {seconds:.3f} s" for name, seconds in parts.items()) + ".")


def run_child(name: str, epochs: int, folder: Path) -> tuple[float, dict] | str:
    """One fresh process: its wall-clock seconds from outside and its own report, or why it failed."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name, str(epochs), str(folder)]
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if finished.returncode != 0:
        return f"failed: {(finished.stderr.strip().splitlines() or ['(no output)'])[-1]}"
    return seconds, json.loads(finished.stdout.strip().splitlines()[-1])


@dataclass
class ColdStart:
    """The fresh-process fits of every contender, and the parts of linclass's setup."""

    runs: list[ColdRuns]
    parts: dict[str, float] | str


def run(quick: bool = False) -> ColdStart:
    """Every contender's 1- and 15-epoch fits in fresh processes, interleaved, 3 repeats (1 when quick)."""
    results = {name: ColdRuns(name) for name in CONTENDERS}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        save_problem(folder)
        parts = setup_parts(folder)
        for repeat in range(1 if quick else 3):
            order = CONTENDERS[repeat % len(CONTENDERS):] + CONTENDERS[:repeat % len(CONTENDERS)]
            for name in order:
                for epochs in EPOCH_COUNTS:
                    outcome = run_child(name, epochs, folder)
                    record(results[name], epochs, outcome)
            print(f"  cold start: repeat {repeat + 1} done", file=sys.stderr, flush=True)
    return ColdStart(list(results.values()), parts)


def record(runs: ColdRuns, epochs: int, outcome: tuple[float, dict] | str) -> None:
    if isinstance(outcome, str):
        runs.note = outcome
        return
    seconds, report = outcome
    runs.process.setdefault(epochs, []).append(seconds)
    runs.fit.setdefault(epochs, []).append(report["fit"])
    runs.imports.append(report["import"])
    if "epochs" in report:
        runs.epochs.setdefault(epochs, []).append(report["epochs"])
        runs.threads = report["threads"]


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def table(results: list[ColdRuns]) -> str:
    """The markdown table: whole processes, import, fits, linclass's setup, and the ratios to the NumPy loop."""
    loop = next(runs for runs in results if runs.name == "NumPy loop")
    lines = ["| contender | process, 1 epoch | process, 15 epochs | import | fit, 1 epoch | fit, 15 epochs "
             "| setup (fit less epochs) | fit, 15 epochs × NumPy loop | process, 15 epochs × NumPy loop |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for runs in results:
        ratios = []
        for kind in ("fit", "process"):
            mine, theirs = runs.median_of(getattr(runs, kind), 15), loop.median_of(getattr(loop, kind), 15)
            ratios.append("—" if mine is None or not theirs else f"{mine / theirs:.2f}×")
        setup = runs.setup(15)
        lines.append(f"| {runs.name} | {_seconds(runs.median_of(runs.process, 1))} | "
                     f"{_seconds(runs.median_of(runs.process, 15))} | "
                     f"{_seconds(median(runs.imports) if runs.imports else None)} | "
                     f"{_seconds(runs.median_of(runs.fit, 1))} | {_seconds(runs.median_of(runs.fit, 15))} | "
                     f"{_seconds(setup)} | {ratios[0]} | {ratios[1]} |" + (f" {runs.note}" if runs.note else ""))
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child_main(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--parts":
        parts_main(Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat instead of three")
    results = run(parser.parse_args().quick)
    print(table(results.runs))
    print(f"\nlinclass's BLAS threads: {results.runs[0].threads}\n\n{parts_line(results.parts)}")


if __name__ == "__main__":
    main()
