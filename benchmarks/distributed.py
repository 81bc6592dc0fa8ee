"""Training on a Dask cluster: rows per second and test accuracy on 1 and 2 workers, against dask-ml.

    python benchmarks/distributed.py                 # Fashion-MNIST replicated 8x: 480 000 rows
    python benchmarks/distributed.py --json out.json

The rows are made on the workers (a delayed loader reads Fashion-MNIST there; the replicas are slices of
it), never on the client. Each contender trains for the same epochs on the same dask arrays:

* linclass ``averaging="parameters"`` with the weights averaged once an epoch (iterative parameter
  mixing) and every 50 steps, on ``LocalCluster``\\ s of 1 and 2 worker processes (one thread each);
* linclass ``averaging="gradients"``, K = 1 (one large batch a step), for a few hundred steps: its rate;
* dask-ml's ``Incremental(SGDClassifier(loss="log_loss"))``, whose ``partial_fit`` visits the blocks one
  after another (``pip install dask-ml``; skipped, and said so, when it is missing);
* one process: ``LinearClassifier`` on the same rows in memory.

Then the costs the cost model of ``docs/scaling.md`` is built from: one fused step on one thread for
Fashion-MNIST's and ImageNet-32's shapes, and a synchronization round trip with a model of each size.
Rows per second count training epochs only (``history_["epochs"][-1]["seconds"]``), not the loading.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

# Run as a script, this file's folder comes first on the path, and its name would hide the package.
sys.path = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

REPLICAS = 8
EPOCHS = 3
BATCH = 256


def _fashion_mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST's training and test sets as features in [0, 1], centered on the training mean."""
    import linclass as lc

    data = lc.datasets.load("fashion-mnist")
    X_train = data.X_train.reshape(len(data.X_train), -1).astype(np.float32) / 255
    X_test = data.X_test.reshape(len(data.X_test), -1).astype(np.float32) / 255
    mean = X_train.mean(axis=0)
    return X_train - mean, data.y_train, X_test - mean, data.y_test


def _training_set() -> tuple[np.ndarray, np.ndarray]:
    """On a worker: the training set (read once; its slices are the replicas)."""
    X, y, _, _ = _fashion_mnist()
    return X, y


def replicated(client, replicas: int = REPLICAS, chunks_per_replica: int = 2):
    """Fashion-MNIST's 60 000 training rows ``replicas`` times, as dask arrays built on the workers."""
    import dask.array as da
    from dask import delayed

    base = delayed(_training_set, pure=True)()
    n, d = 60_000, 784
    size = n // chunks_per_replica
    X_parts, y_parts = [], []
    for _ in range(replicas):
        for start in range(0, n, size):
            X_parts.append(da.from_delayed(base[0][start:start + size], shape=(size, d), dtype=np.float32))
            y_parts.append(da.from_delayed(base[1][start:start + size], shape=(size,), dtype=np.int64))
    X, y = da.concatenate(X_parts), da.concatenate(y_parts)
    return client.persist(X), client.persist(y)


def linclass_run(client, X, y, X_test, y_test, **settings) -> dict:
    import linclass as lc

    clf = lc.LinearClassifier(batch_size=BATCH, lr=0.01 * len(client.nthreads()), **settings)
    start = time.perf_counter()
    clf.fit(X, y)
    wall = time.perf_counter() - start
    seconds = clf.history_["epochs"][-1]["seconds"]
    epochs = len(clf.history_["epochs"])
    steps = len(clf.history_["loss"])
    workers = len(client.nthreads())
    rows = len(X) * epochs if settings.get("iterations") is None else steps * BATCH * workers
    return {"contender": "linclass", **settings, "lr": clf.lr, "epochs": epochs, "iterations": steps,
            "training_seconds": round(seconds, 3), "fit_seconds": round(wall, 3),
            "rows_per_second": round(rows / seconds),
            "steps_per_second": round(steps / seconds, 1),
            "test_accuracy": round(float(clf.score(X_test, y_test)), 4)}


def dask_ml_run(X, y, X_test, y_test) -> dict:
    try:
        from dask_ml.wrappers import Incremental
    except ImportError as error:
        return {"contender": "dask-ml Incremental(SGDClassifier)", "skipped": f"dask-ml is not installed: {error}"}
    from sklearn.linear_model import SGDClassifier

    model = Incremental(SGDClassifier(loss="log_loss", alpha=1e-4, random_state=0))
    classes = np.arange(10)
    start = time.perf_counter()
    for _ in range(EPOCHS):  # partial_fit passes once over the blocks, one block after another
        model.partial_fit(X, y, classes=classes)
    seconds = time.perf_counter() - start
    return {"contender": "dask-ml Incremental(SGDClassifier)", "epochs": EPOCHS, "training_seconds": round(seconds, 3),
            "rows_per_second": round(len(X) * EPOCHS / seconds),
            "test_accuracy": round(float(np.mean(model.predict(X_test) == y_test)), 4)}


def one_process(X_train, y_train, X_test, y_test) -> dict:
    import linclass as lc

    X = np.concatenate([X_train] * REPLICAS)
    y = np.concatenate([y_train] * REPLICAS)
    clf = lc.LinearClassifier(batch_size=BATCH, epochs=EPOCHS, lr=0.01, threads=1).fit(X, y)
    seconds = clf.history_["epochs"][-1]["seconds"]
    return {"contender": "linclass, one process, in memory (1 BLAS thread)", "epochs": EPOCHS,
            "training_seconds": round(seconds, 3), "rows_per_second": round(len(X) * EPOCHS / seconds),
            "test_accuracy": round(float(clf.score(X_test, y_test)), 4)}


def step_seconds(features: int, classes: int, steps: int = 50) -> float:
    """One fused step (B=256) on one BLAS thread, for a model of ``classes`` × ``features``."""
    from threadpoolctl import threadpool_limits

    from linclass.model import init_weights
    from linclass.train import TrainConfig, Trainer

    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH * 8, features), dtype=np.float32)
    y = rng.integers(0, classes, len(X))
    trainer = Trainer(*init_weights(classes, features, rng), TrainConfig(), rng)
    with threadpool_limits(1, user_api="blas"):
        trainer._fused_epoch(X, y, iter([range(0, BATCH)] * 3))
        start = time.perf_counter()
        trainer._fused_epoch(X, y, iter([range(i % 8 * BATCH, (i % 8 + 1) * BATCH) for i in range(steps)]))
    return (time.perf_counter() - start) / steps


def _echo(W: np.ndarray) -> np.ndarray:
    return W


def round_trip_seconds(client, shape: tuple[int, int], copies: int, rounds: int = 10) -> float:
    """A synchronization without compute: ``copies`` arrays of ``shape`` (the weights, and the optimizer's
    buffers with parameter averaging) sent to every worker and back, gathered on the client."""
    arrays = [np.zeros(shape, dtype=np.float32) for _ in range(copies)]
    workers = sorted(client.nthreads())  # not scheduler_info(): see linclass.distributed.cluster.worker_addresses
    client.gather([client.submit(_echo, arrays, workers=[w], pure=False) for w in workers])
    start = time.perf_counter()
    for _ in range(rounds):
        client.gather([client.submit(_echo, arrays, workers=[w], pure=False) for w in workers])
    return (time.perf_counter() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    X_train, y_train, X_test, y_test = _fashion_mnist()
    results: dict = {"rows": REPLICAS * len(X_train), "epochs": EPOCHS, "batch_size": BATCH, "runs": [],
                     "costs": {}}
    results["runs"].append(one_process(X_train, y_train, X_test, y_test))
    print(results["runs"][-1], flush=True)
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            X, y = replicated(client)
            runs = [dict(averaging="parameters", sync_every=10**6, epochs=EPOCHS),
                    dict(averaging="parameters", sync_every=50, epochs=EPOCHS),
                    dict(averaging="gradients", sync_every=1, iterations=300)]
            for settings in runs:
                results["runs"].append({"workers": workers, **linclass_run(client, X, y, X_test, y_test, **settings)})
                print(results["runs"][-1], flush=True)
            results["runs"].append({"workers": workers, **dask_ml_run(X, y, X_test, y_test)})
            print(results["runs"][-1], flush=True)
            if workers == 2:
                for name, shape in (("fashion-mnist", (10, 784)), ("imagenet-32", (1000, 3072))):
                    for copies in (1, 2):
                        results["costs"][f"round trip {name} x{copies}"] = round_trip_seconds(client, shape, copies)
    results["costs"]["step fashion-mnist"] = step_seconds(784, 10)
    results["costs"]["step imagenet-32"] = step_seconds(3072, 1000, steps=10)
    print(json.dumps(results["costs"], indent=1))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
