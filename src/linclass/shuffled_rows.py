"""The training rows in one random order, copied batch by batch as the first epoch reads them.

``sampling="shuffle"`` cuts the rows, put in one random order, into consecutive batches, so that a
batch is a view of contiguous memory rather than 256 rows gathered from all over the array. That
needs a shuffled copy of the training array. Made before training, the copy delays the first epoch:
in a fresh process the new memory is touched for the first time (0.2–0.45 s for Fashion-MNIST's
157 MB on a virtual machine, the time of several epochs). Made in a thread beside training, it took
CPU and memory bandwidth from the first epochs, which gathered their batches meanwhile.

But the first epoch gathers every batch anyway, once each. So each batch's rows are gathered straight
into their place in the copy, and the batch is read there: when the first epoch ends, the copy is
complete at no cost beyond the gathering itself, and every later batch is a view. A fit of a single
epoch makes no copy at all: its batches gather their rows through the order into a small buffer.

A batch has the same rows, in the same order, either way, so the weights are the same bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ShuffledRows"]


class ShuffledRows:
    """The rows of ``X`` and ``y`` in the order ``order``, cut into batches of ``batch_size`` rows.

    Parameters
    ----------
    X : ndarray (N, D)
    y : ndarray (N,)
    order : int ndarray (N,)
        A permutation of the rows.
    batch_size : int
        The rows of a batch: batch ``k`` is rows ``k·batch_size`` up to the next batch's of the order.
    copy : bool
        Make the shuffled copy at all (not worth it for a single epoch).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int, copy: bool = True) -> None:
        self.X, self.y, self.order, self.batch_size = X, y, order, batch_size
        self._copy = np.empty_like(X) if copy else None
        self._y_copy = y[order] if copy else None  # small: copied at once
        self._written = np.zeros(math.ceil(len(order) / batch_size), dtype=bool)
        self._unwritten = len(self._written) if copy else -1

    @property
    def copied(self) -> bool:
        """Whether every batch of the copy is written (batches are then plain views of it)."""
        return self._unwritten == 0

    def for_epoch(self) -> tuple[np.ndarray, np.ndarray, "np.ndarray | ShuffledRows | None"]:
        """The arrays an epoch's batches read, and how their rows ``a:b`` get there:

        - ``(copy, y_copy, None)`` once the copy is complete: rows ``a:b`` are already in place;
        - ``(copy, y_copy, self)`` while it is being written: :meth:`write` puts rows ``a:b`` in place;
        - ``(X, y, order)`` without a copy: rows ``a:b`` are ``X[order[a:b]]``.
        """
        if self._copy is None or self._y_copy is None:
            return self.X, self.y, self.order
        return self._copy, self._y_copy, None if self.copied else self

    def write(self, start: int, stop: int) -> range:
        """Rows ``start:stop`` of the copy, gathered into place from ``X`` unless a batch already did."""
        assert self._copy is not None, "written only when a copy was asked for"
        batch = start // self.batch_size
        if not self._written[batch]:
            np.take(self.X, self.order[start:stop], axis=0, out=self._copy[start:stop])
            self._written[batch] = True
            self._unwritten -= 1
        return range(start, stop)
