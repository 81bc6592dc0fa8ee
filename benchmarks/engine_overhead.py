"""How much time the engine spends per operation, next to PyTorch on the CPU.

For each operation and size, the table gives the time of the forward pass alone (with a graph
recorded, as in training) and of forward plus backward (``out.backward(gradient)`` into leaves that
require grad), for linclass and PyTorch, and their ratio (linclass / PyTorch; below 1 is faster). Small
tensors (10×10) measure the per-operation Python overhead; large ones (1000×1000) the arithmetic.
Both run single-threaded in float32, so the comparison is like for like.

    python benchmarks/engine_overhead.py            # prints a markdown table
    python benchmarks/engine_overhead.py --quick    # fewer repetitions
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before NumPy loads its BLAS

import argparse  # noqa: E402
import timeit  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import linclass as lc  # noqa: E402

SIZES = {"small": 10, "large": 1000}

# operation name -> (function of the module and its inputs, number of tensor inputs)
OPERATIONS = {
    "add": (lambda m, a, b, rows, cols: a + b, 2),
    "mul": (lambda m, a, b, rows, cols: a * b, 2),
    "matmul": (lambda m, a, b, rows, cols: a @ b, 2),
    "sum": (lambda m, a, b, rows, cols: a.sum(), 1),
    "exp": (lambda m, a, b, rows, cols: a.exp(), 1),
    "log_softmax": (lambda m, a, b, rows, cols: m.log_softmax(a, dim=1), 1),
    "index": (lambda m, a, b, rows, cols: a[rows, cols], 1),
}


def per_call_seconds(statement, repeat: int, min_seconds: float) -> float:
    """The fastest time of one call, over ``repeat`` runs each lasting at least ``min_seconds``."""
    timer = timeit.Timer(statement)
    number = 1
    while timer.timeit(number) < min_seconds:
        number *= 2
    return min(timer.repeat(repeat=repeat, number=number)) / number


def measure(module, op, n: int, repeat: int, min_seconds: float) -> tuple[float, float]:
    """Seconds per forward and per forward+backward of ``op`` on n×n float32 inputs."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, n)).astype(np.float32) for _ in range(2)]
    labels = rng.integers(0, n, size=n)
    function, n_inputs = op
    if module is torch:
        a, b = (torch.tensor(x, requires_grad=i < n_inputs) for i, x in enumerate(arrays))
        rows, cols = torch.arange(n), torch.tensor(labels)
    else:
        a, b = (lc.tensor(x, requires_grad=i < n_inputs) for i, x in enumerate(arrays))
        rows, cols = lc.arange(n), lc.tensor(labels)
    leaves = (a, b)[:n_inputs]
    out = function(module, a, b, rows, cols)
    gradient = torch.ones_like(out) if module is torch else np.ones_like(out.data)

    def forward():
        return function(module, a, b, rows, cols)

    def forward_backward():
        for leaf in leaves:
            leaf.grad = None
        function(module, a, b, rows, cols).backward(gradient)

    return (per_call_seconds(forward, repeat, min_seconds),
            per_call_seconds(forward_backward, repeat, min_seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter repetitions")
    args = parser.parse_args()
    repeat, min_seconds = (3, 0.05) if args.quick else (7, 0.2)
    torch.set_num_threads(1)

    print(f"linclass {lc.__version__}, NumPy {np.__version__}, PyTorch {torch.__version__}; "
          "CPU, 1 thread, float32; µs per call (best of runs); ratio = linclass / PyTorch\n")
    print("| op | size | forward linclass | forward torch | ratio | fwd+bwd linclass | fwd+bwd torch | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for size_name, n in SIZES.items():
        for name, op in OPERATIONS.items():
            ours = measure(lc, op, n, repeat, min_seconds)
            theirs = measure(torch, op, n, repeat, min_seconds)
            cells = []
            for mine, reference in zip(ours, theirs):
                cells += [f"{mine * 1e6:.1f}", f"{reference * 1e6:.1f}", f"{mine / reference:.2f}"]
            print(f"| {name} | {size_name} {n}×{n} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
