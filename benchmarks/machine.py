"""What the machine itself can do: its BLAS, matrix-product speed and memory-read speed.

These figures bound every contender of the training benchmark from below. An epoch of a linear
classifier must read the training array at least twice (scores ``X W``, gradient ``Xᵀ G``) and do
``4 N D K`` floating-point operations, so the *floor* of an epoch is the larger of the two times
"two reads at the measured read speed" and "the operations at the measured GEMM speed". The *two
passes* figure is what NumPy's BLAS takes for those two products over the whole array at once.

    python benchmarks/machine.py
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

GEMM_SIZE = 2048  # a square float32 product this big runs at the BLAS's best speed


@dataclass(frozen=True)
class MachineFigures:
    """Seconds and rates measured on the training array (N × D float32) with K classes."""

    blas: str
    cores: int
    gemm_gflops: float          # square float32 GEMM, operations per second / 1e9
    read_gb_per_s: float        # bytes of the training array read per second / 1e9 (a GEMV)
    two_passes_seconds: float   # X @ W plus Xᵀ @ G over the whole training array
    floor_seconds: float        # max(two reads at read speed, 4 N D K operations at GEMM speed)


def blas_description() -> str:
    """Each loaded BLAS as threadpoolctl reports it: the package that ships it (NumPy's is the one that
    matters here; SciPy's comes with scikit-learn), library, version, kernel (architecture), threads.

    The ``OPENBLAS_CORETYPE`` environment variable, when set, forces OpenBLAS's kernel choice; it is
    reported, never changed.
    """
    from threadpoolctl import threadpool_info

    parts = [f"{_package(info['filepath'])}: {info.get('internal_api')} {info.get('version')}, kernel "
             f"{info.get('architecture')}, {info.get('num_threads')} threads"
             for info in threadpool_info() if info.get("user_api") == "blas"]
    forced = {name: os.environ[name] for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if name in os.environ}
    if forced:
        parts.append("set by the environment: " + ", ".join(f"{k}={v}" for k, v in forced.items()))
    return "; ".join(parts) or "no BLAS found by threadpoolctl"


def _package(library_path: str) -> str:
    """The Python package that ships a library: ``.../numpy.libs/libopenblas.so`` → ``numpy``."""
    return Path(library_path).parent.name.removesuffix(".libs")


def cpu_name() -> str:
    """The processor's model name from ``/proc/cpuinfo`` (Linux), else the machine type."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def best_seconds(action: Callable[[], object], repeat: int = 7) -> float:
    """The fastest of ``repeat`` timed calls (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(X: np.ndarray, n_classes: int, repeat: int = 7) -> MachineFigures:
    """Measure the machine on the training array ``X`` (N × D float32) for a model of ``n_classes``."""
    n, d = X.shape
    rng = np.random.default_rng(0)
    A = rng.standard_normal((GEMM_SIZE, GEMM_SIZE), dtype=np.float32)
    gemm_gflops = 2 * GEMM_SIZE**3 / best_seconds(lambda: A @ A, repeat) / 1e9
    ones = np.ones(d, dtype=np.float32)
    read_gb_per_s = X.nbytes / best_seconds(lambda: X @ ones, repeat) / 1e9
    W = np.zeros((d, n_classes), dtype=np.float32)
    G = rng.standard_normal((n, n_classes), dtype=np.float32)
    two_passes = best_seconds(lambda: (X @ W, X.T @ G), repeat)
    floor = max(2 * X.nbytes / (read_gb_per_s * 1e9), 4 * n * d * n_classes / (gemm_gflops * 1e9))
    return MachineFigures(blas_description(), os.cpu_count() or 1, gemm_gflops, read_gb_per_s, two_passes, floor)


def describe(figures: MachineFigures, X: np.ndarray) -> str:
    """The figures as markdown lines."""
    return "\n".join([
        f"- CPU: {cpu_name()}, {figures.cores} cores; "
        f"NumPy {np.__version__}; BLAS: {figures.blas}",
        f"- float32 GEMM ({GEMM_SIZE}×{GEMM_SIZE}): {figures.gemm_gflops:.0f} GFLOP/s; "
        f"reading the {X.nbytes / 1e6:.0f} MB training array (GEMV): {figures.read_gb_per_s:.1f} GB/s",
        f"- one pass of X@W plus one of Xᵀ@G over the training array: {figures.two_passes_seconds * 1e3:.1f} ms; "
        f"physical floor of an epoch: {figures.floor_seconds * 1e3:.1f} ms",
    ])


def main() -> None:
    from training_contenders import load_problem

    problem = load_problem()
    print(describe(measure(problem.X_train, problem.n_classes), problem.X_train))


if __name__ == "__main__":
    main()
