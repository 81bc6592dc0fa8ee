"""Datasets: reading them from files, splitting them, and turning images into feature vectors.

Available as ``linclass.datasets``::

    import linclass as lc
    data = lc.datasets.load("fashion-mnist")            # Dataset: X_train, y_train, X_test, y_test, ...
    X_train, y_train, X_val, y_val = lc.datasets.train_val_split(data.X_train, data.y_train, 10000)
    pre = lc.datasets.Preprocessor(center="mean")
    features = pre.fit_transform(X_train)                # float32 (50000, 784)

One module per format (``idx``, ``cifar``, ``folder``, ``arrays``, ``builtin``), one for where sets are
looked for (``locate``), the catalog of named sets with ``load`` (``catalog``), and splits,
preprocessing and single images (``splits``, ``preprocess``, ``images``).
"""

from linclass.data.arrays import save
from linclass.data.catalog import describe, known_datasets, load
from linclass.data.dataset import Dataset
from linclass.data.images import load_image
from linclass.data.preprocess import Preprocessor
from linclass.data.splits import split_indices, train_val_split
from linclass.errors import DataError

__all__ = ["DataError", "Dataset", "Preprocessor", "describe", "known_datasets", "load", "load_image", "save",
           "split_indices", "train_val_split"]
