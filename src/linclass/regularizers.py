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
differentiated by backprop) and as a NumPy kernel (value and gradient) for the fast training path; a
:class:`Penalty` record in :data:`PENALTIES` holds both with its name, title and formula, and every
layer (the command line, the playground, training) reads it from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from linclass.constraints import Real
from linclass.tensor import Tensor, as_tensor

__all__ = ["l1", "l2", "elastic_net", "penalty", "penalty_and_grad", "Penalty", "PENALTIES", "PENALTY_CHOICES"]


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
    """The penalty called ``name`` (a key of :data:`PENALTIES`) of ``W`` as a 0-d Tensor; 0 for None."""
    W = as_tensor(W)
    name = _checked(name)
    if name is None:
        return (W * 0).sum()
    return PENALTIES[name].tensor(W, l1_ratio)


def penalty_and_grad(name: str | None, W: np.ndarray, l1_ratio: float = 0.5,
                     out: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """The penalty ``R(W)`` and its gradient ``dR/dW``, on NumPy arrays.

    Parameters
    ----------
    name : a key of :data:`PENALTIES` ("l1", "l2", "elasticnet"), or None
        Which penalty; None gives 0 and a zero gradient.
    W : ndarray
        The weights (float32 stays float32 in the gradient).
    l1_ratio : float
        The L1 share r of the elastic net, in [0, 1]; ignored by the other penalties.
    out : ndarray, optional
        An array of ``W``'s shape and dtype to write the gradient into (a training loop reuses one: a
        fresh array as large as a network's first layer costs its page faults every step).

    Returns
    -------
    value : float
        ``R(W)``.
    dW : ndarray
        ``dR/dW``, shaped and typed like ``W``: ``sign(W)`` (0 at 0) for L1, ``2W`` for L2,
        ``r sign(W) + 2 (1 - r) W`` for the elastic net.
    """
    W = np.asarray(W)
    name = _checked(name)
    if name is None:
        return 0.0, np.zeros_like(W)
    return PENALTIES[name].kernel(W, l1_ratio, np.empty_like(W) if out is None else out)


def _l1_kernel(W: np.ndarray, l1_ratio: float, out: np.ndarray) -> tuple[float, np.ndarray]:
    return _abs_sum(W), np.sign(W, out=out)


def _l2_kernel(W: np.ndarray, l1_ratio: float, out: np.ndarray) -> tuple[float, np.ndarray]:
    return _square_sum(W), np.multiply(W, 2, out=out)


def _elastic_net_kernel(W: np.ndarray, l1_ratio: float, out: np.ndarray) -> tuple[float, np.ndarray]:
    _check_l1_ratio(l1_ratio)
    dW = np.sign(W, out=out)
    dW *= l1_ratio
    dW += (2 * (1 - l1_ratio)) * W
    return l1_ratio * _abs_sum(W) + (1 - l1_ratio) * _square_sum(W), dW


def _abs_sum(W: np.ndarray) -> float:
    return float(np.abs(W).sum(dtype=np.float64))


def _square_sum(W: np.ndarray) -> float:
    """``Σ W²`` as one BLAS dot product of the weights with themselves: no array as large as ``W`` is made,
    which on a network's first layer took a quarter of a training step (float32 weights sum in float32)."""
    flat = W.reshape(-1)
    return float(np.dot(flat, flat))


def _checked(name: Any) -> str | None:
    if name is not None and not (isinstance(name, str) and name in PENALTIES):
        raise ValueError(f"penalty={name!r} is not valid: expected one of {', '.join(map(repr, PENALTY_CHOICES))}")
    return name


L1_RATIO = Real(0, 1, note="the L1 share of the elastic net")
"""The rule of ``l1_ratio``."""


def _check_l1_ratio(l1_ratio: float) -> None:
    L1_RATIO.check("l1_ratio", l1_ratio)


@dataclass(frozen=True)
class Penalty:
    """A regularizer R(W), declared once: its name, title and formula, and the two ways it is computed.

    ``kernel(W, l1_ratio, out)`` gives ``(R(W), dR/dW)`` on NumPy arrays, the gradient written into ``out``;
    ``tensor(W, l1_ratio)`` gives R(W) as
    engine ops; ``options`` names the settings it reads (``l1_ratio``); ``curvature(l1_ratio)`` is the
    second derivative of R along a weight where it is smooth (2 for ``Σ W²``, 0 for ``Σ |W|``), which the
    default step size (:mod:`linclass.step_size`) and the choice of solver read.
    """

    name: str
    title: str
    formula: str
    kernel: Callable[[np.ndarray, float, np.ndarray], tuple[float, np.ndarray]]
    tensor: Callable[[Tensor, float], Tensor]
    options: tuple[str, ...] = ()
    curvature: Callable[[float], float] = lambda l1_ratio: 0.0
    smooth: bool = False  # a gradient everywhere (no kink at 0), as a quasi-Newton solver needs


PENALTIES: dict[str, Penalty] = {item.name: item for item in (
    Penalty("l2", "L2", "R(W) = Σ W²", _l2_kernel, lambda W, l1_ratio: l2(W),
            curvature=lambda l1_ratio: 2.0, smooth=True),
    Penalty("l1", "L1", "R(W) = Σ |W|", _l1_kernel, lambda W, l1_ratio: l1(W)),
    Penalty("elasticnet", "Elastic net", "R(W) = r Σ|W| + (1 - r) Σ W²", _elastic_net_kernel, elastic_net,
            options=("l1_ratio",), curvature=lambda l1_ratio: 2.0 * (1.0 - l1_ratio)),
)}
"""Every penalty by name, in the order menus list them."""

PENALTY_CHOICES: tuple[str | None, ...] = (*PENALTIES, None)
"""What a ``penalty`` setting may be: a key of :data:`PENALTIES`, or None for no regularization."""
