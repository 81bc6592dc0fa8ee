"""The linear score function ``f(x; W, b) = W x + b``: one row of weights and one bias per class.

With K classes and D features, ``W`` is K×D and ``b`` holds K biases. For a batch of N examples, one
per row of ``X`` (N×D), all scores at once are ``X Wᵀ + b`` (N×K); the predicted class of an example is
the one with the largest score.

Two readings of the same numbers (the lecture's interpretations):

* algebraic: the score of class k is the dot product ``w_k · x + b_k``, a match of the image ``x``
  against the template ``w_k`` — :func:`templates` shows each row of W as an image;
* geometric: each row is the normal of a hyperplane ``w_k · x + b_k = 0`` in the D-dimensional space of
  images; the score grows as an image moves along it.

:func:`scores` works on NumPy arrays (the fast path: no graph) and on Tensors (the autograd path:
the gradient flows back to ``W`` and ``b``).
"""

from __future__ import annotations

from typing import Sequence, overload

import numpy as np

from linclass.tensor import Tensor

__all__ = ["init_weights", "training_layout", "scores", "predict_indices", "accuracy", "templates", "INIT_SCALE"]

INIT_SCALE = 1e-3
"""The standard deviation of the initial weights (CS231n's ``0.001 * randn``)."""


def init_weights(n_classes: int, n_features: int, rng: np.random.Generator | int = 0,
                 scale: float = INIT_SCALE) -> tuple[np.ndarray, np.ndarray]:
    """Small random weights and zero biases, float32.

    Small weights make every score close to 0 at the start, so no class is favoured and the first loss
    is what chance gives (``log K`` for softmax, about ``(K - 1) Δ`` for the SVM).

    Parameters
    ----------
    n_classes, n_features : int
        K and D.
    rng : numpy Generator or int
        The source of randomness, or a seed for ``np.random.default_rng``.
    scale : float
        Standard deviation of the weights.

    Returns
    -------
    W : ndarray (K, D) float32
        ``scale · N(0, 1)`` draws, stored column by column (Fortran order; see :func:`training_layout`).
    b : ndarray (K,) float32
        Zeros.
    """
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    W = rng.standard_normal((n_classes, n_features), dtype=np.float32)
    W *= np.float32(scale)
    return training_layout(W), np.zeros(n_classes, dtype=np.float32)


def training_layout(W: np.ndarray) -> np.ndarray:
    """``W`` stored column by column (Fortran order), copied only if it is not already.

    Training multiplies batches by ``Wᵀ`` (D×K) and writes ``dscoresᵀ X`` into a K×D gradient; with W
    in Fortran order both are plain row-major BLAS products, which takes about a tenth off a
    Fashion-MNIST epoch. The values, shape (K, D) and meaning of W are unchanged.
    """
    return np.asfortranarray(W)


@overload
def scores(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray: ...
@overload
def scores(X: Tensor | np.ndarray, W: Tensor, b: Tensor) -> Tensor: ...


def scores(X: Tensor | np.ndarray, W: Tensor | np.ndarray, b: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """The class scores ``X Wᵀ + b`` of a batch: row i holds ``W x_i + b``.

    Parameters
    ----------
    X : ndarray or Tensor (N, D)
        One example per row.
    W : ndarray or Tensor (K, D)
    b : ndarray or Tensor (K,)

    Returns
    -------
    ndarray (N, K) when every argument is an ndarray (computed in X's dtype, nothing recorded);
    otherwise a Tensor built from engine ops, through which ``backward`` reaches ``W`` and ``b``.
    """
    if isinstance(X, Tensor) or isinstance(W, Tensor) or isinstance(b, Tensor):
        X = X if isinstance(X, Tensor) else Tensor(np.asarray(X))
        return X @ W.T + b
    out = X @ W.T.astype(X.dtype, copy=False)
    out += b
    return out


def predict_indices(class_scores: np.ndarray) -> np.ndarray:
    """The index of the largest score in each row: the predicted class (the first one on ties)."""
    return np.argmax(class_scores, axis=1)


def accuracy(class_scores: np.ndarray, y: np.ndarray) -> float:
    """The fraction of rows whose largest score is at the correct class index ``y``."""
    return float(np.mean(predict_indices(class_scores) == y))


def templates(W: np.ndarray, image_shape: Sequence[int]) -> np.ndarray:
    """Each class's row of weights as an image: the algebraic interpretation.

    Parameters
    ----------
    W : ndarray (K, D) or (K, D + 1)
        The weights; a last column of biases (from the bias trick) is dropped.
    image_shape : sequence of int
        The shape of one image, e.g. ``(28, 28)`` or ``(32, 32, 3)``, with ``prod(image_shape) = D``.

    Returns
    -------
    ndarray (K, *image_shape)
        The raw weights, a view of ``W`` (stretch them to 0..255 for display, see
        :func:`linclass.report.template_images`).
    """
    W = np.asarray(W)
    image_shape = tuple(int(size) for size in image_shape)
    size = int(np.prod(image_shape))
    if W.ndim != 2 or W.shape[1] not in (size, size + 1):
        raise ValueError(f"W has shape {W.shape}: expected (K, {size}) or (K, {size + 1}) "
                         f"for images of shape {image_shape}")
    return W[:, :size].reshape(len(W), *image_shape)
