"""Data larger than memory: a fit's peak resident memory and epoch time, in memory and streamed from shards.

Fashion-MNIST is written once as shards (``write_dataset_shards``: 54000 training rows, 6000 for
validation, 10000 for the test) into a temporary folder. Each case then runs in a fresh Python process
that fits ``LinearClassifier(epochs=3)`` — on the whole training split preprocessed in memory, or on
the shards streamed in blocks of a given size (its preprocessing fitted in a streaming pass) — and
reports its peak resident memory (``VmHWM`` of ``/proc/self/status``, which counts the pages of memory
maps too), the memory after its imports, the seconds of an epoch and the test accuracy.

    python benchmarks/out_of_core.py [--epochs N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

CASES = ("in memory", "64M", "8M", "1M")

FIT = textwrap.dedent("""
    import json, sys, time
    import linclass as lc
    from linclass.distributed import Shards
    from linclass.limits import parse_size

    def peak():
        return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))

    folder, case, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    clf = lc.LinearClassifier(epochs=epochs)  # scikit-learn is imported before the memory after imports is read
    imports = peak()
    start = time.perf_counter()
    if case == "in memory":
        data = lc.datasets.load(folder)
        pre = lc.datasets.Preprocessor().fit(data.X_train)
        X, y = pre.transform(data.X_train), data.y_train
        start = time.perf_counter()
        clf.fit(X, y)
    else:
        stream = Shards(folder, block_size=parse_size(case))
        pre = stream.fit_preprocessor(lc.datasets.Preprocessor())
        start = time.perf_counter()
        clf.fit(stream)
    seconds = (time.perf_counter() - start) / epochs
    fit_peak = peak()
    X_test, y_test = Shards(folder, "test").read()
    print(json.dumps({"peak": fit_peak, "imports": imports, "epoch": seconds,
                      "accuracy": clf.score(pre.transform(X_test), y_test)}))
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    import linclass as lc
    from linclass.distributed import write_dataset_shards

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "fashion-mnist"
        write_dataset_shards(lc.datasets.load("fashion-mnist"), folder)
        size = sum(path.stat().st_size for path in folder.glob("train-*-X.npy"))
        print(f"Fashion-MNIST training shards: {size / 2**20:.1f} MiB of uint8 pixels "
              f"({size * 4 / 2**20:.1f} MiB as float32 features)\n")
        print(f"{'case':<10} {'peak RSS':>9} {'after imports':>14} {'epoch':>8} {'test accuracy':>14}")
        for case in CASES:
            result = subprocess.run([sys.executable, "-c", FIT, str(folder), case, str(args.epochs)],
                                    capture_output=True, text=True, check=True)
            measured = json.loads(result.stdout)
            print(f"{case:<10} {measured['peak'] / 2**20:>5.0f} MiB {measured['imports'] / 2**20:>10.0f} MiB "
                  f"{measured['epoch']:>6.2f} s {measured['accuracy']:>14.4f}")


if __name__ == "__main__":
    main()
