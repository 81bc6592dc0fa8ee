"""Data losses: how unhappy the scores ``s = W x_i + b`` of a batch make us, and their gradients.

For a batch of N examples with scores ``s`` (N×K) and correct classes ``y``, each loss is the mean
``L = (1/N) Σ_i L_i`` of a per-example loss (the regularization ``λ R(W)`` is added by the caller, see
:mod:`linclass.regularizers`):

* multiclass SVM (Weston–Watkins hinge)   ``L_i = Σ_{j≠y_i} max(0, s_j - s_{y_i} + Δ)``
* squared hinge (L2-SVM)                  ``L_i = Σ_{j≠y_i} max(0, s_j - s_{y_i} + Δ)²``
* softmax cross-entropy                   ``L_i = -log(e^{s_{y_i}} / Σ_j e^{s_j})``
* one-vs-all squared hinge (Tang 2013)     ``L_i = Σ_j max(0, Δ - t_ij s_j)²`` with ``t_ij = ±1``
* Crammer–Singer multiclass hinge          ``L_i = max(0, Δ + max_{j≠y_i} s_j - s_{y_i})``

Each loss is written three times, side by side:

``*_loss_and_grad(scores, y)``
    the NumPy kernel: the loss as a float and ``dscores = dL/ds``, vectorized (the hot path of
    training, of the playground and of the report);
``*_loss(scores, y)``
    the fused Tensor op: one graph node whose backward rule hands back the kernel's ``dscores``;
``*_loss_composed(scores, y)``
    the lecture's formula written with engine ops, differentiated by backprop; the tests hold it
    equal to the fused op.

At a kink, where a margin ``s_j - s_{y_i} + Δ`` is exactly 0, the hinge is not differentiable; we take
the subgradient in which only margins > 0 count (as CS231n and PyTorch do), so a margin at exactly 0
contributes neither loss nor gradient.

Relation to PyTorch: ``torch.nn.functional.multi_margin_loss`` divides each example's sum by the number
of classes K, so ``svm_loss(s, y, Δ) == K * multi_margin_loss(s, y, margin=Δ)`` and
``squared_hinge_loss(s, y, Δ) == K * multi_margin_loss(s, y, p=2, margin=Δ)``;
``softmax_loss(s, y) == cross_entropy(s, y)``.

Tang (2013) trains the L2-SVM one-vs-rest: ``one_vs_all`` is that loss, K binary problems with labels
±1; ``squared_hinge`` squares the Weston–Watkins margins instead, which is what
``multi_margin_loss(p=2)`` computes. These are the "One-vs-All" and "Structured" (Crammer–Singer) SVMs
of the CS231n demo.

Each loss is then declared once, as a :class:`Loss` record in :data:`LOSSES`: its name, title, formula,
the three functions, the options it takes (Δ) and whether its scores are probabilities. Everything
else — the command line's choices and help, the estimator's ``predict_proba``, gradcheck's table, the
playground's list, the report — reads the record, so a new loss is a new section of this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from linclass.ops import arange, relu
from linclass.tensor import Gradients, Needs, Tensor, as_tensor, record

__all__ = [
    "svm_loss_and_grad", "svm_loss", "svm_loss_composed",
    "squared_hinge_loss_and_grad", "squared_hinge_loss", "squared_hinge_loss_composed",
    "softmax_loss_and_grad", "softmax_loss", "softmax_loss_composed",
    "one_vs_all_loss_and_grad", "one_vs_all_loss", "one_vs_all_loss_composed",
    "crammer_singer_loss_and_grad", "crammer_singer_loss", "crammer_singer_loss_composed",
    "Loss", "LOSSES", "DEFAULT_LOSS", "get_loss",
]

Kernel = Callable[..., "tuple[float, np.ndarray]"]


# -- multiclass SVM: the Weston–Watkins hinge loss ------------------------------------------------------


def svm_loss_and_grad(scores: np.ndarray, y: Any, delta: float = 1.0) -> tuple[float, np.ndarray]:
    """Mean multiclass hinge loss of a batch and its gradient with respect to the scores.

    ``L_i = Σ_{j≠y_i} max(0, s_j - s_{y_i} + Δ)``. Every positive margin adds +1 to ``dL_i/ds_j`` and
    -1 to ``dL_i/ds_{y_i}``; margins of exactly 0 count for nothing (see the module docstring).

    Parameters
    ----------
    scores : ndarray (N, K), float32 or float64
    y : array of int (N,)
        The correct class of each example, in ``0..K-1``.
    delta : float
        The margin Δ by which the correct score should beat every other.

    Returns
    -------
    loss : float
        ``(1/N) Σ_i L_i``, accumulated in float64.
    dscores : ndarray (N, K)
        ``dL/dscores``, in the dtype of ``scores``.
    """
    scores, y = _check_batch(scores, y)
    margins = _hinge_margins(scores, y, delta)
    loss = margins.sum(dtype=np.float64) / len(y)
    np.greater(margins, 0, out=margins)  # the margins that count become 1, the rest 0
    return float(loss), _hinge_grad(margins, y)


def svm_loss(scores: Tensor, y: Any, delta: float = 1.0) -> Tensor:
    """Mean multiclass hinge loss as one graph node (value and gradient from :func:`svm_loss_and_grad`).

    Equals ``K * torch.nn.functional.multi_margin_loss(scores, y, margin=delta)``.
    """
    return _fused(svm_loss_and_grad, scores, y, "SvmLossBackward0", delta=float(delta))


def svm_loss_composed(scores: Tensor, y: Any, delta: float = 1.0) -> Tensor:
    """Mean multiclass hinge loss composed of engine ops: ``mean_i Σ_{j≠y_i} max(0, s_j - s_{y_i} + Δ)``."""
    return _margins(scores, y, delta).sum(dim=1).mean()


# -- squared hinge loss (L2-SVM) ---------------------------------------------------------------------


def squared_hinge_loss_and_grad(scores: np.ndarray, y: Any, delta: float = 1.0) -> tuple[float, np.ndarray]:
    """Mean squared hinge loss of a batch and its gradient with respect to the scores.

    ``L_i = Σ_{j≠y_i} max(0, s_j - s_{y_i} + Δ)²``. A margin m > 0 adds ``2m`` to ``dL_i/ds_j`` and
    ``-2m`` to ``dL_i/ds_{y_i}``; the loss is differentiable everywhere (the gradient is 0 at m = 0).
    Parameters and returns as :func:`svm_loss_and_grad`.
    """
    scores, y = _check_batch(scores, y)
    margins = _hinge_margins(scores, y, delta)
    loss = np.square(margins, dtype=np.float64).sum() / len(y)
    margins *= 2  # d(m²)/dm
    return float(loss), _hinge_grad(margins, y)


def squared_hinge_loss(scores: Tensor, y: Any, delta: float = 1.0) -> Tensor:
    """Mean squared hinge loss as one graph node (from :func:`squared_hinge_loss_and_grad`).

    Equals ``K * torch.nn.functional.multi_margin_loss(scores, y, p=2, margin=delta)``.
    """
    return _fused(squared_hinge_loss_and_grad, scores, y, "SquaredHingeLossBackward0", delta=float(delta))


def squared_hinge_loss_composed(scores: Tensor, y: Any, delta: float = 1.0) -> Tensor:
    """Mean squared hinge loss composed of engine ops: ``mean_i Σ_{j≠y_i} max(0, s_j - s_{y_i} + Δ)²``."""
    return (_margins(scores, y, delta) ** 2).sum(dim=1).mean()


# -- the hinge's shared pieces -------------------------------------------------------------------------


def _hinge_margins(scores: np.ndarray, y: np.ndarray, delta: float) -> np.ndarray:
    """A new array ``max(0, s_j - s_{y_i} + Δ)``, with 0 at each true class (the lecture's
    ``margins[y_i] = 0``)."""
    rows = np.arange(len(y))
    margins = scores - scores[rows, y][:, np.newaxis]
    margins += delta
    margins[rows, y] = 0
    np.maximum(margins, 0, out=margins)
    return margins


def _hinge_grad(dmargins: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Turn ``dL_i/dm_ij`` (0 at the true class) into ``dL/ds``, in place.

    ``m_ij = s_j - s_{y_i} + Δ``, so ``s_j`` receives ``dL_i/dm_ij`` and ``s_{y_i}`` minus their sum;
    the mean over the batch divides everything by N.
    """
    dmargins[np.arange(len(y)), y] = -_row_sums(dmargins)
    dmargins /= len(y)
    return dmargins


def _margins(scores: Tensor, y: Any, delta: float) -> Tensor:
    """``max(0, s_j - s_{y_i} + Δ)`` for every wrong class j, 0 at the true class, as engine ops."""
    scores = as_tensor(scores)
    y = _check_labels(y, scores.shape)
    n, k = scores.shape
    correct = scores[arange(n), y].reshape(n, 1)  # s_{y_i}, as a column
    is_wrong_class = np.arange(k) != y[:, np.newaxis]
    # relu is max(0, ·) with gradient 0 at 0: a margin of exactly 0 counts for nothing, as in the kernel.
    return relu(scores - correct + delta) * is_wrong_class


# -- softmax cross-entropy -------------------------------------------------------------------------------


def softmax_loss_and_grad(scores: np.ndarray, y: Any) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of a batch and its gradient with respect to the scores.

    ``L_i = log Σ_j e^{s_j} - s_{y_i}``, computed after subtracting each row's maximum (which changes
    nothing but keeps ``e^s`` from overflowing). With ``p = softmax(s)`` the gradient is
    ``dL_i/ds_j = p_j - [j = y_i]``. Parameters and returns as :func:`svm_loss_and_grad`.
    """
    scores, y = _check_batch(scores, y)
    rows = np.arange(len(y))
    # Subtract each row's largest score (picked by argmax: faster than max(axis=1) on short rows).
    probs = scores - scores[rows, scores.argmax(axis=1)][:, np.newaxis]
    correct = probs[rows, y]
    np.exp(probs, out=probs)
    sums = _row_sums(probs)
    loss = (np.log(sums) - correct).sum(dtype=np.float64) / len(y)
    probs /= sums[:, np.newaxis]
    probs[rows, y] -= 1
    probs /= len(y)
    return float(loss), probs


def softmax_loss(scores: Tensor, y: Any) -> Tensor:
    """Mean softmax cross-entropy as one graph node (from :func:`softmax_loss_and_grad`).

    Equals ``torch.nn.functional.cross_entropy(scores, y)``.
    """
    return _fused(softmax_loss_and_grad, scores, y, "SoftmaxLossBackward0")


def softmax_loss_composed(scores: Tensor, y: Any) -> Tensor:
    """Mean softmax cross-entropy composed of engine ops: ``mean_i -log(e^{s_{y_i}} / Σ_j e^{s_j})``."""
    scores = as_tensor(scores)
    y = _check_labels(y, scores.shape)
    # The lecture's f -= max(f): a shift for stability that leaves the loss unchanged, so no
    # gradient flows through it (through the max, the terms would cancel exactly).
    shifted = scores - scores.max(dim=1, keepdim=True).values.detach()
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_probs[arange(len(y)), y].mean()


# -- one-vs-all squared hinge: the L2-SVM as Tang (2013) trains it ------------------------------------


def one_vs_all_loss_and_grad(scores: np.ndarray, y: Any, delta: float = 1.0) -> tuple[float, np.ndarray]:
    """Mean one-vs-all squared hinge loss of a batch and its gradient with respect to the scores.

    Each class j is a binary problem of its own: ``t_ij = +1`` for the correct class, ``-1`` for every
    other, and ``L_i = Σ_j max(0, Δ - t_ij s_j)²``. A margin ``m = Δ - t s > 0`` adds ``-2 t m`` to
    ``dL_i/ds_j``. Parameters and returns as :func:`svm_loss_and_grad`.
    """
    scores, y = _check_batch(scores, y)
    targets = _plus_minus_one(scores, y)
    margins = delta - targets * scores
    np.maximum(margins, 0, out=margins)
    loss = np.square(margins, dtype=np.float64).sum() / len(y)
    margins *= targets
    margins *= -2 / len(y)
    return float(loss), margins


def one_vs_all_loss(scores: Tensor, y: Any, delta: float = 1.0) -> Tensor:
    """Mean one-vs-all squared hinge loss as one graph node (from :func:`one_vs_all_loss_and_grad`)."""
    return _fused(one_vs_all_loss_and_grad, scores, y, "OneVsAllLossBackward0", delta=float(delta))


def one_vs_all_loss_composed(scores: Tensor, y: Any, delta: float = 1.0) -> Tensor:
    """Mean one-vs-all squared hinge composed of engine ops: ``mean_i Σ_j max(0, Δ - t_ij s_j)²``."""
    scores = as_tensor(scores)
    targets = _plus_minus_one(scores.data, _check_labels(y, scores.shape))
    return (relu(delta - scores * targets) ** 2).sum(dim=1).mean()


def _plus_minus_one(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The binary labels ``t_ij``: +1 where j is example i's class, -1 elsewhere, in the scores' dtype."""
    targets = np.full(scores.shape, -1, dtype=scores.dtype)
    targets[np.arange(len(y)), y] = 1
    return targets


# -- Crammer–Singer multiclass hinge: only the strongest rival counts ------------------------------------


def crammer_singer_loss_and_grad(scores: np.ndarray, y: Any, delta: float = 1.0) -> tuple[float, np.ndarray]:
    """Mean Crammer–Singer hinge loss of a batch and its gradient with respect to the scores.

    ``L_i = max(0, Δ + max_{j≠y_i} s_j - s_{y_i})``: the correct score must beat its strongest rival by
    Δ. While it does not, the rival's score gets +1 and the correct one -1 (at a tie between rivals the
    first one counts; a margin of exactly 0 counts for nothing). Parameters and returns as
    :func:`svm_loss_and_grad`.
    """
    scores, y = _check_batch(scores, y)
    rows = np.arange(len(y))
    rival = _rivals(scores, y).argmax(axis=1)
    margins = scores[rows, rival] - scores[rows, y]
    margins += delta
    counts = margins > 0
    loss = margins[counts].sum(dtype=np.float64) / len(y)
    dscores = np.zeros_like(scores)
    dscores[rows[counts], rival[counts]] = 1 / len(y)
    dscores[rows[counts], y[counts]] = -1 / len(y)
    return float(loss), dscores


def crammer_singer_loss(scores: Tensor, y: Any, delta: float = 1.0) -> Tensor:
    """Mean Crammer–Singer hinge loss as one graph node (from :func:`crammer_singer_loss_and_grad`)."""
    return _fused(crammer_singer_loss_and_grad, scores, y, "CrammerSingerLossBackward0", delta=float(delta))


def crammer_singer_loss_composed(scores: Tensor, y: Any, delta: float = 1.0) -> Tensor:
    """Mean Crammer–Singer hinge composed of engine ops: ``mean_i max(0, Δ + max_{j≠y_i} s_j - s_{y_i})``."""
    scores = as_tensor(scores)
    y = _check_labels(y, scores.shape)
    n = len(y)
    rival = (scores + _rivals(np.zeros(scores.shape, dtype=scores.dtype), y)).max(dim=1).values
    return relu(delta + rival - scores[arange(n), y]).mean()


def _rivals(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A copy of the scores with -inf at each correct class, so that a row's maximum is its strongest rival."""
    rivals = scores.copy()
    rivals[np.arange(len(y)), y] = -np.inf
    return rivals


# -- fused ops, row sums and input checks --------------------------------------------------------------


def _fused(kernel: Callable[..., tuple[float, np.ndarray]], scores: Any, y: Any, name: str,
           **options: float) -> Tensor:
    """One graph node for a whole loss: the kernel's value forward, its ``dscores`` backward."""
    scores = as_tensor(scores)
    loss, dscores = kernel(scores.data, y, **options)
    return record(np.asarray(loss, dtype=scores.dtype), (scores,), _fused_backward, name, (dscores,))


def _fused_backward(g: np.ndarray, needs: Needs, dscores: np.ndarray) -> Gradients:
    return (g * dscores,)


def _row_sums(a: np.ndarray) -> np.ndarray:
    """Each row's sum, as a matrix-vector product: on rows of a few classes several times faster than
    ``a.sum(axis=1)``."""
    return a @ np.ones(a.shape[1], dtype=a.dtype)


def _check_batch(scores: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``scores`` as a 2-D float array with at least one row, and the labels checked against it."""
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.dtype.kind != "f":
        raise ValueError(f"scores must be a 2-D float array (N examples × K classes), "
                         f"got shape {scores.shape} and dtype {scores.dtype}")
    return scores, _check_labels(y, scores.shape)


def _check_labels(y: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``y`` as an int array of one class in ``0..K-1`` per row of scores shaped ``shape`` (N, K)."""
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    if len(shape) != 2 or shape[0] == 0:
        raise ValueError(f"scores must have shape (N, K) with N >= 1 examples, got {shape}")
    n, k = shape
    if y.shape != (n,) or y.dtype.kind not in "iu":
        raise ValueError(f"y must be {n} integer class labels (one per row of scores), "
                         f"got shape {y.shape} and dtype {y.dtype}")
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"y holds labels from {y.min()} to {y.max()}; with {k} classes they must lie in 0..{k - 1}")
    return y


@dataclass(frozen=True)
class Loss:
    """Everything linclass knows about one data loss; every layer reads it from :data:`LOSSES`.

    Attributes
    ----------
    name : str
        The name the loss is chosen by (``--loss``, ``LinearClassifier(loss=...)``, the playground).
    title : str
        What the loss is called in help texts, the report and the playground.
    formula : str
        ``L_i`` in plain text, for help texts and tables.
    kernel, fused, composed
        The NumPy kernel, the fused Tensor op and the engine-op composition (see the module docstring).
    options : tuple of str
        The settings the three functions take as keyword arguments, by their hyperparameter names
        (``"delta"``, the margin Δ).
    probabilities : bool
        Whether ``softmax(scores)`` is the model the loss fits, so that ``predict_proba`` means something.
    curvature : callable
        ``curvature(K)``: how fast the gradient of ``L_i`` can change with the scores, its largest second
        derivative along any direction of the K scores (for the hinges, which have kinks instead, the size
        of one margin's unit jump). :mod:`linclass.step_size` divides by it.
    """

    name: str
    title: str
    formula: str
    kernel: Kernel
    fused: Callable[..., Tensor]
    composed: Callable[..., Tensor]
    options: tuple[str, ...] = ()
    probabilities: bool = False
    curvature: Callable[[int], float] = lambda classes: 1.0

    def options_from(self, settings: Any) -> dict[str, float]:
        """The keyword arguments this loss takes, read from ``settings`` (anything with those attributes)."""
        return {name: float(getattr(settings, name)) for name in self.options}


LOSSES: dict[str, Loss] = {loss.name: loss for loss in (
    Loss("softmax", "Softmax (cross-entropy)", "L_i = -log(e^{s_{y_i}} / Σ_j e^{s_j})",
         softmax_loss_and_grad, softmax_loss, softmax_loss_composed, probabilities=True,
         curvature=lambda classes: 0.5),  # the Hessian diag(p) - p pᵀ has eigenvalues at most 1/2
    Loss("svm", "SVM (Weston–Watkins hinge)", "L_i = Σ_{j≠y_i} max(0, s_j - s_{y_i} + Δ)",
         svm_loss_and_grad, svm_loss, svm_loss_composed, options=("delta",)),
    Loss("squared_hinge", "Squared hinge (L2-SVM)", "L_i = Σ_{j≠y_i} max(0, s_j - s_{y_i} + Δ)²",
         squared_hinge_loss_and_grad, squared_hinge_loss, squared_hinge_loss_composed, options=("delta",),
         curvature=lambda classes: 2.0 * classes),  # 2 Σ_j (e_j - e_y)(e_j - e_y)ᵀ: eigenvalues up to 2K
    Loss("one_vs_all", "One-vs-all squared hinge (L2-SVM, Tang 2013)",
         "L_i = Σ_j max(0, Δ - t_ij s_j)², t_ij = +1 if j = y_i else -1",
         one_vs_all_loss_and_grad, one_vs_all_loss, one_vs_all_loss_composed, options=("delta",),
         curvature=lambda classes: 2.0),  # 2 I on the active scores
    Loss("crammer_singer", "Crammer–Singer hinge (structured SVM)", "L_i = max(0, Δ + max_{j≠y_i} s_j - s_{y_i})",
         crammer_singer_loss_and_grad, crammer_singer_loss, crammer_singer_loss_composed, options=("delta",)),
)}
"""Every data loss by name, in the order menus list them."""

DEFAULT_LOSS = "softmax"
"""The loss a classifier trains with unless told otherwise: its scores are probabilities."""


def get_loss(name: Any) -> Loss:
    """The :class:`Loss` called ``name``; a ValueError naming the losses there are for any other name."""
    if isinstance(name, str) and name in LOSSES:
        return LOSSES[name]
    raise ValueError(f"loss={name!r} is not valid: expected one of {', '.join(map(repr, LOSSES))}")
