"""What the playground computes: the loss of a classifier of points in the plane and its gradient-descent
steps, for a linear classifier or one with a hidden layer.

The page holds all the state (the points, their labels, ``W`` and ``b``, the hidden layer if any, the
settings) and sends it with each request; this module does the arithmetic with linclass itself, so what a
student sees is what the library computes:

* the scores ``s = X Wᵀ + b`` and the data loss with its gradient come from the NumPy kernels of
  :mod:`linclass.losses` (each :class:`~linclass.losses.Loss`'s ``kernel``);
* the penalty and its gradient come from :func:`linclass.regularizers.penalty_and_grad`;
* each step is an :class:`linclass.optim.SGD` step on ``W`` and ``b`` held as Tensors.

With a hidden layer the classifier is a network of :mod:`linclass.nn` layers in float64,
``s = W σ(W_h x + b_h) + b``; its scores are the network's forward pass, and each step differentiates
the loss's fused op plus ``λ R`` of both weight matrices by the engine's backward pass, then lets SGD
update all four parameters.

Mini-batches are drawn without replacement from ``numpy.random.default_rng(seed)``, one
``rng.choice(N, batch_size, replace=False)`` per step, so a run is reproducible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from linclass.errors import DivergenceError
from linclass.losses import LOSSES
from linclass.nn.layers import Linear, Sequential
from linclass.nn.network import NETWORK_PARAMETERS, build_network
from linclass.optim import SGD
from linclass.regularizers import penalty, penalty_and_grad
from linclass.tensor import Tensor, no_grad, tensor
from linclass.step_size import default_step_size
from linclass.train import HYPERPARAMETERS, TrainConfig

GradientSetter = Callable[[np.ndarray | None], None]
"""Sets the gradients of a classifier's parameters for the loss on some rows (None: all points)."""


@dataclass(frozen=True)
class HiddenLayer:
    """H units between the plane and the class scores: ``h = σ(W x + b)``, and the scores are computed from h.

    Attributes
    ----------
    W : ndarray (H, 2) float64
        One row per hidden unit: the template it matches a point with; its zero line is where the unit turns on.
    b : ndarray (H,) float64
    activation : str
        σ, a key of :data:`linclass.nn.network.ACTIVATIONS`.
    """

    W: np.ndarray
    b: np.ndarray
    activation: str = NETWORK_PARAMETERS["activation"].default


@dataclass(frozen=True)
class Plane:
    """The points in the plane, their classes, the classifier and the loss it is judged by.

    Attributes
    ----------
    points : ndarray (N, 2) float64
    labels : ndarray (N,) int64, in 0..K-1
    W : ndarray (K, 2) float64, or (K, H) after a hidden layer
        One row per class: without a hidden layer, the normal of that class's zero-score line.
    b : ndarray (K,) float64
    loss : str
        A key of :data:`linclass.losses.LOSSES`.
    delta : float
        The margin Δ of the losses that take one (ignored by the others).
    penalty : str or None
        ``"l1"``, ``"l2"``, ... or None for no regularization.
    reg : float
        λ, the weight of the penalty in the total loss.
    hidden : HiddenLayer or None
        The layer between the points and ``W``; None for a linear classifier.
    """

    points: np.ndarray
    labels: np.ndarray
    W: np.ndarray
    b: np.ndarray
    loss: str = HYPERPARAMETERS["loss"].default
    delta: float = HYPERPARAMETERS["delta"].default
    penalty: str | None = None
    reg: float = 0.0
    hidden: HiddenLayer | None = None


@dataclass(frozen=True)
class Training:
    """How to descend: learning rate (None: from the points, see :func:`step_size`), batch size (None: the
    full batch), number of steps, seed."""

    lr: float | None = None
    batch_size: int | None = None
    steps: int = 1
    seed: int = 0


def scores(plane: Plane) -> np.ndarray:
    """The class scores of every point, shape (N, K): ``s_ij = w_j · x_i + b_j``, of the hidden units'
    outputs in place of ``x_i`` when there is a hidden layer (the network's forward pass)."""
    if plane.hidden is None:
        return plane.points @ plane.W.T + plane.b
    with no_grad():
        return network(plane)(tensor(plane.points, dtype=np.float64)).data


def network(plane: Plane) -> Sequential:
    """The plane's classifier with a hidden layer as :mod:`linclass.nn` layers, ``Linear(2, H) → σ →
    Linear(H, K)`` in float64, holding copies of the plane's weights."""
    assert plane.hidden is not None, "a linear classifier is no network"
    layers = build_network(2, (len(plane.hidden.W),), len(plane.W), plane.hidden.activation,
                           generator=np.random.default_rng(0), dtype=np.float64)  # its own draws, overwritten
    with no_grad():
        for parameter, value in zip(layers.parameters(), parameters_of(plane), strict=True):
            parameter.copy_(value)
    return layers


def parameters_of(plane: Plane) -> list[np.ndarray]:
    """The classifier's weights and biases, input side first: ``[W, b]``, or ``[W_h, b_h, W, b]``."""
    hidden = [] if plane.hidden is None else [plane.hidden.W, plane.hidden.b]
    return [*hidden, plane.W, plane.b]


def with_parameters(plane: Plane, values: list[np.ndarray]) -> Plane:
    """``plane`` with its weights and biases replaced by ``values``, in the order of :func:`parameters_of`."""
    *hidden, W, b = values
    if plane.hidden is None:
        return replace(plane, W=W, b=b)
    return replace(plane, hidden=replace(plane.hidden, W=hidden[0], b=hidden[1]), W=W, b=b)


def weight_matrices(plane: Plane) -> list[np.ndarray]:
    """The matrices the penalty applies to: W, and the hidden layer's; biases are not regularized."""
    return [plane.W] if plane.hidden is None else [plane.hidden.W, plane.W]


def data_loss_and_grad(plane: Plane, rows: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """The mean data loss over ``rows`` (all points when None) and its gradients with respect to W and b,
    for a linear classifier."""
    points, labels = _batch(plane, rows)
    loss, dscores = _kernel(plane, points @ plane.W.T + plane.b, labels)
    return loss, dscores.T @ points, dscores.sum(axis=0)


def penalty_loss_and_grad(plane: Plane, W: np.ndarray) -> tuple[float, np.ndarray]:
    """λ·R(W) of one weight matrix ``W`` and its gradient, with the plane's penalty and λ."""
    if plane.penalty is None or plane.reg == 0:
        return 0.0, np.zeros_like(W)
    value, dW = penalty_and_grad(plane.penalty, W)
    return plane.reg * value, plane.reg * dW


def regularization_loss(plane: Plane) -> float:
    """λ·R summed over the weight matrices (:func:`weight_matrices`)."""
    return sum(penalty_loss_and_grad(plane, W)[0] for W in weight_matrices(plane))


def point_losses(plane: Plane, point_scores: np.ndarray) -> np.ndarray:
    """Each point's own loss L_i: the kernel applied to that point alone (the mean of one is L_i)."""
    return np.array([_kernel(plane, point_scores[i:i + 1], plane.labels[i:i + 1])[0]
                     for i in range(len(point_scores))])


def evaluate(plane: Plane) -> dict:
    """Everything the page displays about ``plane``, as JSON-ready Python values.

    Returns
    -------
    dict
        ``W``, ``b``, and ``hidden`` (its ``W``, ``b``, ``activation``) only when there is a hidden layer;
        ``data_loss`` (mean over the points, 0 when there are none), ``reg_loss`` (λ·R of the weight
        matrices), ``total_loss``; ``accuracy`` (None without points); ``per_point``: for each point its
        ``scores`` (K numbers), ``loss`` L_i and ``predicted`` class.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # huge weights are refused just below
        point_scores = scores(plane)
        _check_finite(point_scores)
        losses = point_losses(plane, point_scores)
        data_loss = _kernel(plane, point_scores, plane.labels)[0] if len(losses) else 0.0
        reg_loss = regularization_loss(plane)
    _check_finite(losses, data_loss, reg_loss)
    predicted = point_scores.argmax(axis=1)
    layers: dict = {"W": plane.W.tolist(), "b": plane.b.tolist()}
    if plane.hidden is not None:
        layers["hidden"] = {"W": plane.hidden.W.tolist(), "b": plane.hidden.b.tolist(),
                            "activation": plane.hidden.activation}
    return {
        **layers,
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


def step_size(plane: Plane, training: Training) -> float:
    """The learning rate the steps take: ``training.lr``, or when it is None the library's default for
    plain gradient descent on these points, loss and penalty (:func:`linclass.step_size.default_step_size`),
    which is what ``lr=None`` means everywhere. A hidden layer steps with the rate of the linear
    classifier on the same points."""
    if training.lr is not None:
        return training.lr
    settings = TrainConfig(loss=plane.loss, penalty=plane.penalty, reg=plane.reg, optimizer="sgd")
    return default_step_size(plane.points, settings, n_classes=len(plane.W))


def train(plane: Plane, training: Training, deadline: float | None = None) -> Plane:
    """``training.steps`` steps of (mini-batch) gradient descent from ``plane`` at :func:`step_size`;
    returns the new plane.

    Each step samples a batch, sets the gradients of the classifier's parameters (see
    :func:`_linear_gradients` and :func:`_network_gradients`), and lets ``optim.SGD`` update them.

    Raises
    ------
    DivergenceError
        When W or b stops being finite (the learning rate is too large).
    TimeoutError
        When the steps are not done by ``deadline`` (a ``time.monotonic()`` time).
    """
    parameters, set_gradients = (_linear_gradients if plane.hidden is None else _network_gradients)(plane)
    optimizer = SGD(parameters, lr=step_size(plane, training))
    rng = np.random.default_rng(training.seed)
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught below, step by step
        for _ in range(training.steps):
            set_gradients(batch_rows(rng, len(plane.points), training.batch_size))
            optimizer.step()
            _check_finite(*(parameter.data for parameter in parameters))
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{training.steps} steps on {len(plane.points)} points took too long for one "
                                   "request; ask for fewer steps or points")
    return with_parameters(plane, [parameter.data for parameter in parameters])


def _linear_gradients(plane: Plane) -> tuple[list[Tensor], GradientSetter]:
    """W and b as Tensors, and what sets their gradients on a batch: the loss kernel's, plus λ∇R(W)."""
    W = tensor(plane.W, requires_grad=True, dtype=np.float64)
    b = tensor(plane.b, requires_grad=True, dtype=np.float64)

    def set_gradients(rows: np.ndarray | None) -> None:
        current = replace(plane, W=W.data, b=b.data)
        _, dW, db = data_loss_and_grad(current, rows)
        W.grad = tensor(dW + penalty_loss_and_grad(current, current.W)[1], dtype=np.float64)
        b.grad = tensor(db, dtype=np.float64)

    return [W, b], set_gradients


def _network_gradients(plane: Plane) -> tuple[list[Tensor], GradientSetter]:
    """The network's parameters, and what sets their gradients on a batch: the engine's backward pass
    through the loss's fused op on the network's scores plus λ·R of each weight matrix."""
    layers = network(plane)
    loss = LOSSES[plane.loss]
    options = loss.options_from(plane)
    weights = [layer.weight for layer in layers if isinstance(layer, Linear)]

    def set_gradients(rows: np.ndarray | None) -> None:
        points, labels = _batch(plane, rows)
        total = loss.fused(layers(tensor(points, dtype=np.float64)), labels, **options)
        if plane.penalty is not None and plane.reg != 0:
            for weight in weights:
                total = total + plane.reg * penalty(plane.penalty, weight)
        layers.zero_grad()
        total.backward()

    return list(layers.parameters()), set_gradients


def _batch(plane: Plane, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The points and labels of ``rows``; all of them when None."""
    return (plane.points, plane.labels) if rows is None else (plane.points[rows], plane.labels[rows])


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
