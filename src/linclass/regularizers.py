"""Regularization: a penalty R(W) on the weights, added to the data loss as ``L = mean_i L_i + λ R(W)``.

* L2   ``R(W) = Σ W²`` (no ½)             gradient ``2W``: prefers many small weights;
* L1   ``R(W) = Σ |W|``                   gradient ``sign(W)``: drives weights to exactly 0;
* elastic net  ``r Σ|W| + (1 - r) Σ W²``  with ``r = l1_ratio`` in [0, 1].

The strength λ (``reg``) is applied by the caller, and only to the weights W: the biases b do not
change how strongly a classifier depends on any input, so they are not regularized unless the caller
passes them too.

``|w|`` has a kink at 0. Its subgradient there may be anything in [-1, 1]; we take 0 (``np.sign(0)``, as
PyTorch's ``abs`` does), so a weight that is exactly 0 gets no push from the L1 penalty.

Each penalty is written twice: as engine ops on a Tensor (``l1``, ``l2``, ``elastic_net``,
differentiated by backprop) and as the NumPy kernel :func:`penalty_and_grad` for the fast training path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linclass.tensor import Tensor, as_tensor

__all__ = ["l1", "l2", "elastic_net", "penalty", "penalty_and_grad", "PENALTIES"]

PENALTIES: tuple[str | None, ...] = ("l1", "l2", "elasticnet", None)
"""The penalty names :func:`penalty_and_grad` and :func:`penalty` accept; None means none."""


def l1(W: Tensor) -> Tensor:
    """``Σ |W_ij|``, the L1 penalty (subgradient 0 where a weight is exactly 0)."""
    return as_tensor(W).abs().sum()


def l2(W: Tensor) -> Tensor:
    """``Σ W_ij²``, the L2 penalty (no ½; the gradient is ``2W``)."""
    W = as_tensor(W)
    return (W * W).sum()


def elastic_net(W: Tensor, l1_ratio: float = 0.5) -> Tensor:
    """``l1_ratio · Σ|W_ij| + (1 - l1_ratio) · Σ W_ij²``: a blend of L1 and L2."""
    _check_l1_ratio(l1_ratio)
    return l1_ratio * l1(W) + (1 - l1_ratio) * l2(W)


def penalty(name: str | None, W: Tensor, l1_ratio: float = 0.5) -> Tensor:
    """The penalty called ``name`` (one of :data:`PENALTIES`) of ``W`` as a 0-d Tensor; 0 for None."""
    _check_name(name)
    W = as_tensor(W)
    if name is None:
        return (W * 0).sum()
    if name == "elasticnet":
        return elastic_net(W, l1_ratio)
    return l1(W) if name == "l1" else l2(W)


def penalty_and_grad(name: str | None, W: np.ndarray, l1_ratio: float = 0.5) -> tuple[float, np.ndarray]:
    """The penalty ``R(W)`` and its gradient ``dR/dW``, on NumPy arrays.

    Parameters
    ----------
    name : {"l1", "l2", "elasticnet", None}
        Which penalty; None gives 0 and a zero gradient.
    W : ndarray
        The weights (float32 stays float32 in the gradient).
    l1_ratio : float
        The L1 share r of the elastic net, in [0, 1]; ignored by the other penalties.

    Returns
    -------
    value : float
        ``R(W)``, summed in float64.
    dW : ndarray
        ``dR/dW``, shaped and typed like ``W``: ``sign(W)`` (0 at 0) for L1, ``2W`` for L2,
        ``r sign(W) + 2 (1 - r) W`` for the elastic net.
    """
    _check_name(name)
    W = np.asarray(W)
    if name is None:
        return 0.0, np.zeros_like(W)
    if name == "l1":
        return _abs_sum(W), np.sign(W)
    if name == "l2":
        return _square_sum(W), 2 * W
    _check_l1_ratio(l1_ratio)
    dW = np.sign(W)
    dW *= l1_ratio
    dW += (2 * (1 - l1_ratio)) * W
    return l1_ratio * _abs_sum(W) + (1 - l1_ratio) * _square_sum(W), dW


def _abs_sum(W: np.ndarray) -> float:
    return float(np.abs(W).sum(dtype=np.float64))


def _square_sum(W: np.ndarray) -> float:
    return float(np.square(W, dtype=np.float64).sum())


def _check_name(name: Any) -> None:
    if name not in PENALTIES:
        raise ValueError(f"penalty={name!r} is not a penalty; use one of {', '.join(map(repr, PENALTIES))}")


def _check_l1_ratio(l1_ratio: float) -> None:
    if not 0 <= l1_ratio <= 1:
        raise ValueError(f"l1_ratio={l1_ratio!r} must lie in [0, 1] (the L1 share of the elastic net)")
