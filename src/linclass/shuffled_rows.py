"""The training rows in one random order: copied before training, while the first epochs train, or never.

``sampling="shuffle"`` cuts the rows, put in one random order, into consecutive batches, so that a
batch is a view of contiguous memory rather than 256 rows gathered from all over the array. That
needs a shuffled copy of the training array, and in a fresh process the copy is slow: the new memory
is touched for the first time (0.2–0.45 s for Fashion-MNIST's 157 MB on a virtual machine, the time
of ten epochs). So:

- a fit of a single epoch makes no copy: its batches gather their rows through the order;
- when a CPU is free, the copy is made block by block in a thread of its own (NumPy releases the GIL
  while it copies), and until it is complete each epoch's batches gather their rows as above;
- on a busy machine, where that thread would only take time from training, the copy is made first.

A batch has the same rows, in the same order, either way, so the weights are the same bit for bit.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["ShuffledRows", "BLOCK_ROWS"]

BLOCK_ROWS = 4096
"""Rows copied at a time: the thread checks between blocks whether the fit has stopped."""


class ShuffledRows:
    """The rows of ``X`` and ``y`` in the order ``order``: gathered on demand until a copy is complete.

    Parameters
    ----------
    X : ndarray (N, D)
    y : ndarray (N,)
    order : int ndarray (N,)
        A permutation of the rows.
    copy : bool
        Make the shuffled copy at all (not worth it for a single epoch).
    background : bool
        Make it in a thread while training goes on, rather than now.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, order: np.ndarray, copy: bool = True,
                 background: bool = True) -> None:
        self.X, self.y, self.order = X, y, order
        self._copy = np.empty_like(X) if copy else None
        self._y_copy = y[order] if copy else None  # small: copied at once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="linclass-shuffled-copy", daemon=True)
        if copy and background:
            self._thread.start()
        elif copy:
            self._fill()

    def _fill(self) -> None:
        copy = self._copy
        assert copy is not None, "filled only when a copy was asked for"
        for start in range(0, len(self.order), BLOCK_ROWS):
            if self._stop.is_set():
                return
            rows = self.order[start:start + BLOCK_ROWS]
            np.take(self.X, rows, axis=0, out=copy[start:start + len(rows)])

    @property
    def copied(self) -> bool:
        """Whether the shuffled copy is complete (batches are then views of it)."""
        if self._copy is None or self._stop.is_set():
            return False
        return not self._thread.is_alive()

    def for_epoch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The arrays an epoch's batches read: the shuffled copies and None once copied, else
        ``(X, y, order)``, in which rows ``a:b`` of the shuffled order are ``X[order[a:b]]``."""
        if self._copy is not None and self._y_copy is not None and self.copied:
            return self._copy, self._y_copy, None
        return self.X, self.y, self.order

    def close(self) -> None:
        """Stop copying (when the fit ends before the copy does) and wait for the thread to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
