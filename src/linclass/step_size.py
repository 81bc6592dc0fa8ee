"""The default step size, read from the data: what ``lr=None`` means.

A fixed default learning rate cannot serve pixels in 0–255 and features scaled to [0, 1] alike: the
gradient of ``W`` is ``dscoresᵀ X``, so it grows with the features, and a step that suits one scale
makes the other diverge or crawl. The default is instead derived, as SAG and SAGA derive theirs, from
how far one step can move the scores.

Gradient descent and momentum (``sgd``, ``momentum``, ``nesterov``)
    The mean loss ``L(W, b)`` has a gradient that changes at most ``L_smooth`` per unit of step, with
    ``L_smooth = c_K · (max_i ‖x_i‖² + 1) + 2λ(1 - r)``: ``c_K`` is the loss's curvature with respect to
    the K scores (:attr:`linclass.losses.Loss.curvature`: 1/2 for softmax, 2K for the squared hinge, 2
    for one-vs-all, and 1 for the hinges, whose kinks jump by one unit instead), ``max_i ‖x_i‖² + 1`` how
    far a unit step of ``(W, b)`` can move an example's scores (the 1 is the bias), and ``2λ(1 - r)`` the
    curvature of the L2 part of the penalty (:attr:`linclass.regularizers.Penalty.curvature`; ``r`` the L1
    share: 0 for ``l2``, 1 for ``l1``). A step of
    ``1 / L_smooth`` is the largest that lowers a smooth loss for sure (SAG's choice); momentum ``μ``
    repeats each gradient ``1 / (1 - μ)`` times over the following steps, so its rate is ``(1 - μ)``
    times that::

        lr = (1 - μ) / (c_K · (max_i ‖x_i‖² + 1) + 2λ(1 - r))

Adam (``adam``)
    Adam divides each weight's gradient by its own running size, so every weight moves by about ``lr``
    per step whatever the gradient's scale. An example's scores then move by up to ``lr · (‖x_i‖₁ + 1)``
    per step; the default lets no step move any score by more than one unit (the margin Δ, one unit of
    log-odds)::

        lr = 1 / (max_i ‖x_i‖₁ + 1)

Both are measured once, on the training rows a fit is given (with ``partial_fit``, the first batch), and
kept in the history (``history["lr"]``), so that a run that goes on (warm start, ``--resume``) keeps its
rate. An explicit ``lr`` always wins.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from linclass import losses
from linclass.optim import OPTIMIZERS
from linclass.regularizers import PENALTIES

__all__ = ["default_step_size", "SAMPLE_ROWS"]

SAMPLE_ROWS = 100_000
"""The norms are measured on at most this many rows (evenly spaced), so the measurement stays a small
part of a first epoch on any data."""


class StepSettings(Protocol):
    """The settings the default step size depends on (a :class:`linclass.train.TrainConfig` has them)."""

    @property
    def loss(self) -> str: ...
    @property
    def optimizer(self) -> str: ...
    @property
    def momentum(self) -> float: ...
    @property
    def penalty(self) -> str | None: ...
    @property
    def reg(self) -> float: ...
    @property
    def l1_ratio(self) -> float: ...


def default_step_size(X: np.ndarray, config: StepSettings, n_classes: int) -> float:
    """The learning rate ``lr=None`` stands for, for features ``X`` (N, D) and the run's settings.

    ``config`` is anything with the attributes ``loss``, ``optimizer``, ``momentum``, ``penalty``, ``reg``
    and ``l1_ratio`` (a :class:`linclass.train.TrainConfig`). The formulas and the reasons for them are
    in the module docstring.
    """
    rows = _sample(X)
    if OPTIMIZERS[config.optimizer].adaptive:
        largest_l1 = float(np.max(np.abs(rows).sum(axis=1), initial=0.0))
        return 1.0 / (largest_l1 + 1.0)
    largest_square = float(np.max(np.einsum("ij,ij->i", rows, rows), initial=0.0))
    smoothness = losses.LOSSES[config.loss].curvature(n_classes) * (largest_square + 1.0)
    if config.penalty is not None:
        smoothness += config.reg * PENALTIES[config.penalty].curvature(config.l1_ratio)
    momentum = config.momentum if OPTIMIZERS[config.optimizer].uses_momentum else 0.0
    return (1.0 - momentum) / smoothness


def _sample(X: np.ndarray) -> np.ndarray:
    """At most :data:`SAMPLE_ROWS` rows of ``X``, evenly spaced, in float64 (squares of 0–255 pixels
    summed over thousands of features stay exact)."""
    step = max(1, len(X) // SAMPLE_ROWS)
    return np.asarray(X[::step], dtype=np.float64)

