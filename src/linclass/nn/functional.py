"""Functions of ``torch.nn.functional``, on the engine: the layers' arithmetic and the losses.

The losses are linclass's own, scaled as PyTorch scales them:

* ``cross_entropy(s, y)`` is the softmax loss, the mean of ``-log softmax(s)_y``;
* ``multi_margin_loss(s, y, p, margin)`` is PyTorch's multiclass hinge: per example
  ``Σ_{j≠y} max(0, margin - s_y + s_j)^p / K`` — the lecture's SVM loss (p = 1) or squared hinge
  (p = 2) divided by the number of classes K.
"""

from __future__ import annotations

from typing import Any

from linclass import losses, ops
from linclass.tensor import Tensor

_REDUCTIONS = ("mean", "sum")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x Wᵀ + b``."""
    scores = ops.matmul(x, ops.permute_reverse(weight))
    return scores if bias is None else ops.add(scores, bias)


def relu(x: Tensor) -> Tensor:
    return ops.relu(x)


def tanh(x: Tensor) -> Tensor:
    return ops.tanh(x)


def sigmoid(x: Tensor) -> Tensor:
    return ops.sigmoid(x)


def softmax(x: Tensor, dim: int) -> Tensor:
    return ops.softmax(x, dim)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    return ops.log_softmax(x, dim)


def cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """The softmax cross-entropy of scores ``input`` (N×K) for classes ``target``: one fused node."""
    return _reduced(losses.softmax_loss(input, _labels(target)), len(input), reduction)


def multi_margin_loss(input: Tensor, target: Any, p: int = 1, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """PyTorch's multiclass hinge: the SVM loss (p = 1) or squared hinge (p = 2) over the K classes."""
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p={p!r} must be 1 or 2")
    loss = (losses.svm_loss if p == 1 else losses.squared_hinge_loss)(input, _labels(target), delta=margin)
    return _reduced(ops.div(loss, input.shape[1]), len(input), reduction)


def _labels(target: Any) -> Any:
    return target.data if isinstance(target, Tensor) else target


def _reduced(mean_loss: Tensor, count: int, reduction: str) -> Tensor:
    """linclass's losses are means; ``reduction="sum"`` multiplies back by the batch size."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is not supported; use one of {', '.join(_REDUCTIONS)}")
    return mean_loss if reduction == "mean" else ops.mul(mean_loss, count)
