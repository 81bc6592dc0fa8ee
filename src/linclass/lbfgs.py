"""Full-batch L-BFGS: the solver for small training sets (``solver="lbfgs"``).

Mini-batch SGD takes many cheap steps, which pays when the data are large. With a few hundred rows a
pass over all of them costs less than a handful of mini-batch steps, and the sets that small are often
tables whose raw features differ in scale by a thousand times (wine's proline against its hue): one
learning rate then crawls along the small features while it is already at its limit on the large ones.
L-BFGS (``scipy.optimize.minimize``) builds a curvature model from the last gradients and steps by a line
search, so it needs no learning rate at all.

It minimizes the same objective as every other solver, ``L = mean_i L_i + λ R(W)``, with the same loss
and penalty kernels (:attr:`linclass.losses.Loss.kernel`, :func:`linclass.regularizers.penalty_and_grad`).
It works in standardized coordinates: with the training features' mean ``μ`` and spread ``σ`` per
column, ``W = V / σ`` and ``b = c - W μ`` give the same scores as ``V x̃ + c`` on ``x̃ = (x - μ) / σ``, so
the solution is unchanged while the curvature model starts from a well-scaled problem; the gradient of
``V`` is that of ``W`` divided by ``σ``.

Each iteration is one pass over the data and counts as one epoch of the history. The run has converged
when the largest component of the gradient is at most ``tol / 10`` or an iteration lowers the loss by
less than ``tol / 100`` of itself (scipy's ``gtol`` and ``ftol``; with the default ``tol`` of 0.001, the
``gtol`` of scikit-learn's ``LogisticRegression``); it stops there or after ``max_iterations``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from linclass import losses
from linclass.regularizers import penalty_and_grad

__all__ = ["minimize", "Objective"]


class Objective:
    """``mean_i L_i + λ R(W)`` of float64 weights ``θ = [V, c]`` in standardized coordinates, and its gradient."""

    def __init__(self, X: np.ndarray, y: np.ndarray, n_classes: int, loss: str, loss_options: dict[str, float],
                 penalty: str | None, reg: float, l1_ratio: float) -> None:
        X = np.asarray(X, dtype=np.float64)
        self.mean = X.mean(axis=0)
        spread = X.std(axis=0)
        self.spread = np.where(spread > 0, spread, 1.0)  # a constant column carries no information to scale
        self.X = (X - self.mean) / self.spread
        self.y = y
        self.shape = (n_classes, X.shape[1])
        self.kernel, self.loss_options = losses.LOSSES[loss].kernel, loss_options
        self.penalty, self.reg, self.l1_ratio = penalty, reg, l1_ratio

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        V, c = self.unpack(theta)
        value, dscores = self.kernel(self.X @ V.T + c, self.y, **self.loss_options)
        dV = dscores.T @ self.X
        if self.penalty is not None and self.reg > 0:
            W = V / self.spread
            penalty_value, dW = penalty_and_grad(self.penalty, W, self.l1_ratio)
            value += self.reg * penalty_value
            dV += (self.reg / self.spread) * dW
        return float(value), np.concatenate([dV.ravel(), dscores.sum(axis=0)])

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = self.shape[0] * self.shape[1]
        return theta[:size].reshape(self.shape), theta[size:]

    def standardized(self, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``θ = [V, c]`` of the weights ``W``, ``b`` of the raw features."""
        W = W.astype(np.float64)
        return np.concatenate([(W * self.spread).ravel(), b + W @ self.mean])

    def raw(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The weights ``W``, ``b`` of the raw features for ``θ``."""
        V, c = self.unpack(theta)
        W = V / self.spread
        return W, c - W @ self.mean


def minimize(objective: Objective, W: np.ndarray, b: np.ndarray, max_iterations: int, tol: float,
             on_iteration: Callable[[float], bool]) -> bool:
    """Run L-BFGS from ``W``, ``b``, updating them in place after every iteration.

    ``on_iteration(loss)`` is called after each iteration, with ``W`` and ``b`` already updated; returning
    True stops. Returns whether the run converged (see the module docstring) rather than running out of
    iterations or being stopped.
    """
    from scipy.optimize import OptimizeResult, minimize as scipy_minimize

    def callback(intermediate_result: OptimizeResult) -> None:
        theta = intermediate_result.x
        W[...], b[...] = objective.raw(theta)
        loss = float(intermediate_result.fun)
        if on_iteration(loss):
            raise StopIteration

    result = scipy_minimize(objective, objective.standardized(W, b), jac=True, method="L-BFGS-B", callback=callback,
                            options={"maxiter": max_iterations, "gtol": tol / 10, "ftol": tol / 100})
    W[...], b[...] = objective.raw(result.x)
    return bool(result.status == 0)
