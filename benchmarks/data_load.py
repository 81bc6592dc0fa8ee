"""How long loading a dataset takes and how much memory it needs at its peak, next to its final size.

Fashion-MNIST comes from the Debian package when installed. CIFAR-10 is written here at its real size
(five python batches of 10000 images and a test batch, as pickled dicts) into a temporary folder, and
also converted to a folder of .npy files to time a memory-mapped load. The batches are pickled at
protocol 4, which stores the pixels as one byte string the array is rebuilt on, as the distributed
Python 2 files do (Python 3's protocol 2 would go through a latin-1 text string and need about four
times a batch's size while reading it). Peak memory is what
``tracemalloc`` sees NumPy and Python allocate during the load; the preprocessing line is the peak of
``Preprocessor().fit_transform`` on the training images.

    python benchmarks/data_load.py
"""

from __future__ import annotations

import pickle
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

import linclass as lc

MB = 2**20


def measure(label: str, load) -> object:
    tracemalloc.start()
    start = time.perf_counter()
    result = load()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arrays = [getattr(result, name) for name in ("X_train", "y_train", "X_test", "y_test")] \
        if isinstance(result, lc.datasets.Dataset) else [result]
    size = sum(array.nbytes for array in arrays if not isinstance(array, np.memmap))
    print(f"| {label:<48} | {seconds:7.2f} | {peak / MB:9.0f} | {size / MB:9.0f} |")
    return result


def write_cifar10(folder: Path) -> None:
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, 10000).tolist(),
                 b"data": rng.integers(0, 256, (10000, 3072), dtype=np.uint8),
                 b"filenames": [f"{i}.png".encode() for i in range(10000)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=4))


def main() -> None:
    print("| load                                             | seconds | peak (MB) | data (MB) |")
    print("|--------------------------------------------------|--------:|----------:|----------:|")
    try:
        fashion = measure("fashion-mnist (IDX .gz)", lambda: lc.datasets.load("fashion-mnist"))
        preprocessor = lc.datasets.Preprocessor()
        measure("  Preprocessor().fit_transform(X_train)", lambda: preprocessor.fit_transform(fashion.X_train))
    except lc.DataError as error:
        print(f"fashion-mnist skipped: {error}")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "cifar-10-batches-py"
        folder.mkdir()
        write_cifar10(folder)
        data = measure("cifar10 (python batches, synthetic, full size)",
                       lambda: lc.datasets.load("cifar10", root=temporary))
        converted = lc.datasets.save(data, Path(temporary) / "cifar10-npy")
        del data
        measure("cifar10 as .npy folder, mmap=True", lambda: lc.datasets.load(converted, mmap=True))
        measure("cifar10 as .npy folder, in memory", lambda: lc.datasets.load(converted))


if __name__ == "__main__":
    main()
