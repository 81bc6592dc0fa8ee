"""The ``Dataset``: what every loader returns, and the checks every loader makes on what it read.

A dataset is N examples ``{(x_i, y_i)}`` with labels in ``0..K-1``, kept in two parts: a training set
(to be split again into training and validation) and a test set kept aside until the end. Images stay
``uint8`` until preprocessing turns them into float features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from linclass.errors import DataError, printable


@dataclass
class Dataset:
    """Training and test splits of one dataset, with its class names and image shape.

    Attributes
    ----------
    name : str
        The dataset's name (``"fashion-mnist"``) or the stem of the file or folder it came from.
    X_train, X_test : np.ndarray
        Images as ``uint8`` arrays ``N×H×W`` (greyscale) or ``N×H×W×C`` (colour); arrays read from
        ``.npz`` / ``.csv`` / ``.npy`` files may be ``N×D`` numbers of any numeric dtype.
    y_train, y_test : np.ndarray
        ``int64`` labels in ``0..K-1``.
    classes : list of str
        Class names; ``classes[k]`` names label ``k``.
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)`` for images, ``(D,)`` for plain feature vectors.
    source : str
        Where the data was read from.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    image_shape: tuple[int, ...]
    source: str

    def __repr__(self) -> str:
        shape = "×".join(str(n) for n in self.image_shape)
        return (f"Dataset({self.name!r}: {len(self.X_train)} train + {len(self.X_test)} test, {shape} "
                f"{self.X_train.dtype}, {len(self.classes)} classes, from {self.source})")


def check_examples(X: np.ndarray, y: np.ndarray, n_classes: int, where: str) -> None:
    """Raise ``DataError`` unless there is one label in ``0..n_classes-1`` per example.

    ``where`` names the file (or files) the arrays came from, for the message.
    """
    if len(X) != len(y):
        raise DataError(f"{where}: {len(X)} examples but {len(y)} labels; the files do not belong together")
    if len(y) == 0:
        raise DataError(f"{where}: no examples")
    if y.ndim != 1:
        raise DataError(f"{where}: labels must be one number per example, got an array of shape {y.shape}")
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= n_classes:
        bad = low if low < 0 else high
        raise DataError(f"{where}: label {bad} is outside 0..{n_classes - 1} ({n_classes} classes)")


def check_classes(y_train: np.ndarray, classes: Sequence[str], where: str) -> None:
    """``DataError`` unless the training labels hold at least two classes: one class leaves nothing to tell apart."""
    present = np.unique(y_train)
    if len(present) < 2:
        only = f"class {printable(classes[int(present[0])])!r}" if len(present) else "no class"
        raise DataError(f"{where}: the training set holds only {only}; a classifier needs examples of at "
                        "least two classes")


def non_finite(values: np.ndarray, block_rows: int = 2**16) -> tuple[int, tuple[int, ...]] | None:
    """How many NaN or infinite values ``values`` holds and the index of the first; None when all are finite.

    Read ``block_rows`` rows at a time, so that a memory-mapped array is not pulled into memory at once.
    """
    if values.dtype.kind not in "fc":
        return None
    values = np.atleast_1d(values)
    count, first = 0, None
    for start in range(0, len(values), block_rows):
        bad = ~np.isfinite(values[start:start + block_rows])
        found = int(np.count_nonzero(bad))
        if found and first is None:
            index = np.unravel_index(int(np.argmax(bad)), bad.shape)
            first = (start + int(index[0]),) + tuple(int(i) for i in index[1:])
        count += found
    return None if first is None else (count, first)


def check_finite(values: np.ndarray, name: str, where: str) -> None:
    """``DataError`` naming how many values of array ``name`` are NaN or infinite, and where the first is."""
    found = non_finite(values)
    if found is not None:
        count, first = found
        raise DataError(f"{where}: {name} holds {count} NaN/inf value{'s' * (count > 1)}, first at "
                        f"{name}[{', '.join(map(str, first))}]")


def encode_labels(train: np.ndarray, test: np.ndarray, classes: Sequence[str] | None,
                  where: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Turn raw labels into ``int64`` indices ``0..K-1`` and name the classes.

    With ``classes`` given, labels are indices into it (or, for string labels, its names). Without it,
    non-negative integers are class indices (``K = max + 1``, names ``"0"``, ``"1"``, ...); any other
    labels (strings, negative numbers) become classes named by their sorted distinct values.
    """
    train, test = np.asarray(train), np.asarray(test)
    check_finite(train, "y_train", where)
    check_finite(test, "y_test", where)
    integral = _integral(train) and _integral(test)
    if integral:
        train, test = train.astype(np.int64), test.astype(np.int64)
    if classes is not None:
        classes = [str(name) for name in classes]
        if integral:
            return _as_indices(train, test, len(classes), where) + (classes,)
        return _index_names(train, test, classes, where) + (classes,)
    if integral and min(train.min(initial=0), test.min(initial=0)) >= 0:
        n_classes = int(max(train.max(initial=0), test.max(initial=0))) + 1
        return _as_indices(train, test, n_classes, where) + ([str(k) for k in range(n_classes)],)
    names = [str(value) for value in np.unique(np.concatenate([train, test]))]
    return _index_names(train, test, names, where) + (names,)


def _integral(labels: np.ndarray) -> bool:
    """Whether the labels are whole numbers (integers, or floats such as 3.0 read from a table)."""
    if labels.dtype.kind in "iub":
        return True
    return labels.dtype.kind == "f" and bool(np.all(labels == np.round(labels)))


def _as_indices(train: np.ndarray, test: np.ndarray, n_classes: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    for part, y in (("training", train), ("test", test)):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            bad = y.min() if y.min() < 0 else y.max()
            raise DataError(f"{where}: {part} label {bad} is outside 0..{n_classes - 1} ({n_classes} classes)")
    return train, test


def _index_names(train: np.ndarray, test: np.ndarray, classes: Sequence[str],
                 where: str) -> tuple[np.ndarray, np.ndarray]:
    index = {name: k for k, name in enumerate(classes)}
    encoded = []
    for labels in (train, test):
        names = labels.astype(str)
        unknown = sorted(set(np.unique(names)) - index.keys())
        if unknown:
            raise DataError(f"{where}: label {str(unknown[0])!r} is not one of the {len(classes)} class names")
        encoded.append(np.array([index[name] for name in names], dtype=np.int64))
    return encoded[0], encoded[1]
