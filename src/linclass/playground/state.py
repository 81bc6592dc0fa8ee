"""What the playground computes: the loss of a 2-D linear classifier and its gradient-descent steps.

The page holds all the state (the points, their labels, ``W`` and ``b``, the settings) and sends it with
each request; this module does the arithmetic with linclass itself, so what a student sees is what the
library computes:

* the scores ``s = X Wᵀ + b`` and the data loss with its gradient come from the NumPy kernels of
  :mod:`linclass.losses` (each :class:`~linclass.losses.Loss`'s ``kernel``);
* the penalty and its gradient come from :func:`linclass.regularizers.penalty_and_grad`;
* each step is an :class:`linclass.optim.SGD` step on ``W`` and ``b`` held as Tensors.

Mini-batches are drawn without replacement from ``numpy.random.default_rng(seed)``, one
``rng.choice(N, batch_size, replace=False)`` per step, so a run is reproducible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from linclass.errors import DivergenceError
from linclass.losses import LOSSES
from linclass.optim import SGD
from linclass.regularizers import penalty_and_grad
from linclass.tensor import tensor

from linclass.train import HYPERPARAMETERS


@dataclass(frozen=True)
class Plane:
    """The points in the plane, their classes, the classifier and the loss it is judged by.

    Attributes
    ----------
    points : ndarray (N, 2) float64
    labels : ndarray (N,) int64, in 0..K-1
    W : ndarray (K, 2) float64
        One row per class: the normal of that class's zero-score line.
    b : ndarray (K,) float64
    loss : str
        A key of :data:`linclass.losses.LOSSES`.
    delta : float
        The margin Δ of the losses that take one (ignored by the others).
    penalty : str or None
        ``"l1"``, ``"l2"``, ... or None for no regularization.
    reg : float
        λ, the weight of the penalty in the total loss.
    """

    points: np.ndarray
    labels: np.ndarray
    W: np.ndarray
    b: np.ndarray
    loss: str = HYPERPARAMETERS["loss"].default
    delta: float = HYPERPARAMETERS["delta"].default
    penalty: str | None = None
    reg: float = 0.0


@dataclass(frozen=True)
class Training:
    """How to descend: learning rate, batch size (None: the full batch), number of steps, seed."""

    lr: float
    batch_size: int | None = None
    steps: int = 1
    seed: int = 0


def scores(plane: Plane) -> np.ndarray:
    """The class scores ``s_ij = w_j · x_i + b_j`` of every point, shape (N, K)."""
    return plane.points @ plane.W.T + plane.b


def data_loss_and_grad(plane: Plane, rows: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """The mean data loss over ``rows`` (all points when None) and its gradients with respect to W and b."""
    points = plane.points if rows is None else plane.points[rows]
    labels = plane.labels if rows is None else plane.labels[rows]
    loss, dscores = _kernel(plane, points @ plane.W.T + plane.b, labels)
    return loss, dscores.T @ points, dscores.sum(axis=0)


def penalty_loss_and_grad(plane: Plane) -> tuple[float, np.ndarray]:
    """λ·R(W) and its gradient; biases are not regularized."""
    if plane.penalty is None or plane.reg == 0:
        return 0.0, np.zeros_like(plane.W)
    penalty, dW = penalty_and_grad(plane.penalty, plane.W)
    return plane.reg * penalty, plane.reg * dW


def point_losses(plane: Plane, point_scores: np.ndarray) -> np.ndarray:
    """Each point's own loss L_i: the kernel applied to that point alone (the mean of one is L_i)."""
    return np.array([_kernel(plane, point_scores[i:i + 1], plane.labels[i:i + 1])[0]
                     for i in range(len(point_scores))])


def evaluate(plane: Plane) -> dict:
    """Everything the page displays about ``plane``, as JSON-ready Python values.

    Returns
    -------
    dict
        ``W``, ``b``; ``data_loss`` (mean over the points, 0 when there are none), ``reg_loss`` (λ·R(W)),
        ``total_loss``; ``accuracy`` (None without points); ``per_point``: for each point its
        ``scores`` (K numbers), ``loss`` L_i and ``predicted`` class.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # huge weights are refused just below
        point_scores = scores(plane)
        _check_finite(point_scores)
        losses = point_losses(plane, point_scores)
        data_loss = _kernel(plane, point_scores, plane.labels)[0] if len(losses) else 0.0
        reg_loss = penalty_loss_and_grad(plane)[0]
    _check_finite(losses, data_loss, reg_loss)
    predicted = point_scores.argmax(axis=1)
    return {
        "W": plane.W.tolist(),
        "b": plane.b.tolist(),
        "data_loss": float(data_loss),
        "reg_loss": float(reg_loss),
        "total_loss": float(data_loss + reg_loss),
        "accuracy": float(np.mean(predicted == plane.labels)) if len(losses) else None,
        "per_point": [{"scores": row, "loss": loss, "predicted": k}
                      for row, loss, k in zip(point_scores.tolist(), losses.tolist(), predicted.tolist(), strict=True)],
    }


def batch_rows(rng: np.random.Generator, n_points: int, batch_size: int | None) -> np.ndarray | None:
    """The rows of one mini-batch, drawn without replacement; None means the full batch."""
    if batch_size is None:
        return None
    return rng.choice(n_points, size=batch_size, replace=False)


def train(plane: Plane, training: Training, deadline: float | None = None) -> Plane:
    """``training.steps`` steps of (mini-batch) gradient descent from ``plane``; returns the new plane.

    Each step: sample a batch, compute the data-loss gradient with the loss kernel and add λ∇R(W), then
    let ``optim.SGD`` update the Tensors ``W`` and ``b``.

    Raises
    ------
    DivergenceError
        When W or b stops being finite (the learning rate is too large).
    TimeoutError
        When the steps are not done by ``deadline`` (a ``time.monotonic()`` time).
    """
    W = tensor(plane.W, requires_grad=True, dtype=np.float64)
    b = tensor(plane.b, requires_grad=True, dtype=np.float64)
    optimizer = SGD([W, b], lr=training.lr)
    rng = np.random.default_rng(training.seed)
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught below, step by step
        for _ in range(training.steps):
            current = replace(plane, W=W.data, b=b.data)
            _, dW, db = data_loss_and_grad(current, batch_rows(rng, len(plane.points), training.batch_size))
            W.grad = tensor(dW + penalty_loss_and_grad(current)[1], dtype=np.float64)
            b.grad = tensor(db, dtype=np.float64)
            optimizer.step()
            _check_finite(W.data, b.data)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{training.steps} steps on {len(plane.points)} points took too long for one "
                                   "request; ask for fewer steps or points")
    return replace(plane, W=W.data, b=b.data)


def _kernel(plane: Plane, batch_scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """The chosen loss kernel on ``batch_scores``, given Δ when it is a margin loss."""
    loss = LOSSES[plane.loss]
    return loss.kernel(batch_scores, labels, **loss.options_from(plane))


def _check_finite(*values: np.ndarray | float) -> None:
    if not all(np.all(np.isfinite(value)) for value in values):
        raise DivergenceError(
            "the weights or scores stopped being finite (the steps diverged); lower the learning rate "
            "or randomize the weights"
        )
