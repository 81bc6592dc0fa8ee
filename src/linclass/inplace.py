"""In-place operations with PyTorch's rules: ``W -= lr * W.grad``, ``x.zero_()``, ``x[idx] = v``.

The lecture's update, ``weights += - step_size * weights_grad``, changes the weights' values and
nothing else: under ``no_grad`` the tensor keeps its identity, stays a leaf, and keeps its
``requires_grad`` and its ``.grad``. The rules, as in PyTorch:

* under ``no_grad``, or when nothing involved requires grad, the values change in place;
* while recording, a leaf that requires grad (or a view of one) may not change in place: its
  gradient would describe values it no longer has, so it is a RuntimeError;
* while recording, any other tensor changes in place *and* records the change: it gets a new node
  whose input is its old value (its old node), so gradients stay correct; a view of a tensor in the
  graph is refused instead, since its base's history would have to change too;
* a result of a higher category (a float into an integer tensor) is refused, as PyTorch refuses it;
* every change raises the tensor's version, so a node that saved the old values refuses to
  backpropagate through them (``Node.backward``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from linclass import indexing, ops, promotion
from linclass.tensor import Tensor, is_grad_enabled, no_grad, version_of


def update(target: Tensor, op: Callable[..., Tensor], *args: Any) -> Tensor:
    """``target ← op(target, *args)`` in place, following the rules above; returns ``target``."""
    if is_grad_enabled() and (target.requires_grad or any(_requires_grad(a) for a in args)):
        _check_recordable(target, "a leaf Variable that requires grad is being used in an in-place operation.")
        result = op(_old_value(target), *args)
        _store(target, result.data)
        target.grad_fn, target.requires_grad = result.grad_fn, result.requires_grad
        return target
    with no_grad():
        result = op(target, *args)
    _store(target, result.data)
    return target


def assign(target: Tensor, key: Any, value: Any) -> None:
    """``target[key] = value`` in place, following the rules above."""
    if is_grad_enabled() and (target.requires_grad or _requires_grad(value)):
        parsed = indexing.parse(key, target.shape)
        message = ("a leaf Variable that requires grad is being used in an in-place operation." if parsed.advanced
                   else "a view of a leaf Variable that requires grad is being used in an in-place operation.")
        _check_recordable(target, message)
        update(target, ops.index_put, key, value)
        return
    indexing.parse(key, target.shape).put(target.data, value.data if isinstance(value, Tensor) else value)
    bump_version(target)


def _requires_grad(value: Any) -> bool:
    return isinstance(value, Tensor) and value.requires_grad


def _check_recordable(target: Tensor, leaf_message: str) -> None:
    """Refuse, as PyTorch does, an in-place change that recording could not describe."""
    if target.is_leaf and target.requires_grad:
        raise RuntimeError(leaf_message)
    base = target._base
    if base is not None and base.is_leaf and base.requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    if base is not None and base.requires_grad:
        raise RuntimeError("an in-place operation on a view of a tensor that requires grad is not supported while "
                           "recording; change the tensor itself, clone() the view first, or do it under no_grad()")


def _old_value(target: Tensor) -> Tensor:
    """A tensor standing for ``target`` before the change: a copy of its values, with its history."""
    old = Tensor(target.data.copy())
    old.grad_fn, old.requires_grad = target.grad_fn, target.requires_grad
    return old


def _store(target: Tensor, values: np.ndarray) -> None:
    """Write ``values`` into ``target``'s own memory (so its views see them) and raise its version."""
    if not promotion.can_cast(values.dtype, target.dtype):
        raise RuntimeError(f"result type {promotion.torch_name(values.dtype)} can't be cast to the desired output "
                           f"type {promotion.torch_name(target.dtype)}")
    if values.shape != target.shape:
        raise RuntimeError(f"output with shape {list(target.shape)} doesn't match the broadcast shape "
                           f"{list(values.shape)}")
    np.copyto(target.data, values, casting="unsafe")
    bump_version(target)


def bump_version(target: Tensor) -> None:
    """Count one more in-place change of ``target``'s memory (for code that writes ``.data`` itself).

    The node that made the memory's owner is marked outdated if it saved those values for its rule.
    """
    owner = target._base if target._base is not None else target
    version_of(owner).value += 1
    node = owner.grad_fn
    if node is not None and any(value is owner.data for value in node.saved):
        node.outdated = True
