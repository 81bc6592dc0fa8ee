"""Preprocessing: from uint8 images to the float feature vectors a linear classifier scores.

The lecture's steps, each optional:

1. flatten: an H×W(×C) image becomes a vector x of D = H·W(·C) values;
2. scale to [0, 1]: divide pixel values by 255;
3. center: subtract the mean image of the training set (``center="mean"``), or also divide each
   feature by its standard deviation (``center="standardize"``);
4. the bias trick: append a constant 1, so that ``W x + b`` becomes one product ``W' x'``.

The statistics come from the training split only — the validation and test sets must not leak into
them — and are kept, so a saved model applies the very same map to new images. Steps 2 and 3 compose
into one affine map per feature, ``x ↦ (x − shift) · factor``, applied in place to the float32 output
array created once: one conversion from uint8 and two in-place operations per value.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import numpy.typing as npt

CENTERS = ("mean", "standardize", "none")
PIXEL_MAX = 255.0
CHUNK_ROWS = 4096  # rows per block when summing squared deviations, to bound temporary memory


class Preprocessor:
    """Flatten, scale, center and optionally append the bias feature; fitted on the training split.

    Parameters
    ----------
    scale : bool
        Map values to [0, 1]: uint8 pixels are divided by 255; other inputs are mapped by the training
        data's smallest and largest value.
    center : {"mean", "standardize", "none"}
        ``"mean"`` subtracts the training set's mean image; ``"standardize"`` also divides each feature
        by its standard deviation (a feature constant in training is only centered).
    bias_trick : bool
        Append a column of ones (the classifier then needs no separate bias).

    Attributes
    ----------
    input_shape : tuple of int or None
        The shape of one example seen by ``fit`` (e.g. ``(28, 28)``); None before fitting.
    low, high : float
        The value range mapped to [0, 1] (0 and 1 when ``scale`` is False).
    mean, std : float32 arrays of shape (D,) or None
        Per-feature mean and standard deviation of the scaled training data (None when not used).

    Examples
    --------
    >>> pre = Preprocessor(center="mean")
    >>> X_train = pre.fit_transform(data.X_train)     # float32 (N, 784)
    >>> X_test = pre.transform(data.X_test)           # the training mean, not the test mean
    """

    def __init__(self, scale: bool = True, center: str = "mean", bias_trick: bool = False) -> None:
        if center not in CENTERS:
            raise ValueError(f"center={center!r}: expected one of {', '.join(CENTERS)}")
        self.scale = bool(scale)
        self.center = center
        self.bias_trick = bool(bias_trick)
        self.input_shape: tuple[int, ...] | None = None
        self.low, self.high = 0.0, 1.0
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, X: np.ndarray, y: Any = None) -> Preprocessor:
        """Learn the value range, mean and standard deviation from the training examples ``X``."""
        X = _examples(X, "X")
        rows = X.reshape(len(X), -1)
        low, high = _value_range(X) if self.scale else (0.0, 1.0)
        mean = squares = None
        if self.center != "none":
            mean = rows.mean(axis=0, dtype=np.float64)
            if self.center == "standardize":
                squares = _squared_deviations(rows, mean)
        return self._set_statistics(tuple(X.shape[1:]), low, high, len(X), mean, squares)

    def fit_blocks(self, blocks: Iterable[np.ndarray]) -> Preprocessor:
        """:meth:`fit` on training examples that come block by block, each ``(n, ...)``: one pass, holding
        one block at a time, for data larger than memory (:mod:`linclass.distributed`).

        The blocks' means and squared deviations are merged as Chan, Golub and LeVeque's pairwise update
        does, in float64, so the statistics agree with :meth:`fit`'s on all the rows to rounding.
        """
        moments = _RunningMoments()
        shape: tuple[int, ...] | None = None
        for block in blocks:
            block = _examples(block, "a block")
            if shape is not None and block.shape[1:] != shape:
                raise ValueError(f"a block has examples of shape {block.shape[1:]}, the first had {shape}")
            shape = tuple(block.shape[1:])
            moments.add(block.reshape(len(block), -1), self.scale and block.dtype != np.uint8,
                        self.center == "standardize")
        if shape is None:
            raise ValueError("fit_blocks was given no block of examples")
        low, high = moments.value_range() if self.scale else (0.0, 1.0)
        squares = moments.squares if self.center == "standardize" else None
        return self._set_statistics(shape, low, high, moments.count, moments.mean if self.center != "none" else None,
                                    squares)

    def _set_statistics(self, input_shape: tuple[int, ...], low: float, high: float, count: int,
                        mean: np.ndarray | None, squares: np.ndarray | None) -> Preprocessor:
        """Keep what :meth:`fit` learned: the shape of an example, the value range, and the mean and standard
        deviation (from the float64 per-feature ``mean`` and sum of ``squares`` of deviations from it) of the
        scaled data."""
        self.input_shape = input_shape
        self.low, self.high = low, high
        width = high - low
        self.mean = None if mean is None else ((mean - low) / width).astype(np.float32)
        self.std = None if mean is None or squares is None else (_std(squares, count, mean) / width).astype(np.float32)
        return self

    def transform(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Preprocess examples shaped like the training ones into a float32 array (N, D), or (N, D+1).

        ``out``: a float32 array of that shape to write into, instead of a new one (a reused buffer).
        """
        if self.input_shape is None:
            raise ValueError("this Preprocessor is not fitted yet; call fit(X_train) first")
        X = _examples(X, "X")
        n_features = int(np.prod(self.input_shape))
        if X.shape[1:] != self.input_shape and X.shape[1:] != (n_features,):
            raise ValueError(f"X has examples of shape {X.shape[1:]}, but this Preprocessor was fitted on "
                             f"{self.input_shape}")
        shape = (len(X), n_features + self.bias_trick)
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        elif out.shape != shape or out.dtype != np.float32:
            raise ValueError(f"out is {out.dtype} of shape {out.shape}; expected float32 of shape {shape}")
        out[:, :n_features] = X.reshape(len(X), n_features)
        return self.map_in_place(out)

    def map_in_place(self, out: np.ndarray) -> np.ndarray:
        """Preprocess, in place, float32 rows ``out`` (N, D) — or (N, D+1) with the bias trick, its last column
        then set to 1 — that hold the raw values of N flattened examples; return ``out``."""
        n_features = out.shape[1] - self.bias_trick
        features = out[:, :n_features]
        shift, factor = self.affine()
        features -= shift
        features *= factor
        if self.bias_trick:
            out[:, n_features] = 1.0
        return out

    def fit_transform(self, X: np.ndarray, y: Any = None) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    @property
    def mean_image(self) -> np.ndarray | None:
        """The training set's mean image (scaled), shaped like one input; None without centering."""
        return None if self.mean is None else self.mean.reshape(self.input_shape)

    def state_dict(self) -> dict:
        """The settings and fitted statistics: JSON-able values, and float32 arrays for mean and std."""
        return {"scale": self.scale, "center": self.center, "bias_trick": self.bias_trick,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "low": self.low, "high": self.high, "mean": self.mean, "std": self.std}

    @classmethod
    def from_state_dict(cls, state: dict) -> Preprocessor:
        """Rebuild a Preprocessor from ``state_dict()`` (arrays may come back as lists, e.g. from JSON).

        Raises ``ValueError`` naming the entry that is missing or inconsistent.
        """
        missing = [key for key in ("scale", "center", "bias_trick", "input_shape", "low", "high", "mean", "std")
                   if key not in state]
        if missing:
            raise ValueError(f"preprocessor state has no {missing[0]!r} entry")
        preprocessor = cls(scale=state["scale"], center=state["center"], bias_trick=state["bias_trick"])
        if state["input_shape"] is None:
            return preprocessor
        preprocessor.input_shape = tuple(int(n) for n in state["input_shape"])
        preprocessor.low, preprocessor.high = float(state["low"]), float(state["high"])
        n_features = int(np.prod(preprocessor.input_shape))
        needed = {"mean": preprocessor.center != "none", "std": preprocessor.center == "standardize"}
        for key, used in needed.items():
            if used:
                values = np.asarray(state[key], dtype=np.float32).reshape(-1)
                if values.shape != (n_features,):
                    raise ValueError(f"preprocessor state {key!r} has {values.size} values, "
                                     f"expected {n_features} for input shape {preprocessor.input_shape}")
                setattr(preprocessor, key, values)
        return preprocessor

    def affine(self) -> tuple[np.ndarray | float, np.ndarray | float]:
        """``shift`` and ``factor`` of the map ``(x − shift) · factor`` that scaling and centering compose."""
        width = self.high - self.low
        shift = self.low if self.mean is None else self.low + width * self.mean
        if self.std is None:
            return shift, 1.0 / width
        std = np.where(self.std > 0, self.std, 1.0)  # a feature constant in training is only centered
        return shift, 1.0 / (width * std)

    def __repr__(self) -> str:
        fitted = "unfitted" if self.input_shape is None else f"fitted on {self.input_shape}"
        return (f"Preprocessor(scale={self.scale}, center={self.center!r}, bias_trick={self.bias_trick}; "
                f"{fitted})")


def _examples(X: npt.ArrayLike, name: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim < 2 or len(X) == 0 or X.dtype.kind not in "uifb":
        raise ValueError(f"{name} must be a non-empty numeric array of examples (N, ...), "
                         f"got {X.dtype} of shape {X.shape}")
    return X


def _value_range(X: np.ndarray) -> tuple[float, float]:
    """What ``scale`` maps to [0, 1]: 0..255 for uint8 pixels, else the data's own range."""
    if X.dtype == np.uint8:
        return 0.0, PIXEL_MAX
    return _span(float(X.min()), float(X.max()))


def _span(low: float, high: float) -> tuple[float, float]:
    """The range ``low..high`` of the values, widened to ``low..low+1`` when they are all the same."""
    return (low, high) if high > low else (low, low + 1.0)


def _squared_deviations(rows: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Per column, the sum of squared deviations from ``mean``, in float64, block by block."""
    squares = np.zeros(rows.shape[1])
    for start in range(0, len(rows), CHUNK_ROWS):
        deviations = rows[start:start + CHUNK_ROWS] - mean
        squares += np.einsum("ij,ij->j", deviations, deviations)
    return squares


def _std(squares: np.ndarray, count: int, mean: np.ndarray) -> np.ndarray:
    """Per-column standard deviation (ddof 0) from the sum of squared deviations of ``count`` rows.

    Deviations from a mean computed in floating point are not exactly zero for a constant column, so
    a standard deviation within rounding of zero is reported as exactly zero.
    """
    std = np.sqrt(squares / count)
    std[std <= 10 * np.finfo(np.float64).eps * np.abs(mean)] = 0.0
    return std


class _RunningMoments:
    """Count, per-column mean and sum of squared deviations, and value range of rows seen block by block."""

    def __init__(self) -> None:
        self.count = 0
        self.mean = self.squares = np.zeros(0)
        self.low, self.high = math.inf, -math.inf

    def add(self, rows: np.ndarray, track_range: bool, track_squares: bool) -> None:
        """Merge a block of rows (n, D) into the moments (Chan et al.'s update of mean and squares)."""
        n = len(rows)
        mean = rows.mean(axis=0, dtype=np.float64)
        squares = _squared_deviations(rows, mean) if track_squares else np.zeros(0)
        if track_range:
            self.low, self.high = min(self.low, float(rows.min())), max(self.high, float(rows.max()))
        if self.count == 0:
            self.count, self.mean, self.squares = n, mean, squares
            return
        total = self.count + n
        delta = mean - self.mean
        if len(squares):
            self.squares = self.squares + squares + delta * delta * (self.count * n / total)
        self.mean = self.mean + delta * (n / total)
        self.count = total

    def value_range(self) -> tuple[float, float]:
        """What ``scale`` maps to [0, 1], as :func:`_value_range` says: 0..255 unless a range was tracked."""
        return (0.0, PIXEL_MAX) if self.low > self.high else _span(self.low, self.high)
