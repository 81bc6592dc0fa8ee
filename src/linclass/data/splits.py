"""Training, validation and test splits.

The lecture's protocol: split the data into training, validation and test sets; train the parameters
on the training set, choose hyperparameters on the validation set, and evaluate on the test set only
once, at the end. The loaders keep the test set aside; ``train_val_split`` carves the validation set
out of the training set.

Splits are stratified — every class keeps its share of examples in both parts — and seeded, so the
same seed always gives the same split.
"""

from __future__ import annotations

import numpy as np

from linclass.errors import DataError

# The loaders' own split of a set that comes without a test set (an image folder, a csv file, digits).
TEST_FRACTION = 0.2
SPLIT_SEED = 0


def split_indices(y: np.ndarray, val_size: float | int = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded, stratified split of ``len(y)`` examples into two parts.

    Parameters
    ----------
    y : array of shape (N,)
        Labels of any kind (integers, strings); the split keeps their proportions.
    val_size : float or int
        The second part's size: a fraction in (0, 1) of N, or a number of examples in 1..N-1.
    seed : int
        Seed of the random choice.

    Returns
    -------
    first, second : int64 arrays
        Sorted indices of the two parts; together they are ``0..N-1``, each exactly once.
    """
    y = np.asarray(y)
    n_second = _count(val_size, len(y))
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    per_class = _share_out(counts, n_second)
    rng = np.random.default_rng(seed)
    in_second = np.zeros(len(y), dtype=bool)
    for k in range(len(classes)):
        members = np.flatnonzero(inverse == k)
        in_second[rng.choice(members, size=per_class[k], replace=False)] = True
    return np.flatnonzero(~in_second), np.flatnonzero(in_second)


def holdout_indices(y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Training and test indices for a set that has no test set of its own.

    A seeded (``SPLIT_SEED``), stratified ``TEST_FRACTION`` of the examples, at least one, becomes the
    test set. ``where`` names the source for the error raised when there are fewer than two examples.
    """
    if len(y) < 2:
        raise DataError(f"{where}: {len(y)} example(s); at least two are needed to keep a test set aside")
    train, test = split_indices(y, max(1, round(TEST_FRACTION * len(y))), SPLIT_SEED)
    if len(test) == 0:
        raise DataError(f"{where}: no class has more than one of its {len(y)} examples, so none can be kept "
                        "aside for a test set (the label must be the first column)")
    return train, test


def train_val_split(X: np.ndarray, y: np.ndarray, val_size: float | int = 0.1,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split a training set into training and validation parts, seeded and stratified.

    Parameters
    ----------
    X : array of shape (N, ...)
        Examples (images or feature vectors).
    y : array of shape (N,)
        Their labels.
    val_size : float or int
        Size of the validation part: a fraction in (0, 1) or a number of examples (Fashion-MNIST's
        usual choice is 10000 of its 60000 training images).
    seed : int
        Seed of the random choice; the same seed gives the same split.

    Returns
    -------
    X_train, y_train, X_val, y_val : np.ndarray
        New arrays (copies of the chosen rows), examples in their original order.

    Examples
    --------
    >>> X_train, y_train, X_val, y_val = train_val_split(data.X_train, data.y_train, val_size=10000)
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)} labels; they must match")
    train, val = split_indices(y, val_size, seed)
    y = np.asarray(y)
    return X[train], y[train], X[val], y[val]


def _count(size: float | int, n: int) -> int:
    """The number of examples ``size`` (a fraction or a count) asks for, out of ``n``."""
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise TypeError(f"val_size={size!r}: expected a fraction in (0, 1) or a number of examples")
    if isinstance(size, (int, np.integer)):
        count = int(size)
    elif 0 < size < 1:
        count = int(round(size * n))
    else:
        raise ValueError(f"val_size={size}: a fraction must lie strictly between 0 and 1")
    if not 0 < count < n:
        raise ValueError(f"val_size={size} gives {count} of {n} examples; each part needs at least one")
    return count


def _share_out(counts: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` among classes in proportion to ``counts`` (largest remainders), summing exactly,
    except that no class gives up its last example: the first part (the one trained on) keeps at least
    one of every class, so that a model fitted on it knows every class the second part holds."""
    ideal = counts * (total / counts.sum())
    shares = np.floor(ideal).astype(np.int64)
    leftover = total - shares.sum()
    by_remainder = np.argsort(-(ideal - shares), kind="stable")
    shares[by_remainder[:leftover]] += 1
    return np.minimum(shares, counts - 1)
