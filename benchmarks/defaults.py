"""Out of the box: every estimator at its defaults, linclass's against scikit-learn's, on the same splits.

Each set is split once (a stratified 70/30 split, seed 0, for the small sets; Fashion-MNIST's own 60 000
training and 10 000 test images), and every estimator is fitted with no argument at all on the training
part and scored once on the test part:

* scikit-learn's ``LogisticRegression()``, ``LinearSVC()`` and ``SGDClassifier()``;
* linclass's ``LinearClassifier(loss)`` for each loss, all else at its defaults.

The sets are digits (raw 0–16, and scaled to [0, 1]), iris, wine and breast_cancer with their raw
features, and Fashion-MNIST (raw 0–255 pixels, and scaled to [0, 1]). The target for every set:
linclass's softmax and SVM within 0.5 points of the best of scikit-learn's defaults (or above it), and on
Fashion-MNIST a fit faster than ``LogisticRegression()``'s.

    python benchmarks/defaults.py                 # every set: about 3 minutes on 2 cores
    python benchmarks/defaults.py --small         # the four small sets only (seconds)
    python benchmarks/defaults.py --markdown      # the table as docs/performance.md shows it
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

import linclass as lc
from linclass.losses import LOSSES

TARGET_LOSSES = ("softmax", "svm")
"""The losses held to the target; the others are shown beside them."""
TOLERANCE = 0.5
"""How many points below the best of scikit-learn's defaults linclass's may score and meet the target."""
TIME_LIMIT = 600.0
"""Seconds a fit may run before it is stopped and reported as such."""
FORK = multiprocessing.get_context("fork")


@dataclass
class Split:
    name: str
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def small_sets() -> Iterator[Split]:
    """digits raw and scaled, iris, wine, breast_cancer: stratified 70/30, seed 0."""
    for name, load, scale in (("digits, raw 0–16", load_digits, 1.0), ("digits, scaled to [0, 1]", load_digits, 16.0),
                              ("iris", load_iris, 1.0), ("wine", load_wine, 1.0),
                              ("breast_cancer", load_breast_cancer, 1.0)):
        X, y = load(return_X_y=True)
        yield Split(name, *train_test_split(X / scale, y, test_size=0.3, stratify=y, random_state=0))


def fashion_mnist() -> Iterator[Split]:
    """Fashion-MNIST's own split, as raw uint8 pixels (float32, as every estimator receives them) and /255."""
    data = lc.datasets.load("fashion-mnist")
    X_train = data.X_train.reshape(len(data.X_train), -1).astype(np.float32)
    X_test = data.X_test.reshape(len(data.X_test), -1).astype(np.float32)
    yield Split("Fashion-MNIST, raw 0–255", X_train, X_test, data.y_train, data.y_test)
    yield Split("Fashion-MNIST, scaled to [0, 1]", X_train / 255, X_test / 255, data.y_train, data.y_test)


def contenders() -> list[tuple[str, Callable[[], Any]]]:
    """Every estimator at its defaults: scikit-learn's three, then linclass's, one per loss."""
    sklearn = [("LogisticRegression()", LogisticRegression), ("LinearSVC()", LinearSVC),
               ("SGDClassifier()", SGDClassifier)]
    ours = [(f"LinearClassifier({name!r})", lambda name=name: lc.LinearClassifier(name)) for name in LOSSES]
    return sklearn + ours


def measure(split: Split, time_limit: float) -> list[dict]:
    """Fit and score every contender on ``split``: one row each (accuracy in %, seconds, warnings).

    Each fit runs in a forked process (which shares the split's arrays) stopped after ``time_limit``
    seconds: scikit-learn's ``LinearSVC()`` on raw pixels can run for far longer than the rest together.
    """
    rows = []
    for label, make in contenders():
        receiving, sending = multiprocessing.Pipe(duplex=False)
        child = FORK.Process(target=_fit_and_score, args=(split, make, sending))
        child.start()
        if receiving.poll(time_limit):
            rows.append({"estimator": label, **receiving.recv()})
        else:
            rows.append({"estimator": label, "accuracy": math.nan, "seconds": time_limit, "converged": False,
                         "solver": "", "epochs": None, "stopped": True})
        child.kill()
        child.join()
    return rows


def _fit_and_score(split: Split, make: Callable[[], Any], sending: Any) -> None:
    estimator = make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        started = time.perf_counter()
        estimator.fit(split.X_train, split.y_train)
        seconds = time.perf_counter() - started
    sending.send({"accuracy": 100 * estimator.score(split.X_test, split.y_test), "seconds": seconds,
                  "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
                  "solver": getattr(estimator, "solver_", ""),
                  "epochs": int(np.max(getattr(estimator, "n_iter_", 0))), "stopped": False})


def verdict(split: Split, rows: list[dict]) -> list[str]:
    """Whether linclass's softmax and SVM met the target on this set; one line each."""
    theirs = [row for row in rows if not row["estimator"].startswith("LinearClassifier") and not row["stopped"]]
    best = max(row["accuracy"] for row in theirs)
    logistic = next(row for row in theirs if row["estimator"] == "LogisticRegression()")
    lines = []
    for loss in TARGET_LOSSES:
        row = next(row for row in rows if row["estimator"] == f"LinearClassifier({loss!r})")
        accurate = row["accuracy"] >= best - TOLERANCE
        fast = not split.name.startswith("Fashion") or row["seconds"] < logistic["seconds"]
        met = "met" if accurate and fast else "missed"
        lines.append(f"{split.name}: {loss} {row['accuracy']:.2f}% against the best default's {best:.2f}%, "
                     f"{row['seconds']:.2f} s against LogisticRegression's {logistic['seconds']:.2f} s: {met}")
    return lines


def markdown(results: list[tuple[Split, list[dict]]]) -> str:
    """One table: a row per estimator, a column per set (test accuracy, fit seconds)."""
    head = "| estimator, defaults | " + " | ".join(split.name for split, _ in results) + " |"
    lines = [head, "|---|" + "---:|" * len(results)]
    for i, (label, _) in enumerate(contenders()):
        cells = []
        for _, rows in results:
            row = rows[i]
            if row["stopped"]:
                cells.append(f"stopped after {row['seconds']:.0f} s")
                continue
            mark = "" if row["converged"] else "*"
            cells.append(f"{row['accuracy']:.1f}% ({row['seconds']:.2f} s){mark}")
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("\\* a ConvergenceWarning: the estimator stopped at its iteration limit.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="the four small sets only")
    parser.add_argument("--markdown", action="store_true", help="print the table as docs/performance.md shows it")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT, help="seconds a fit may run (default 600)")
    args = parser.parse_args(argv)
    splits = list(small_sets()) + ([] if args.small else list(fashion_mnist()))
    results, verdicts = [], []
    for split in splits:
        rows = measure(split, args.time_limit)
        results.append((split, rows))
        print(f"\n{split.name} ({len(split.X_train)} training rows, {len(split.X_test)} test rows)", flush=True)
        for row in rows:
            note = "  (stopped at the time limit)" if row["stopped"] else "" if row["converged"] else \
                "  (ConvergenceWarning)"
            print(f"  {row['estimator']:34s} {row['accuracy']:6.2f}%  {row['seconds']:7.2f} s  "
                  f"{row['solver']:6s} {row['epochs'] or '':>5}{note}", flush=True)
        verdicts += verdict(split, rows)
    print("\n" + "\n".join(verdicts))
    if args.markdown:
        print("\n" + markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
