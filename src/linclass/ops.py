"""Differentiable operations: each forward computation with its backward rule right beside it.

An operation computes its result on the NumPy arrays and hands :func:`~linclass.tensor.record` the
result, its inputs, its backward rule and the values the rule needs. Given ``g`` = d(final)/d(result),
the rule returns d(final)/d(input) for each input that ``needs`` one: the chain rule, one gate at a
time, as on the lecture's circuits:

* an add gate passes ``g`` on unchanged to both inputs;
* a multiply gate passes ``g`` times the *other* input;
* a max gate routes ``g`` to the input that won.

Every gradient comes back in its input's shape: broadcasting copied a value to many places, so
:func:`unbroadcast` sums its gradient over them.

Dtypes follow PyTorch (``promotion.py``): a float32 tensor times 2.0 stays float32, an int tensor
times 0.5 is float32. Where a function has a kink or a tie (max, min, maximum, minimum, abs, relu,
clamp), the gradient chosen there is PyTorch's; each docstring says which. Operation names
(``MulBackward0``, ...) are PyTorch's ``grad_fn.name()``.
"""

from __future__ import annotations

import math
import typing
from typing import Any, Callable, NamedTuple, Sequence, TypeAlias, overload

import numpy as np
import numpy.typing as npt

from linclass import indexing
from linclass.fastsum import sum_axes
from linclass.promotion import floating, promote, torch_name
from linclass.tensor import (
    Dim, Gradients, Needs, Operand, Shape, Tensor, _default_array, as_view, record, wrap_dim,
)

__all__ = [
    "add", "sub", "mul", "div", "reciprocal", "pow", "neg", "matmul",
    "sum", "mean", "max", "min", "argmax",
    "exp", "log", "sqrt", "abs", "relu", "tanh", "sigmoid",
    "maximum", "minimum", "clamp",
    "reshape", "unsqueeze", "transpose", "t", "permute_reverse", "index", "index_put", "cast", "clone",
    "fill", "zero", "copy",
    "softmax", "log_softmax", "logsumexp",
    "eq", "ne", "lt", "le", "gt", "ge", "arange", "unbroadcast",
]

_NUMBERS = (int, float, bool)

Value: TypeAlias = "np.ndarray | float"
"""An operand's values as an operation computes with them: an array, or a Python number as it is."""

Kept: TypeAlias = Any
"""A value saved only for an input that wants a gradient, None otherwise (see :func:`_kept_for`);
which of them is None depends on ``needs``, which a type cannot say."""


class MaxResult(NamedTuple):
    """What ``max(x, dim)`` returns, as ``torch.return_types.max``: the values and their int64 indices."""

    values: Tensor
    indices: Tensor


class MinResult(NamedTuple):
    """What ``min(x, dim)`` returns, as ``torch.return_types.min``: the values and their int64 indices."""

    values: Tensor
    indices: Tensor


MaxResult.__name__, MinResult.__name__ = "max", "min"  # printed as PyTorch prints them: max(values=..., ...)


# -- arithmetic ---------------------------------------------------------------------------------------


def add(a: Operand, b: Operand) -> Tensor:
    """``a + b``, broadcast. The add gate passes the gradient on unchanged to both inputs."""
    va, vb = _values(a, b)
    return record(va + vb, (a, b), _add_backward, "AddBackward0", (_shape(va), _shape(vb)))


def _add_backward(g: np.ndarray, needs: Needs, shape_a: Shape, shape_b: Shape) -> Gradients:
    return (unbroadcast(g, shape_a) if needs[0] else None,
            unbroadcast(g, shape_b) if needs[1] else None)


def mul(a: Operand, b: Operand) -> Tensor:
    """``a * b``, broadcast. The multiply gate passes each input ``g`` times the *other* input."""
    va, vb = _values(a, b)
    return record(va * vb, (a, b), _mul_backward, "MulBackward0",
                  (_shape(va), _shape(vb), _kept_for(b, va), _kept_for(a, vb)))


def _mul_backward(g: np.ndarray, needs: Needs, shape_a: Shape, shape_b: Shape, va: Kept,
                  vb: Kept) -> Gradients:
    return (unbroadcast(g * vb, shape_a) if needs[0] else None,
            unbroadcast(g * va, shape_b) if needs[1] else None)


def sub(a: Operand, b: Operand) -> Tensor:
    """``a - b``, broadcast. The gradient is ``g`` for ``a`` and ``-g`` for ``b``.

    ``RsubBackward1`` when ``a`` is a number, as in PyTorch.
    """
    va, vb = _values(a, b)
    name = "SubBackward0" if isinstance(a, Tensor) else "RsubBackward1"
    return record(va - vb, (a, b), _sub_backward, name, (_shape(va), _shape(vb)))


def _sub_backward(g: np.ndarray, needs: Needs, shape_a: Shape, shape_b: Shape) -> Gradients:
    return (unbroadcast(g, shape_a) if needs[0] else None,
            -unbroadcast(g, shape_b) if needs[1] else None)  # summed first: fewer to negate


def div(a: Operand, b: Operand) -> Tensor:
    """``a / b``, broadcast. d/da = 1/b and d/db = -a/b² = -(a/b)/b.

    True division, as in PyTorch: integers divided by integers give float32. A number divided by a
    tensor is computed as PyTorch computes it, ``reciprocal(b) * a``.
    """
    if isinstance(a, _NUMBERS) and isinstance(b, Tensor):
        return mul(reciprocal(b), a)
    va, vb = _values(a, b, true_division=True)
    out = va / vb
    return record(out, (a, b), _div_backward, "DivBackward0", (_shape(va), vb, _kept_for(b, out)))


def _div_backward(g: np.ndarray, needs: Needs, shape_a: Shape, vb: Value, out: Kept) -> Gradients:
    return (unbroadcast(g / vb, shape_a) if needs[0] else None,
            unbroadcast(-g * out / vb, _shape(vb)) if needs[1] else None)


def reciprocal(x: Tensor) -> Tensor:
    """``1 / x``. The gradient is ``-g / x²`` = ``-g · out²``."""
    out = 1 / floating(x.data)
    return record(out, (x,), _reciprocal_backward, "ReciprocalBackward0", (out,))


def _reciprocal_backward(g: np.ndarray, needs: Needs, out: np.ndarray) -> Gradients:
    return (-g * out * out,)


def pow(a: Operand, b: Operand) -> Tensor:
    """``a ** b``, broadcast. d/da = b·a^(b-1) and d/db = a^b·ln a.

    As in PyTorch, d/da is 0 where b == 0 and d/db is 0 where a == 0 and b >= 0 (so ``0 ** 0`` has
    gradient 0, not NaN). Named ``PowBackward0`` for a number exponent, ``PowBackward1`` for a tensor
    exponent and ``PowBackward2`` for a number base, as PyTorch does.
    """
    if not isinstance(b, Tensor):
        name = "PowBackward0"
    else:
        name = "PowBackward1" if isinstance(a, Tensor) else "PowBackward2"
    va, vb = _values(a, b)
    out = va ** vb
    return record(out, (a, b), _pow_backward, name, (va, vb, out))


def _pow_backward(g: np.ndarray, needs: Needs, va: Value, vb: Value, out: Value) -> Gradients:
    ga = gb = None
    if needs[0]:
        ga = g * vb * va ** (vb - 1)
        if np.any(vb == 0):
            ga = np.where(vb == 0, 0, ga)
        ga = unbroadcast(ga, _shape(va))
    if needs[1]:
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = np.where((va == 0) & (vb >= 0), 0, g * out * np.log(va))
        gb = unbroadcast(gb, _shape(vb))
    return ga, gb


def neg(x: Tensor) -> Tensor:
    """``-x``. The gradient is ``-g``."""
    return record(-x.data, (x,), _neg_backward, "NegBackward0")


def _neg_backward(g: np.ndarray, needs: Needs) -> Gradients:
    return (-g,)


def matmul(a: Operand, b: Operand) -> Tensor:
    """``a @ b`` with NumPy's (and PyTorch's) rules for 1-D and batched operands.

    For matrices, d/da = g @ bᵀ and d/db = aᵀ @ g; a vector operand is treated as a one-row (left) or
    one-column (right) matrix, and batch dimensions that broadcasting added are summed away. Named as
    PyTorch names the kernel it runs: ``DotBackward0`` (vector·vector), ``MvBackward0``
    (matrix·vector), ``MmBackward0`` (matrix·matrix); other shapes are ``MatmulBackward0``.
    """
    va, vb = _values(a, b)
    try:
        out = va @ vb
    except ValueError:
        raise ValueError(_matmul_mismatch(_shape(va), _shape(vb))) from None
    transposed_b = vb.ndim == 2 and vb.flags.f_contiguous and not vb.flags.c_contiguous  # a Wᵀ view
    return record(out, (a, b), _matmul_backward, _matmul_name(va.ndim, vb.ndim),
                  (va.shape, vb.shape, _kept_for(b, va), _kept_for(a, vb), transposed_b))


def _matmul_backward(g: np.ndarray, needs: Needs, shape_a: Shape, shape_b: Shape, va: Kept,
                     vb: Kept, transposed_b: bool) -> Gradients:
    if len(shape_a) == 2 and len(shape_b) == 2:  # matrices: the rule as stated, nothing to reshape or sum away
        # d/db in b's own layout: for x @ Wᵀ, (gᵀ x)ᵀ, whose transpose back is W's gradient in W's order
        gb = ((g.T @ va).T if transposed_b else va.T @ g) if needs[1] else None
        return (g @ vb.T if needs[0] else None, gb)
    if len(shape_b) == 1:  # a vector is a one-column matrix on the right, a one-row matrix on the left
        g, vb = np.expand_dims(g, -1), None if vb is None else vb[:, np.newaxis]
    if len(shape_a) == 1:
        g, va = np.expand_dims(g, -2), None if va is None else va[np.newaxis]
    ga = unbroadcast(g @ np.swapaxes(vb, -1, -2), _as_matrix(shape_a, 0)).reshape(shape_a) if needs[0] else None
    gb = unbroadcast(np.swapaxes(va, -1, -2) @ g, _as_matrix(shape_b, 1)).reshape(shape_b) if needs[1] else None
    return ga, gb


def _as_matrix(shape: tuple[int, ...], side: int) -> tuple[int, ...]:
    """A vector operand's shape as the matrix it stands for: one row on the left, one column on the right."""
    if len(shape) != 1:
        return shape
    return (1, shape[0]) if side == 0 else (shape[0], 1)


def _matmul_mismatch(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> str:
    """Why ``a @ b`` fails, naming both shapes; for matrices in PyTorch's words."""
    if len(shape_a) == len(shape_b) == 2:
        return f"mat1 and mat2 shapes cannot be multiplied ({_dims(shape_a)} and {_dims(shape_b)})"
    if not shape_a or not shape_b:
        return f"both arguments to matmul need to be at least 1D, but they are {len(shape_a)}D and {len(shape_b)}D"
    inner_b = shape_b[0] if len(shape_b) == 1 else shape_b[-2]
    if shape_a[-1] != inner_b:
        what = "length" if len(shape_b) == 1 else "second-to-last dimension"
        reason = f"the last dimension of the first is {shape_a[-1]} but the {what} of the second is {inner_b}"
    else:
        reason = "their batch dimensions do not broadcast"
    return f"matmul shapes cannot be multiplied ({_dims(shape_a)} and {_dims(shape_b)}): {reason}"


def _dims(shape: tuple[int, ...]) -> str:
    """A shape as PyTorch writes it in messages: ``2x3``."""
    return "x".join(map(str, shape))


def _matmul_name(ndim_a: int, ndim_b: int) -> str:
    return {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (2, 2): "MmBackward0"}.get(
        (ndim_a, ndim_b), "MatmulBackward0")


# -- reductions -------------------------------------------------------------------------------------


def _axes(dim: int | tuple[int, ...] | list[int] | None, ndim: int) -> tuple[int, ...]:
    """``dim`` as a tuple of non-negative axes, each checked by :func:`wrap_dim`; None or ``()`` means
    every axis, as in PyTorch. A 0-d tensor has no axes to reduce."""
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):
        return tuple(range(ndim))
    if not isinstance(dim, (tuple, list)):
        axis = wrap_dim(dim, ndim)
        return (axis,) if ndim else ()
    axes = tuple([wrap_dim(d, ndim) for d in dim])
    if len(set(axes)) != len(axes):
        repeated = next(axis for i, axis in enumerate(axes) if axis in axes[:i])
        raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
    return axes if ndim else ()


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with the reduced ``axes`` kept as 1: the shape of a reduction's gradient before it is
    spread back over the reduced elements."""
    kept = list(shape)
    for axis in axes:
        kept[axis] = 1
    return tuple(kept)


def sum(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Sum over ``dim`` (every axis when None). Each summed element receives the gradient of the sum.

    Integers and bools sum to int64, as in PyTorch. ``SumBackward0`` for the full sum,
    ``SumBackward1`` over ``dim``.
    """
    values = x.data
    axes = _axes(dim, values.ndim)
    if values.dtype.kind != "f":
        return Tensor(np.asarray(values.sum(axis=axes, keepdims=keepdim, dtype=np.int64)))
    name = "SumBackward0" if dim is None else "SumBackward1"
    return record(sum_axes(values, axes, keepdim), (x,), _sum_backward, name,
                  (values.shape, _kept_shape(values.shape, axes)))


def _sum_backward(g: np.ndarray, needs: Needs, shape: Shape, kept: Shape) -> Gradients:
    # a read-only view: every summed element shares the one gradient
    return (np.broadcast_to(g.reshape(kept), shape),)


def mean(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` (every axis when None). Each element receives ``g / count``.

    ``MeanBackward0`` for the full mean, ``MeanBackward1`` over ``dim``. As in PyTorch, integers have
    no mean (cast them first), and the mean of nothing is NaN.
    """
    values = x.data
    if values.dtype.kind != "f":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {torch_name(values.dtype)}")
    axes = _axes(dim, values.ndim)
    count = math.prod([values.shape[axis] for axis in axes])
    with np.errstate(invalid="ignore"):
        out = sum_axes(values, axes, keepdim) / count  # 0 / 0 = NaN for the mean of nothing
    name = "MeanBackward0" if dim is None else "MeanBackward1"
    return record(out, (x,), _mean_backward, name, (values.shape, _kept_shape(values.shape, axes), count))


def _mean_backward(g: np.ndarray, needs: Needs, shape: Shape, kept: Shape, count: int) -> Gradients:
    with np.errstate(divide="ignore"):
        return (np.broadcast_to(g.reshape(kept) / count, shape),)


@overload
def max(x: Tensor, dim: None = None, keepdim: bool = False) -> Tensor: ...
@overload
def max(x: Tensor, dim: int, keepdim: bool = False) -> MaxResult: ...
def max(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | MaxResult:
    """The largest element, or with ``dim`` the named tuple ``(values, indices)`` along it.

    Ties follow PyTorch: over the whole tensor (``MaxBackward1``) the gradient is split evenly among
    the tied maxima; along ``dim`` (``MaxBackward0``) it all goes to the one index returned, the first
    maximum. ``indices`` is an int64 tensor without gradient.
    """
    if dim is None:
        return _extreme(x, np.max, "max", "MaxBackward1")
    return MaxResult(*_extreme_along(x, dim, keepdim, np.ndarray.argmax, "max", "MaxBackward0"))


@overload
def min(x: Tensor, dim: None = None, keepdim: bool = False) -> Tensor: ...
@overload
def min(x: Tensor, dim: int, keepdim: bool = False) -> MinResult: ...
def min(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | MinResult:
    """The smallest element, or with ``dim`` the named tuple ``(values, indices)`` along it.

    Ties as in :func:`max`: split evenly over the whole tensor (``MinBackward1``), to the first
    minimum along ``dim`` (``MinBackward0``).
    """
    if dim is None:
        return _extreme(x, np.min, "min", "MinBackward1")
    return MinResult(*_extreme_along(x, dim, keepdim, np.ndarray.argmin, "min", "MinBackward0"))


def _extreme(x: Tensor, pick: Callable[[np.ndarray], Any], what: str, name: str) -> Tensor:
    """Max or min of all elements; the gradient is shared evenly by every element equal to it."""
    xv = x.data
    if xv.size == 0:
        raise RuntimeError(f"{what}(): Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")
    out = pick(xv)
    return record(out, (x,), _extreme_backward, name, (xv, out))


def _extreme_backward(g: np.ndarray, needs: Needs, xv: np.ndarray, out: np.ndarray) -> Gradients:
    winners = xv == out
    return (winners * (g / int(winners.sum())),)


def _extreme_along(x: Tensor, dim: int, keepdim: bool, arg_pick: Callable[..., np.ndarray], what: str,
                   name: str) -> tuple[Tensor, Tensor]:
    """Max or min along ``dim`` with its indices; the gradient goes to the picked index only."""
    xv = x.data
    dim = wrap_dim(dim, xv.ndim)
    if xv.ndim == 0:  # a 0-d tensor is its own extreme, at index 0, as in PyTorch
        return record(xv.copy(), (x,), _identity_backward, name), Tensor(np.zeros((), np.int64))
    if xv.shape[dim] == 0:
        raise IndexError(f"{what}(): Expected reduction dim {dim} to have non-zero size.")
    indices = arg_pick(xv, axis=dim, keepdims=True)
    values = np.take_along_axis(xv, indices, axis=dim)
    if not keepdim:
        values = values.squeeze(dim)
    picked = indices if keepdim else indices.squeeze(dim)
    return (record(values, (x,), _extreme_along_backward, name, (xv.shape, xv.dtype, indices, dim)),
            Tensor(picked.astype(np.int64, copy=False)))


def _extreme_along_backward(g: np.ndarray, needs: Needs, shape: Shape, dtype: np.dtype, indices: np.ndarray,
                            dim: int) -> Gradients:
    grad = np.zeros(shape, dtype)
    np.put_along_axis(grad, indices, g.reshape(indices.shape), axis=dim)  # g with dim kept
    return (grad,)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (of the flattened tensor when ``dim`` is None); no gradient."""
    axis = None if dim is None else wrap_dim(dim, x.data.ndim)
    return Tensor(np.argmax(x.data, axis=axis, keepdims=keepdim).astype(np.int64, copy=False))


# -- elementwise functions: integers are computed in the default float dtype, as in PyTorch --------


def exp(x: Tensor) -> Tensor:
    """``e**x``. Its derivative is itself: the gradient is ``g * exp(x)``."""
    out = np.exp(floating(x.data))
    return record(out, (x,), _times_output_backward, "ExpBackward0", (out,))


def _times_output_backward(g: np.ndarray, needs: Needs, out: np.ndarray) -> Gradients:
    return (g * out,)


def log(x: Tensor) -> Tensor:
    """Natural logarithm. The gradient is ``g / x``. ``log(0)`` is -inf, quietly, as in PyTorch."""
    xv = floating(x.data)
    with np.errstate(divide="ignore"):
        out = np.log(xv)
    return record(out, (x,), _log_backward, "LogBackward0", (xv,))


def _log_backward(g: np.ndarray, needs: Needs, xv: np.ndarray) -> Gradients:
    return (g / xv,)


def sqrt(x: Tensor) -> Tensor:
    """Square root. The gradient is ``g / (2 sqrt(x))`` (infinite at 0, as in PyTorch)."""
    out = np.sqrt(floating(x.data))
    return record(out, (x,), _sqrt_backward, "SqrtBackward0", (out,))


def _sqrt_backward(g: np.ndarray, needs: Needs, out: np.ndarray) -> Gradients:
    with np.errstate(divide="ignore"):
        return (g / (2 * out),)


def abs(x: Tensor) -> Tensor:
    """``|x|``. The gradient is ``g * sign(x)``; at the kink x = 0 it is 0, as in PyTorch."""
    xv = x.data
    return record(np.abs(xv), (x,), _abs_backward, "AbsBackward0", (xv,))


def _abs_backward(g: np.ndarray, needs: Needs, xv: np.ndarray) -> Gradients:
    return (g * np.sign(xv),)


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``. The gradient passes where x > 0; at the kink x = 0 it is 0, as in PyTorch."""
    out = np.maximum(x.data, 0)
    return record(out, (x,), _relu_backward, "ReluBackward0", (out,))


def _relu_backward(g: np.ndarray, needs: Needs, out: np.ndarray) -> Gradients:
    return (g * (out > 0),)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent. The gradient is ``g * (1 - tanh(x)²)``."""
    out = np.tanh(floating(x.data))
    return record(out, (x,), _tanh_backward, "TanhBackward0", (out,))


def _tanh_backward(g: np.ndarray, needs: Needs, out: np.ndarray) -> Gradients:
    return (g * (1 - out * out),)


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + e**-x)``, computed without overflow. The gradient is ``g * σ(x)(1 - σ(x))``."""
    xv = floating(x.data)
    e = np.exp(-np.abs(xv))  # e**-|x| <= 1, so nothing overflows for large |x|
    out = np.where(xv >= 0, 1, e) / (1 + e)
    return record(out, (x,), _sigmoid_backward, "SigmoidBackward0", (out,))


def _sigmoid_backward(g: np.ndarray, needs: Needs, out: np.ndarray) -> Gradients:
    return (g * out * (1 - out),)


def maximum(a: Operand, b: Operand) -> Tensor:
    """Elementwise larger of ``a`` and ``b``, broadcast: the max gate.

    The gradient goes to the larger input; where ``a == b`` each receives half, as in PyTorch.
    """
    va, vb = _values(a, b)
    return record(np.maximum(va, vb), (a, b), _gate_backward, "MaximumBackward0",
                  (_shape(va), _shape(vb), va > vb, va == vb))


def minimum(a: Operand, b: Operand) -> Tensor:
    """Elementwise smaller of ``a`` and ``b``, broadcast: the min gate.

    The gradient goes to the smaller input; where ``a == b`` each receives half, as in PyTorch.
    """
    va, vb = _values(a, b)
    return record(np.minimum(va, vb), (a, b), _gate_backward, "MinimumBackward0",
                  (_shape(va), _shape(vb), va < vb, va == vb))


def _gate_backward(g: np.ndarray, needs: Needs, shape_a: Shape, shape_b: Shape, a_won: np.ndarray,
                   tie: np.ndarray) -> Gradients:
    """The max (or min) gate's rule: ``g`` to the input that won, half to each on a tie."""
    half = tie * (g * 0.5)
    return (unbroadcast(g * a_won + half, shape_a) if needs[0] else None,
            unbroadcast(g * ~(a_won | tie) + half, shape_b) if needs[1] else None)


def clamp(x: Tensor, min: Operand | None = None, max: Operand | None = None) -> Tensor:
    """``x`` limited to ``[min, max]`` (either bound may be None). The bounds get no gradient.

    The gradient passes where ``min <= x <= max``, the boundaries included, as in PyTorch; elsewhere 0.
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    low = min.data if isinstance(min, Tensor) else min
    high = max.data if isinstance(max, Tensor) else max
    xv = x.data
    return record(np.clip(xv, low, high), (x,), _clamp_backward, "ClampBackward1", (xv, low, high))


def _clamp_backward(g: np.ndarray, needs: Needs, xv: np.ndarray, low: Value | None, high: Value | None) -> Gradients:
    inside: np.ndarray | bool = True
    if low is not None:
        inside = xv >= low
    if high is not None:
        inside = inside & (xv <= high)
    return (g * inside,)


# -- shapes, indexing and copies ----------------------------------------------------------------------


def _identity_backward(g: np.ndarray, needs: Needs) -> Gradients:
    return (g,)


def reshape(x: Tensor, *shape: int | Sequence[int]) -> Tensor:
    """The same elements in a new shape (``reshape(x, 2, 3)`` or ``reshape(x, (2, 3))``; -1 infers)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dims = typing.cast(Shape, shape)  # numbers now, the one tuple or list of them unpacked
    return as_view(record(x.data.reshape(dims), (x,), _reshape_backward, "ViewBackward0", (x.shape,)), x)


def _reshape_backward(g: np.ndarray, needs: Needs, shape: Shape) -> Gradients:
    return (g.reshape(shape),)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """``x`` with a new dimension of size 1 at ``dim``; the gradient drops it again."""
    dim = wrap_dim(dim, x.data.ndim + 1)
    return as_view(record(np.expand_dims(x.data, dim), (x,), _reshape_backward, "UnsqueezeBackward0",
                          (x.shape,)), x)


def transpose(x: Tensor, dim0: int = 0, dim1: int = 1) -> Tensor:
    """``x`` with dimensions ``dim0`` and ``dim1`` swapped; the gradient is swapped back."""
    dim0, dim1 = wrap_dim(dim0, x.data.ndim), wrap_dim(dim1, x.data.ndim)
    if x.data.ndim == 0:  # NumPy has no axis to swap; PyTorch returns the value
        return as_view(record(x.data, (x,), _identity_backward, "TransposeBackward0"), x)
    return as_view(record(np.swapaxes(x.data, dim0, dim1), (x,), _transpose_backward, "TransposeBackward0",
                          (dim0, dim1)), x)


def _transpose_backward(g: np.ndarray, needs: Needs, dim0: int, dim1: int) -> Gradients:
    return (np.swapaxes(g, dim0, dim1),)


def t(x: Tensor) -> Tensor:
    """The transpose of a matrix; a vector or a number is returned as it is (``TBackward0``)."""
    if x.data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.data.ndim}D")
    return as_view(record(x.data.T, (x,), _reverse_backward, "TBackward0"), x)


def permute_reverse(x: Tensor) -> Tensor:
    """``x`` with all dimensions reversed (``x.T``); the gradient is reversed back."""
    return as_view(record(x.data.T, (x,), _reverse_backward, "PermuteBackward0"), x)


def _reverse_backward(g: np.ndarray, needs: Needs) -> Gradients:
    return (g.T,)


def index(x: Tensor, key: Any) -> Tensor:
    """``x[key]``, with PyTorch's meaning for every key NumPy accepts (see ``indexing.py``).

    ``scores[arange(N), y]`` picks each row's correct-class score. The backward pass scatters ``g``
    back into zeros, *adding* at repeated indices: an element picked twice receives both gradients.
    """
    parsed = indexing.parse(key, x.shape)
    out = record(parsed.get(x.data), (x,), _index_backward, parsed.name, (parsed, x.shape, x.dtype))
    return out if parsed.advanced else as_view(out, x)


def _index_backward(g: np.ndarray, needs: Needs, parsed: indexing.Key, shape: Shape, dtype: np.dtype) -> Gradients:
    return (parsed.scatter(shape, dtype, g),)


def index_put(x: Tensor, key: Any, value: Operand) -> Tensor:
    """A copy of ``x`` with ``x[key] = value``: what an indexed assignment records.

    The overwritten elements get no gradient from the result; ``value`` gets the gradient of the places
    it was written to. Named ``CopySlices`` for a basic key and ``IndexPutBackward0`` for an array key,
    as in PyTorch.
    """
    parsed = indexing.parse(key, x.shape)
    new = value.data if isinstance(value, Tensor) else value
    out = x.data.copy()
    parsed.put(out, new)
    name = "IndexPutBackward0" if parsed.advanced else "CopySlices"
    return record(out, (x, value), _index_put_backward, name, (parsed, np.shape(new)))


def _index_put_backward(g: np.ndarray, needs: Needs, parsed: indexing.Key, value_shape: Shape) -> Gradients:
    kept = None
    if needs[0]:
        kept = g.copy()
        parsed.put(kept, 0)
    written = unbroadcast(parsed.get(g), value_shape) if needs[1] else None
    return kept, written


def cast(x: Tensor, dtype: npt.DTypeLike) -> Tensor:
    """``x`` converted to ``dtype`` (``x`` itself when it already has it); the gradient is cast back.

    A conversion to a non-floating dtype is cut from the graph, as in PyTorch.
    """
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind != "f":
        return Tensor(x.data.astype(dtype))
    return record(x.data.astype(dtype), (x,), _cast_backward, "ToCopyBackward0", (x.dtype,))


def _cast_backward(g: np.ndarray, needs: Needs, dtype: np.dtype) -> Gradients:
    return (g.astype(dtype),)


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` in memory of its own; the gradient passes unchanged."""
    return record(x.data.copy(), (x,), _identity_backward, "CloneBackward0")


def fill(x: Tensor, value: Operand) -> Tensor:
    """A tensor like ``x`` holding ``value`` everywhere: what ``x.fill_(value)`` records.

    ``x`` gets no gradient; a tensor ``value`` gets the sum of ``g``.
    """
    new = value.data if isinstance(value, Tensor) else value
    name = "FillBackward3" if isinstance(value, Tensor) else "FillBackward2"
    return record(np.full(x.shape, new, x.dtype), (x, value), _fill_backward, name, (np.shape(new),))


def _fill_backward(g: np.ndarray, needs: Needs, value_shape: Shape) -> Gradients:
    return (np.zeros_like(g) if needs[0] else None, g.sum().reshape(value_shape) if needs[1] else None)


def zero(x: Tensor) -> Tensor:
    """Zeros like ``x``: what ``x.zero_()`` records; ``x`` gets no gradient."""
    return record(np.zeros_like(x.data), (x,), _zero_backward, "ZeroBackward0")


def _zero_backward(g: np.ndarray, needs: Needs) -> Gradients:
    return (np.zeros_like(g),)


def copy(x: Tensor, source: Operand) -> Tensor:
    """``source`` broadcast to ``x``'s shape and dtype: what ``x.copy_(source)`` records.

    ``x`` gets no gradient; ``source`` gets ``g``, summed over what broadcasting repeated.
    """
    new = source.data if isinstance(source, Tensor) else np.asarray(source)
    out = np.empty_like(x.data)
    out[...] = new
    return record(out, (x, source), _copy_backward, "CopyBackwards", (np.shape(new), new.dtype))


def _copy_backward(g: np.ndarray, needs: Needs, source_shape: Shape, source_dtype: np.dtype) -> Gradients:
    return (np.zeros_like(g) if needs[0] else None,
            unbroadcast(g, source_shape).astype(source_dtype, copy=False) if needs[1] else None)


# -- softmax family: exponentials shifted by the maximum, so large inputs do not overflow -----------


def _row_max(values: np.ndarray, axes: Any) -> np.ndarray:
    """The maximum along ``axes``, kept as 1; -inf where there is nothing to take it of."""
    return values.max(axis=axes, keepdims=True, initial=-np.inf)


def softmax(x: Tensor, dim: int) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, computed as exp(x - max) so that e**1000 never occurs.

    With s = softmax(x), the gradient is ``s * (g - sum(g * s))``.
    """
    xv = floating(x.data)
    dim = wrap_dim(dim, xv.ndim)
    out = np.exp(xv - _row_max(xv, dim))
    out /= out.sum(axis=dim, keepdims=True)
    return record(out, (x,), _softmax_backward, "SoftmaxBackward0", (out, dim))


def _softmax_backward(g: np.ndarray, needs: Needs, out: np.ndarray, dim: int) -> Gradients:
    grad = g - (g * out).sum(axis=dim, keepdims=True)
    grad *= out
    return (grad,)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: log-probabilities, stable for large inputs.

    The gradient is ``g - softmax(x) * sum(g)``.
    """
    xv = floating(x.data)
    dim = wrap_dim(dim, xv.ndim)
    out = xv - _row_max(xv, dim)
    with np.errstate(divide="ignore"):  # a row of nothing sums to 0
        out -= np.log(np.exp(out).sum(axis=dim, keepdims=True))
    return record(out, (x,), _log_softmax_backward, "LogSoftmaxBackward0", (out, dim))


def _log_softmax_backward(g: np.ndarray, needs: Needs, out: np.ndarray, dim: int) -> Gradients:
    grad = np.exp(out)  # softmax(x), then g - softmax(x) * sum(g) in place
    grad *= -g.sum(axis=dim, keepdims=True)
    grad += g
    return (grad,)


def logsumexp(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim`` (every axis when None), as ``m + log(sum(exp(x - m)))``.

    The gradient is ``g * softmax(x)``. Over nothing it is -inf, as in PyTorch.
    """
    xv = floating(x.data)
    axes = _axes(dim, xv.ndim)
    m = _row_max(xv, axes)
    m = np.where(np.isfinite(m), m, 0)  # all -inf (or +inf) stays -inf (+inf) rather than becoming NaN
    with np.errstate(divide="ignore"):
        out = np.log(np.exp(xv - m).sum(axis=axes, keepdims=True)) + m
    return record(out if keepdim else out.squeeze(axes), (x,), _logsumexp_backward, "LogsumexpBackward0",
                  (xv, out, axes, keepdim))


def _logsumexp_backward(g: np.ndarray, needs: Needs, xv: np.ndarray, out: np.ndarray, axes: tuple[int, ...],
                        keepdim: bool) -> Gradients:
    return ((g if keepdim else np.expand_dims(g, axes)) * np.exp(xv - out),)


# -- without gradient: comparisons and arange ----------------------------------------------------------


def _comparison(ufunc: np.ufunc, symbol: str) -> Callable[[Operand | None, Operand | None], Tensor]:
    def compare(a: Operand | None, b: Operand | None) -> Tensor:
        if a is None or b is None:
            return NotImplemented  # so that ``t == None`` is False, as in PyTorch
        return Tensor(np.asarray(ufunc(*_values(a, b))))

    compare.__name__ = compare.__qualname__ = ufunc.__name__
    compare.__doc__ = f"Elementwise ``a {symbol} b`` as a bool tensor; it carries no gradient."
    return compare


eq = _comparison(np.equal, "==")
ne = _comparison(np.not_equal, "!=")
lt = _comparison(np.less, "<")
le = _comparison(np.less_equal, "<=")
gt = _comparison(np.greater, ">")
ge = _comparison(np.greater_equal, ">=")


def arange(start: float, end: float | None = None, step: float = 1, dtype: npt.DTypeLike | None = None) -> Tensor:
    """``start, start + step, ...`` up to ``end`` (excluded), as ``torch.arange``; no gradient.

    Integers give int64 (use as indices: ``scores[arange(N), y]``), floats float32.
    """
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    if dtype is None:
        dtype = np.int64 if values.dtype.kind in "iu" else np.float32
    return Tensor(values.astype(dtype, copy=False))


# -- what every operation uses: broadcasting's gradient, operand values, saved values -------------------


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``.

    A value broadcast to many places contributed to all of them, so its gradient is their sum.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = sum_axes(grad, tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = sum_axes(grad, stretched, keepdims=True)
    return grad.reshape(shape)


def _values(a: Any, b: Any, true_division: bool = False) -> tuple[Any, Any]:
    """The values of both operands of a binary operation, in the dtype PyTorch computes in.

    A Python number stays a number; a tensor gives its array; anything else becomes an array.
    """
    va = a.data if type(a) is Tensor else a if isinstance(a, _NUMBERS) else _default_array(a, None)
    vb = b.data if type(b) is Tensor else b if isinstance(b, _NUMBERS) else _default_array(b, None)
    if type(va) is np.ndarray:  # the common cases first, kept free of promotion work
        if (va.dtype is vb.dtype if type(vb) is np.ndarray else type(vb) is float) and va.dtype.kind == "f":
            return va, vb
    elif type(va) is float and type(vb) is np.ndarray and vb.dtype.kind == "f":
        return va, vb
    return promote(va, vb, true_division)


def _shape(value: Any) -> tuple[int, ...]:
    """The shape of an operand's value (``()`` for a Python number); cheaper than ``np.shape``."""
    return value.shape if type(value) is np.ndarray else ()


def _kept_for(t: Any, value: Any) -> Any:
    """``value`` if ``t`` will want a gradient, whose rule needs it; else None, so that the value is
    neither kept alive nor checked for in-place changes (as PyTorch saves only what it needs)."""
    return value if type(t) is Tensor and t.requires_grad else None
