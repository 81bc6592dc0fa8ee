"""Where an epoch's time goes: the hand-written NumPy loop phase by phase, and linclass under cProfile.

``phases`` times each part of one mini-batch step of the NumPy loop (``training_contenders.numpy_loop``)
and of the same step written to copy and allocate less, summed over an epoch: gathering the batch,
the forward product, the softmax and its gradient, the backward product, the update. It also times
the batch orders a loop can use, so that their cost can be weighed against the products'.
``cprofile`` runs ``LinearClassifier.fit`` under cProfile and prints the functions that take longest.

    python benchmarks/profile_training.py phases
    python benchmarks/profile_training.py cprofile --solver fused
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import defaultdict

import numpy as np

import linclass as lc
from training_contenders import Problem, Settings, load_problem


class PhaseClock:
    """Adds the seconds since the last mark to the named phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.last = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] += now - self.last
        self.last = now


def plain_epoch(problem: Problem, settings: Settings, W: np.ndarray, b: np.ndarray, clock: PhaseClock,
                rng: np.random.Generator) -> None:
    """One epoch of the NumPy loop as a user writes it (momentum left out: it costs the same everywhere)."""
    X, y, batch = problem.X_train, problem.y_train, settings.batch_size
    order = rng.permutation(len(X))
    clock.mark("batch order")
    for start in range(0, len(X), batch):
        rows = order[start:start + batch]
        X_batch, y_batch = X[rows], y[rows]
        clock.mark("gather X[rows]")
        scores = X_batch @ W + b
        clock.mark("forward X@W")
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        probs[np.arange(len(rows)), y_batch] -= 1
        probs /= len(rows)
        clock.mark("softmax and dscores")
        grad_W = X_batch.T @ probs
        clock.mark("backward Xᵀ@G")
        grad_W += 2 * settings.reg * W
        W -= settings.lr * grad_W
        b -= settings.lr * probs.sum(axis=0)
        clock.mark("regularization and update")


def lean_epoch(problem: Problem, settings: Settings, W: np.ndarray, b: np.ndarray, clock: PhaseClock,
               rng: np.random.Generator, contiguous: bool) -> None:
    """The same epoch with preallocated buffers, ``out=`` everywhere and, when ``contiguous``, batches that
    are contiguous slices (no gathering: the rows are taken in stored order)."""
    X, y, batch = problem.X_train, problem.y_train, settings.batch_size
    X_buffer = np.empty((batch, X.shape[1]), dtype=X.dtype)
    scores_buffer = np.empty((batch, W.shape[1]), dtype=X.dtype)
    grad_W = np.empty_like(W)
    order = rng.permutation(len(X))
    clock.mark("batch order")
    for start in range(0, len(X), batch):
        if contiguous:
            X_batch, y_batch = X[start:start + batch], y[start:start + batch]
            clock.mark("slice X[a:b] (no copy)")
        else:
            rows = order[start:start + batch]
            X_batch, y_batch = X_buffer[:len(rows)], y[rows]
            np.take(X, rows, axis=0, out=X_batch)
            clock.mark("gather np.take(out=)")
        n = len(y_batch)
        scores = np.matmul(X_batch, W, out=scores_buffer[:n])
        clock.mark("forward X@W")
        scores += b
        loss, dscores = lc.losses.softmax_loss_and_grad(scores, y_batch)
        clock.mark("softmax and dscores")
        np.matmul(X_batch.T, dscores, out=grad_W)
        clock.mark("backward Xᵀ@G")
        grad_W += 2 * settings.reg * W
        grad_W *= settings.lr
        W -= grad_W
        b -= settings.lr * dscores.sum(axis=0)
        clock.mark("regularization and update")


def phases(epochs: int) -> None:
    problem, settings = load_problem(), Settings()
    shape = (problem.X_train.shape[1], problem.n_classes)
    variants = {
        "hand-written loop": plain_epoch,
        "buffers + np.take(out=)": lambda *args: lean_epoch(*args, contiguous=False),
        "buffers + contiguous batches": lambda *args: lean_epoch(*args, contiguous=True),
    }
    for name, epoch in variants.items():
        W, b = np.zeros(shape, dtype=np.float32), np.zeros(shape[1], dtype=np.float32)
        rng = np.random.default_rng(0)
        epoch(problem, settings, W, b, PhaseClock(), rng)  # warm-up
        clock = PhaseClock()
        for _ in range(epochs):
            epoch(problem, settings, W, b, clock, rng)
        total = sum(clock.seconds.values())
        print(f"\n{name}: {total / epochs * 1e3:.1f} ms per epoch")
        for phase, seconds in clock.seconds.items():
            print(f"  {phase:<28} {seconds / epochs * 1e3:6.1f} ms  {seconds / total:5.1%}")


def profile_fit(solver: str, epochs: int) -> None:
    problem = load_problem()
    classifier = lc.LinearClassifier(lr=0.05, epochs=epochs, solver=solver)
    classifier.fit(problem.X_train[:1000], problem.y_train[:1000])  # warm-up
    profiler = cProfile.Profile()
    profiler.enable()
    classifier.fit(problem.X_train, problem.y_train)
    profiler.disable()
    print(f"LinearClassifier(solver={solver!r}).fit, {epochs} epochs on {len(problem.X_train)} examples")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("phases", "cprofile"))
    parser.add_argument("--solver", choices=("fused", "autograd"), default="fused")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    if args.what == "phases":
        phases(args.epochs)
    else:
        profile_fit(args.solver, args.epochs)


if __name__ == "__main__":
    main()
