"""Fast sums over the leading or trailing axes of an array: what the backward pass needs most.

NumPy's reductions pay per row, so summing a batch of short rows (N examples × K classes) is slow. A
sum over the last axes of a contiguous float array is the same as a matrix-vector product with a vector
of ones, and a sum over the first axes is ones times a matrix; BLAS runs both several times faster.
The engine's operations call :func:`sum_axes` where they would call ``a.sum(axis=...)``, so that the
arithmetic of ``ops.py`` reads as the textbook writes it.
"""

from __future__ import annotations

import math

import numpy as np


def sum_axes(a: np.ndarray, axes: tuple[int, ...], keepdims: bool = False) -> np.ndarray:
    """``a.sum(axis=axes, keepdims=keepdims)`` for non-negative ``axes``, faster on short rows."""
    ndim, count = a.ndim, len(axes)
    if 0 < count < ndim and a.dtype.kind == "f" and a.flags.c_contiguous:
        ones = (1,) * count if keepdims else ()
        if axes == tuple(range(ndim - count, ndim)):  # the last axes: rows · ones
            kept = a.shape[:-count]
            rows = a.reshape(math.prod(kept), math.prod(a.shape[-count:])) if ndim > 2 else a
            return np.dot(rows, _ones(rows.shape[1], a.dtype)).reshape(kept + ones)
        if axes == tuple(range(count)):  # the first axes: ones · columns
            kept = a.shape[count:]
            columns = a.reshape(math.prod(a.shape[:count]), math.prod(kept)) if ndim > 2 else a
            return np.dot(_ones(columns.shape[0], a.dtype), columns).reshape(ones + kept)
    return a.sum(axis=axes, keepdims=keepdims)


def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """``np.ones(n, dtype)``, without its Python-level overhead."""
    ones = np.empty(n, dtype)
    ones.fill(1)
    return ones
