"""The training part of a run's data as dask arrays that the workers load themselves (``--cluster``).

The client has prepared the data (:func:`linclass.cli.pipeline.prepare_data`: loaded, split, the
preprocessing fitted on the training part); the workers do not get it from the client. Each chunk of the
training part is a task that loads the dataset on its worker, splits it with the run's seed, takes its
rows and applies the client's preprocessing, so the rows a worker trains on are the client's, read there.
A worker process keeps the split of the last dataset it loaded, so its several chunks load it once.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from linclass.distributed.cluster import worker_addresses

if TYPE_CHECKING:  # a worker loading its rows needs neither
    from linclass.cli.pipeline import PreparedData
    from linclass.data import Preprocessor

__all__ = ["training_arrays", "CHUNKS_PER_WORKER"]

CHUNKS_PER_WORKER = 2
"""Chunks of the training part per worker: more than one, so that a dead worker's work spreads out."""

DataKey = tuple[str, str | None, tuple[int, int] | None, float, int]
"""What decides the training part: data, root, image size, validation fraction, seed."""


def training_arrays(options: Mapping[str, Any], prepared: "PreparedData", client: Any) -> tuple[Any, Any]:
    """The features and labels of ``prepared``'s training part, as dask arrays whose chunks the workers of
    ``client`` load and preprocess themselves (the client's ``prepared.preprocessor``)."""
    import dask.array as da
    from dask import delayed

    size = None if options["image_size"] is None else (int(options["image_size"][0]), int(options["image_size"][1]))
    key: DataKey = (str(options["data"]), options["root"], size, float(options["val_fraction"]), int(options["seed"]))
    n, d = prepared.train.features.shape
    chunk = math.ceil(n / (CHUNKS_PER_WORKER * max(len(worker_addresses(client)), 1)))
    bounds = [(start, min(start + chunk, n)) for start in range(0, n, chunk)]
    features = [da.from_delayed(delayed(_features, pure=True)(key, prepared.preprocessor, start, stop),
                                shape=(stop - start, d), dtype=np.float32) for start, stop in bounds]
    labels = [da.from_delayed(delayed(_labels, pure=True)(key, start, stop), shape=(stop - start,),
                              dtype=prepared.train.labels.dtype) for start, stop in bounds]
    return da.concatenate(features), da.concatenate(labels)


@functools.lru_cache(maxsize=1)
def _training_part(key: DataKey) -> tuple[np.ndarray, np.ndarray]:
    """On a worker: the training part's images and labels, as :func:`linclass.cli.pipeline.prepare_data` splits them."""
    from linclass import data
    from linclass.cli.common import load_data

    name, root, size, val_fraction, seed = key
    dataset = load_data(name, root=root, image_size=size)
    X_train, y_train, _, _ = data.train_val_split(dataset.X_train, dataset.y_train, val_size=val_fraction, seed=seed)
    return X_train, y_train


def _features(key: DataKey, preprocessor: "Preprocessor", start: int, stop: int) -> np.ndarray:
    return preprocessor.transform(_training_part(key)[0][start:stop])


def _labels(key: DataKey, start: int, stop: int) -> np.ndarray:
    return _training_part(key)[1][start:stop]
