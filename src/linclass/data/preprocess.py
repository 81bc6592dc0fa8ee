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

from typing import Any

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
        self.input_shape = tuple(X.shape[1:])
        self.low, self.high = _value_range(X) if self.scale else (0.0, 1.0)
        width = self.high - self.low
        self.mean = self.std = None
        if self.center != "none":
            mean = rows.mean(axis=0, dtype=np.float64)
            self.mean = ((mean - self.low) / width).astype(np.float32)
            if self.center == "standardize":
                self.std = (_column_std(rows, mean) / width).astype(np.float32)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Preprocess examples shaped like the training ones into a float32 array (N, D), or (N, D+1)."""
        if self.input_shape is None:
            raise ValueError("this Preprocessor is not fitted yet; call fit(X_train) first")
        X = _examples(X, "X")
        n_features = int(np.prod(self.input_shape))
        if X.shape[1:] != self.input_shape and X.shape[1:] != (n_features,):
            raise ValueError(f"X has examples of shape {X.shape[1:]}, but this Preprocessor was fitted on "
                             f"{self.input_shape}")
        out = np.empty((len(X), n_features + self.bias_trick), dtype=np.float32)
        features = out[:, :n_features]
        features[...] = X.reshape(len(X), n_features)
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
    low, high = float(X.min()), float(X.max())
    return (low, high) if high > low else (low, low + 1.0)


def _column_std(rows: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Per-column standard deviation (ddof 0) around ``mean``, in float64, block by block.

    Deviations from a mean computed in floating point are not exactly zero for a constant column, so
    a standard deviation within rounding of zero is reported as exactly zero.
    """
    squares = np.zeros(rows.shape[1])
    for start in range(0, len(rows), CHUNK_ROWS):
        deviations = rows[start:start + CHUNK_ROWS] - mean
        squares += np.einsum("ij,ij->j", deviations, deviations)
    std = np.sqrt(squares / len(rows))
    std[std <= 10 * np.finfo(np.float64).eps * np.abs(mean)] = 0.0
    return std
