"""How much time the engine spends per operation, next to PyTorch on the CPU.

For each operation and size, the table gives the time of the forward pass alone (with a graph
recorded, as in training) and of forward plus backward (``out.backward(gradient)`` into leaves that
require grad), for linclass and PyTorch, and their ratio (linclass / PyTorch; below 1 is faster). Small
tensors (10×10) measure the per-operation Python overhead; large ones (1000×1000) the arithmetic.
Both run single-threaded in float32, so the comparison is like for like.

    python benchmarks/engine_overhead.py            # prints a markdown table
    python benchmarks/engine_overhead.py --quick    # fewer repetitions
    python benchmarks/engine_overhead.py --chain 1000000   # deep graphs only: a chain of 10⁶ ops

The chain section builds one long graph, ``y = op(y)`` a million times from a 0-d leaf, and
backpropagates through it, each contender in a fresh process (3 interleaved repeats and medians with
``--chain``, one run after the per-operation table): the
time of the forward and the backward pass, and the memory the graph holds per node (the rise of
the process's resident memory while the graph is built).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before NumPy loads its BLAS

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import timeit  # noqa: E402

import numpy as np  # noqa: E402

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
    if module is not lc:
        torch = module
        a, b = (torch.tensor(x, requires_grad=i < n_inputs) for i, x in enumerate(arrays))
        rows, cols = torch.arange(n), torch.tensor(labels)
    else:
        a, b = (lc.tensor(x, requires_grad=i < n_inputs) for i, x in enumerate(arrays))
        rows, cols = lc.arange(n), lc.tensor(labels)
    leaves = (a, b)[:n_inputs]
    out = function(module, a, b, rows, cols)
    gradient = module.ones_like(out) if module is not lc else np.ones_like(out.data)

    def forward():
        return function(module, a, b, rows, cols)

    def forward_backward():
        for leaf in leaves:
            leaf.grad = None
        function(module, a, b, rows, cols).backward(gradient)

    return (per_call_seconds(forward, repeat, min_seconds),
            per_call_seconds(forward_backward, repeat, min_seconds))


# chain step name -> what one step does to y (``c`` is a 0-d constant tensor of the same module)
CHAIN_STEPS = {
    "y * 1.0000001": lambda y, c: y * 1.0000001,
    "y + c": lambda y, c: y + c,
    "y.tanh()": lambda y, c: y.tanh(),
    "(y * c).exp()": lambda y, c: (y * c).exp(),
}


def resident_bytes() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS"))


def chain_child(module_name: str, step_name: str, n: int) -> None:
    """Build and backpropagate one chain in this process; print its times and bytes per node as JSON.

    Only the contender's own library is imported: Python's garbage collector walks every object of the
    process, so PyTorch's modules would slow linclass's graph building if they were loaded beside it.
    """
    module = importlib.import_module("torch") if module_name == "torch" else lc
    step = CHAIN_STEPS[step_name]
    x, c = module.tensor(1.0, requires_grad=True), module.tensor(0.5 if "exp" not in step_name else 1.0)
    before = resident_bytes()
    start = time.perf_counter()
    y = x
    for _ in range(n // (2 if "exp" in step_name else 1)):
        y = step(y, c)
    built = time.perf_counter()
    grown = resident_bytes() - before
    y.backward()
    done = time.perf_counter()
    print(json.dumps({"forward": built - start, "backward": done - built, "bytes_per_node": grown / n}))


def chain_table(n: int, repeats: int = 3) -> None:
    """The chain section: each contender in fresh processes, interleaved, medians."""
    how = f"{repeats} interleaved runs, medians" if repeats > 1 else "one run each"
    print(f"\nChain of {n:,} operations from a 0-d leaf, forward then backward; {how}; memory is the resident "
          "growth per node while the graph is built.\n")
    print("| step | forward linclass | forward torch | backward linclass | backward torch "
          "| total ratio | bytes/node linclass | bytes/node torch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for step_name in CHAIN_STEPS:
        runs: dict[str, list[dict]] = {"lc": [], "torch": []}
        for _ in range(repeats):
            for contender in runs:
                output = subprocess.run([sys.executable, __file__, "--chain-child", contender, step_name, str(n)],
                                        check=True, capture_output=True, text=True).stdout
                runs[contender].append(json.loads(output))
        median = {c: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for c, rs in runs.items()}
        ours, theirs = median["lc"], median["torch"]
        ratio = (ours["forward"] + ours["backward"]) / (theirs["forward"] + theirs["backward"])
        print(f"| `{step_name}` | {ours['forward']:.2f} s | {theirs['forward']:.2f} s | {ours['backward']:.2f} s "
              f"| {theirs['backward']:.2f} s | {ratio:.2f} | {ours['bytes_per_node']:.0f} "
              f"| {theirs['bytes_per_node']:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter repetitions")
    parser.add_argument("--chain", type=int, metavar="N", help="only the deep-graph section, with chains of N ops")
    parser.add_argument("--chain-child", nargs=3, metavar=("MODULE", "STEP", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.chain_child:
        module_name, step_name, n = args.chain_child
        chain_child(module_name, step_name, int(n))
        return
    if args.chain:
        chain_table(args.chain)
        return
    repeat, min_seconds = (3, 0.05) if args.quick else (7, 0.2)
    torch = importlib.import_module("torch")
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
            for mine, reference in zip(ours, theirs, strict=True):
                cells += [f"{mine * 1e6:.1f}", f"{reference * 1e6:.1f}", f"{mine / reference:.2f}"]
            print(f"| {name} | {size_name} {n}×{n} | " + " | ".join(cells) + " |", flush=True)
    chain_table(100_000 if args.quick else 1_000_000, repeats=1)


if __name__ == "__main__":
    main()
