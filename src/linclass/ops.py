"""Differentiable operations: each forward computation with its backward rule right beside it.

An operation computes its result on the NumPy arrays and hands :func:`~linclass.tensor.record` the
result, its inputs and a closure ``backward(g)``. Given ``g`` = d(final)/d(result), the closure returns
d(final)/d(input) for each input — the chain rule, one gate at a time, as on the lecture's circuits:

* an add gate passes ``g`` on unchanged to both inputs;
* a multiply gate passes ``g`` times the *other* input;
* a max gate routes ``g`` to the input that won.

Every gradient comes back in its input's shape: broadcasting copied a value to many places, so
:func:`~linclass.tensor.unbroadcast` sums its gradient over them.

A Python number in an operation stays a Python number in the arithmetic: NumPy 2 treats it as a
*weak* scalar, so a float32 tensor times 2.0 stays float32, as in PyTorch. Integer and bool arrays are
promoted as PyTorch promotes them (an int tensor times 0.5, or divided by 2, is float32). Where a
function has a kink or a tie (max, min, maximum, minimum, abs, relu, clamp), the gradient chosen there
is PyTorch's; each docstring says which. Operation names (``MulBackward0``, ...) are PyTorch's ``grad_fn.name()``.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from linclass.tensor import Tensor, record, sum_axes, unbroadcast, wrap_dim

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "matmul",
    "sum", "mean", "max", "min", "argmax",
    "exp", "log", "sqrt", "abs", "relu", "tanh", "sigmoid",
    "maximum", "minimum", "clamp",
    "reshape", "transpose", "permute_reverse", "index", "cast",
    "softmax", "log_softmax", "logsumexp",
    "eq", "ne", "lt", "le", "gt", "ge", "arange",
]

_PYTHON_NUMBERS = (int, float, bool)
_DEFAULT_FLOAT = np.dtype(np.float32)  # PyTorch's default dtype, for results an integer input cannot hold

# What ``max(x, dim)`` and ``min(x, dim)`` return, as ``torch.return_types.max`` / ``.min``.
MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _operand(x: Any) -> tuple[Tensor, Any]:
    """``x`` as a tensor for the graph (a number or array becomes a constant), and the value to compute
    with: a Python number stays one, so that NumPy keeps the other operand's dtype."""
    if isinstance(x, Tensor):
        return x, x.data
    return Tensor(np.asarray(x)), x if isinstance(x, _PYTHON_NUMBERS) else np.asarray(x)


def _operands(a: Any, b: Any, divide: bool = False) -> tuple[Tensor, Tensor, Any, Any]:
    """Both operands of a binary operation as tensors, then their values (see :func:`_operand`),
    promoted as PyTorch promotes when an integer or bool array is involved (see :func:`_promote`)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        va, vb = a.data, b.data
        if va.dtype is vb.dtype and va.dtype.kind == "f":
            return a, b, va, vb  # the common case, kept free of promotion work
    else:
        (a, va), (b, vb) = _operand(a), _operand(b)
    # _is_integral spelt out: this line runs for every operation with a number
    if (isinstance(va, np.ndarray) and va.dtype.kind != "f") or (isinstance(vb, np.ndarray) and vb.dtype.kind != "f"):
        va, vb = _promote(va, vb, divide)
    return a, b, va, vb


def _is_integral(value: Any) -> bool:
    """Whether ``value`` is an integer or bool array (Python numbers are weak and never promoted)."""
    return isinstance(value, np.ndarray) and value.dtype.kind != "f"


def _promote(va: Any, vb: Any, divide: bool) -> tuple[Any, Any]:
    """The values with integer and bool arrays converted to the floating dtype PyTorch gives the result.

    NumPy computes an int64 array with a Python float, an int64 array with a float32 array and int / int
    in float64; PyTorch in the floating operand's dtype, float32 (its default) for a Python float and
    for true division of integers. Converting first also rounds as PyTorch does.
    """
    target = _floating_dtype(va)
    if target is None:
        target = _floating_dtype(vb)
    if target is None:
        if not divide:
            return _bool_as_integer(va, vb), _bool_as_integer(vb, va)  # integers stay integers
        target = _DEFAULT_FLOAT
    return _to_float(va, target), _to_float(vb, target)


def _bool_as_integer(value: Any, other: Any) -> Any:
    """A bool array meeting integers takes their dtype, as in PyTorch (NumPy's ``**`` would give int8)."""
    if not (isinstance(value, np.ndarray) and value.dtype.kind == "b"):
        return value
    if isinstance(other, np.ndarray) and other.dtype.kind in "iu":
        return value.astype(other.dtype)
    return value.astype(np.int64) if type(other) is int else value


def _floating_dtype(value: Any) -> np.dtype | None:
    """The dtype a floating operand imposes on integer ones: a float array's own, float32 for a Python
    float; None for integers and bools."""
    if isinstance(value, np.ndarray):
        return value.dtype if value.dtype.kind == "f" else None
    return _DEFAULT_FLOAT if isinstance(value, float) else None


def _to_float(value: Any, dtype: np.dtype) -> Any:
    """An integer or bool array converted to ``dtype``; anything else unchanged."""
    return value.astype(dtype) if _is_integral(value) else value


def _axes(dim: int | tuple[int, ...] | list[int] | None, ndim: int) -> tuple[int, ...]:
    """``dim`` as a tuple of non-negative axes, each checked by :func:`wrap_dim`; None means every axis.

    A 0-d tensor has no axes to reduce, so its (valid) dims give the empty tuple.
    """
    if dim is None:
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


# -- arithmetic ---------------------------------------------------------------------------------------


def add(a: Tensor | float, b: Tensor | float) -> Tensor:
    """``a + b``, broadcast. The add gate passes the gradient on unchanged to both inputs."""
    a, b, va, vb = _operands(a, b)

    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(g, b.shape) if b.requires_grad else None)

    return record(va + vb, (a, b), backward, "AddBackward0")


def sub(a: Tensor | float, b: Tensor | float) -> Tensor:
    """``a - b``, broadcast. The gradient is ``g`` for ``a`` and ``-g`` for ``b``."""
    name = "SubBackward0" if isinstance(a, Tensor) else "RsubBackward1"
    a, b, va, vb = _operands(a, b)

    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                -unbroadcast(g, b.shape) if b.requires_grad else None)  # summed first: fewer to negate

    return record(va - vb, (a, b), backward, name)


def mul(a: Tensor | float, b: Tensor | float) -> Tensor:
    """``a * b``, broadcast. The multiply gate passes each input ``g`` times the other input."""
    a, b, va, vb = _operands(a, b)

    def backward(g):
        return (unbroadcast(g * vb, a.shape) if a.requires_grad else None,
                unbroadcast(g * va, b.shape) if b.requires_grad else None)

    return record(va * vb, (a, b), backward, "MulBackward0")


def div(a: Tensor | float, b: Tensor | float) -> Tensor:
    """``a / b``, broadcast. d/da = 1/b and d/db = -a/b² = -(a/b)/b.

    True division, as in PyTorch: integers divided by integers give float32.
    """
    a, b, va, vb = _operands(a, b, divide=True)
    out = va / vb

    def backward(g):
        return (unbroadcast(g / vb, a.shape) if a.requires_grad else None,
                unbroadcast(-g * out / vb, b.shape) if b.requires_grad else None)

    return record(out, (a, b), backward, "DivBackward0")


def pow(a: Tensor | float, b: Tensor | float) -> Tensor:
    """``a ** b``, broadcast. d/da = b·a^(b-1) and d/db = a^b·ln a.

    As in PyTorch, d/da is 0 where b == 0 and d/db is 0 where a == 0 and b >= 0 (so ``0 ** 0`` has
    gradient 0, not NaN). Named ``PowBackward0`` for a number exponent, ``PowBackward1`` for a tensor
    exponent and ``PowBackward2`` for a number base, as PyTorch does.
    """
    if not isinstance(b, Tensor):
        name = "PowBackward0"
    else:
        name = "PowBackward1" if isinstance(a, Tensor) else "PowBackward2"
    a, b, va, vb = _operands(a, b)
    out = va ** vb

    def backward(g):
        ga = gb = None
        if a.requires_grad:
            ga = g * vb * va ** (vb - 1)
            if np.any(vb == 0):
                ga = np.where(vb == 0, 0, ga)
            ga = unbroadcast(ga, a.shape)
        if b.requires_grad:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = np.where((va == 0) & (vb >= 0), 0, g * out * np.log(va))
            gb = unbroadcast(gb, b.shape)
        return ga, gb

    return record(out, (a, b), backward, name)


def neg(x: Tensor) -> Tensor:
    """``-x``. The gradient is ``-g``."""
    return record(-x.data, (x,), lambda g: (-g,), "NegBackward0")


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` with NumPy's (and PyTorch's) rules for 1-D and batched operands.

    For matrices, d/da = g @ bᵀ and d/db = aᵀ @ g; a vector operand is treated as a one-row (left) or
    one-column (right) matrix, and batch dimensions that broadcasting added are summed away. Named as
    PyTorch names the kernel it runs: ``DotBackward0`` (vector·vector), ``MvBackward0``
    (matrix·vector), ``MmBackward0`` (matrix·matrix); other shapes are ``MatmulBackward0``.
    """
    a, b, va, vb = _operands(a, b)
    try:
        out = va @ vb
    except ValueError:
        raise ValueError(_matmul_mismatch(np.shape(va), np.shape(vb))) from None

    def backward(g):
        if va.ndim == 2 and vb.ndim == 2:  # matrices: the rule as stated, nothing to reshape or sum away
            return (g @ vb.T if a.requires_grad else None, va.T @ g if b.requires_grad else None)
        a2 = va[np.newaxis] if va.ndim == 1 else va
        b2 = vb[:, np.newaxis] if vb.ndim == 1 else vb
        if vb.ndim == 1:
            g = np.expand_dims(g, -1)
        if va.ndim == 1:
            g = np.expand_dims(g, -2)
        ga = unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape).reshape(va.shape) if a.requires_grad else None
        gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(vb.shape) if b.requires_grad else None
        return ga, gb

    return record(out, (a, b), backward, _matmul_name(va.ndim, vb.ndim))


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


def sum(x: Tensor, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
    """Sum over ``dim`` (every axis when None). Each summed element receives the gradient of the sum.

    ``SumBackward0`` for the full sum, ``SumBackward1`` over ``dim``, as in PyTorch.
    """
    shape = x.data.shape
    axes = _axes(dim, len(shape))
    kept = _kept_shape(shape, axes)

    def backward(g):  # a read-only view: every summed element shares the one gradient
        return (np.broadcast_to(g.reshape(kept), shape),)

    name = "SumBackward0" if dim is None else "SumBackward1"
    return record(sum_axes(x.data, axes, keepdim), (x,), backward, name)


def mean(x: Tensor, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` (every axis when None). Each element receives ``g / count``.

    ``MeanBackward0`` for the full mean, ``MeanBackward1`` over ``dim``, as in PyTorch.
    """
    shape = x.data.shape
    axes = _axes(dim, len(shape))
    kept = _kept_shape(shape, axes)
    count = math.prod([shape[axis] for axis in axes])

    def backward(g):
        return (np.broadcast_to(g.reshape(kept) / count, shape),)

    name = "MeanBackward0" if dim is None else "MeanBackward1"
    return record(sum_axes(x.data, axes, keepdim) / count, (x,), backward, name)


def max(x: Tensor, dim: int | None = None, keepdim: bool = False):
    """The largest element, or with ``dim`` the named tuple ``(values, indices)`` along it.

    Ties follow PyTorch: over the whole tensor (``MaxBackward1``) the gradient is split evenly among
    the tied maxima; along ``dim`` (``MaxBackward0``) it all goes to the one index returned, the first
    maximum. ``indices`` is an int64 tensor without gradient.
    """
    if dim is None:
        return _extreme(x, np.max, "MaxBackward1")
    return MaxResult(*_extreme_along(x, dim, keepdim, np.ndarray.argmax, "MaxBackward0"))


def min(x: Tensor, dim: int | None = None, keepdim: bool = False):
    """The smallest element, or with ``dim`` the named tuple ``(values, indices)`` along it.

    Ties as in :func:`max`: split evenly over the whole tensor (``MinBackward1``), to the first
    minimum along ``dim`` (``MinBackward0``).
    """
    if dim is None:
        return _extreme(x, np.min, "MinBackward1")
    return MinResult(*_extreme_along(x, dim, keepdim, np.ndarray.argmin, "MinBackward0"))


def _extreme(x: Tensor, pick, name: str) -> Tensor:
    """Max or min of all elements; the gradient is shared evenly by every element equal to it."""
    xv = x.data
    out = pick(xv)

    def backward(g):
        winners = xv == out
        return (winners * (g / int(winners.sum())),)

    return record(out, (x,), backward, name)


def _extreme_along(x: Tensor, dim: int, keepdim: bool, arg_pick, name: str) -> tuple[Tensor, Tensor]:
    """Max or min along ``dim`` with its indices; the gradient goes to the picked index only."""
    xv = x.data
    dim = wrap_dim(dim, xv.ndim)
    if xv.ndim == 0:  # a 0-d tensor is its own extreme, at index 0, as in PyTorch
        return record(xv.copy(), (x,), lambda g: (g,), name), Tensor(np.zeros((), np.int64))
    indices = arg_pick(xv, axis=dim, keepdims=True)
    values = np.take_along_axis(xv, indices, axis=dim)

    def backward(g):
        grad = np.zeros(xv.shape, xv.dtype)
        np.put_along_axis(grad, indices, g.reshape(indices.shape), axis=dim)  # g with dim kept
        return (grad,)

    if not keepdim:
        values = values.squeeze(dim)
    picked = indices if keepdim else indices.squeeze(dim)
    return record(values, (x,), backward, name), Tensor(picked.astype(np.int64, copy=False))


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (of the flattened tensor when ``dim`` is None); no gradient."""
    axis = None if dim is None else wrap_dim(dim, x.data.ndim)
    return Tensor(np.argmax(x.data, axis=axis, keepdims=keepdim).astype(np.int64, copy=False))


# -- elementwise functions ----------------------------------------------------------------------------


def exp(x: Tensor) -> Tensor:
    """``e**x``. Its derivative is itself: the gradient is ``g * exp(x)``."""
    out = np.exp(x.data)
    return record(out, (x,), lambda g: (g * out,), "ExpBackward0")


def log(x: Tensor) -> Tensor:
    """Natural logarithm. The gradient is ``g / x``."""
    xv = x.data
    return record(np.log(xv), (x,), lambda g: (g / xv,), "LogBackward0")


def sqrt(x: Tensor) -> Tensor:
    """Square root. The gradient is ``g / (2 sqrt(x))`` (infinite at 0, as in PyTorch)."""
    out = np.sqrt(x.data)

    def backward(g):
        with np.errstate(divide="ignore"):
            return (g / (2 * out),)

    return record(out, (x,), backward, "SqrtBackward0")


def abs(x: Tensor) -> Tensor:
    """``|x|``. The gradient is ``g * sign(x)``; at the kink x = 0 it is 0, as in PyTorch."""
    xv = x.data
    return record(np.abs(xv), (x,), lambda g: (g * np.sign(xv),), "AbsBackward0")


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``. The gradient passes where x > 0; at the kink x = 0 it is 0, as in PyTorch."""
    xv = x.data
    return record(np.maximum(xv, 0), (x,), lambda g: (g * (xv > 0),), "ReluBackward0")


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent. The gradient is ``g * (1 - tanh(x)²)``."""
    out = np.tanh(x.data)
    return record(out, (x,), lambda g: (g * (1 - out * out),), "TanhBackward0")


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + e**-x)``, computed without overflow. The gradient is ``g * σ(x)(1 - σ(x))``."""
    e = np.exp(-np.abs(x.data))  # e**-|x| <= 1, so nothing overflows for large |x|
    out = np.where(x.data >= 0, 1, e) / (1 + e)
    return record(out, (x,), lambda g: (g * out * (1 - out),), "SigmoidBackward0")


def maximum(a: Tensor | float, b: Tensor | float) -> Tensor:
    """Elementwise larger of ``a`` and ``b``, broadcast: the max gate.

    The gradient goes to the larger input; where ``a == b`` each receives half, as in PyTorch.
    """
    a, b, va, vb = _operands(a, b)

    def backward(g):
        tie = (va == vb) * (g * 0.5)
        return (unbroadcast(g * (va > vb) + tie, a.shape) if a.requires_grad else None,
                unbroadcast(g * (va < vb) + tie, b.shape) if b.requires_grad else None)

    return record(np.maximum(va, vb), (a, b), backward, "MaximumBackward0")


def minimum(a: Tensor | float, b: Tensor | float) -> Tensor:
    """Elementwise smaller of ``a`` and ``b``, broadcast: the min gate.

    The gradient goes to the smaller input; where ``a == b`` each receives half, as in PyTorch.
    """
    a, b, va, vb = _operands(a, b)

    def backward(g):
        tie = (va == vb) * (g * 0.5)
        return (unbroadcast(g * (va < vb) + tie, a.shape) if a.requires_grad else None,
                unbroadcast(g * (va > vb) + tie, b.shape) if b.requires_grad else None)

    return record(np.minimum(va, vb), (a, b), backward, "MinimumBackward0")


def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """``x`` limited to ``[min, max]`` (either bound may be None). The bounds get no gradient.

    The gradient passes where ``min <= x <= max``, the boundaries included, as in PyTorch; elsewhere 0.
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    low = min.data if isinstance(min, Tensor) else min
    high = max.data if isinstance(max, Tensor) else max
    xv = x.data

    def backward(g):
        inside = True
        if low is not None:
            inside = xv >= low
        if high is not None:
            inside = inside & (xv <= high)
        return (g * inside,)

    return record(np.clip(xv, low, high), (x,), backward, "ClampBackward1")


# -- shapes and indexing ------------------------------------------------------------------------------


def reshape(x: Tensor, *shape: int) -> Tensor:
    """The same elements in a new shape (``reshape(x, 2, 3)`` or ``reshape(x, (2, 3))``; -1 infers)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape_in = x.shape
    return record(x.data.reshape(shape), (x,), lambda g: (g.reshape(shape_in),), "ViewBackward0")


def transpose(x: Tensor, dim0: int = 0, dim1: int = 1) -> Tensor:
    """``x`` with dimensions ``dim0`` and ``dim1`` swapped; the gradient is swapped back."""
    dim0, dim1 = wrap_dim(dim0, x.data.ndim), wrap_dim(dim1, x.data.ndim)
    if x.data.ndim == 0:  # NumPy has no axis to swap; PyTorch returns the value
        return record(x.data, (x,), lambda g: (g,), "TransposeBackward0")
    return record(np.swapaxes(x.data, dim0, dim1), (x,), lambda g: (np.swapaxes(g, dim0, dim1),),
                  "TransposeBackward0")


def permute_reverse(x: Tensor) -> Tensor:
    """``x`` with all dimensions reversed (``x.T``); the gradient is reversed back."""
    return record(x.data.T, (x,), lambda g: (g.T,), "PermuteBackward0")


def index(x: Tensor, key: Any) -> Tensor:
    """``x[key]``: integers, slices, None, ``...``, and integer or boolean arrays (tensors too).

    ``scores[arange(N), y]`` picks each row's correct-class score. The backward pass scatters ``g``
    back into zeros with ``np.add.at``, which *adds* at repeated indices: an element picked twice
    receives both gradients.
    """
    key = _index_key(key)
    advanced = _is_advanced(key)
    xv = x.data

    def backward(g):
        grad = np.zeros(xv.shape, xv.dtype)
        if advanced:
            np.add.at(grad, key, g)
        else:
            grad[key] = g  # basic indexing never picks an element twice
        return (grad,)

    return record(xv[key], (x,), backward, _index_name(key, advanced))


def _index_key(key: Any) -> Any:
    """The key with tensors replaced by their arrays."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(part.data if isinstance(part, Tensor) else part for part in key)
    return key


def _is_advanced(key: Any) -> bool:
    """Whether NumPy would use advanced (array) indexing, which can pick an element twice."""
    parts = key if isinstance(key, tuple) else (key,)
    return any(isinstance(part, (np.ndarray, list)) for part in parts)


def _index_name(key: Any, advanced: bool) -> str:
    """PyTorch's node name: ``IndexBackward0`` for arrays, else that of the last integer or slice."""
    if advanced:
        return "IndexBackward0"
    name = "SliceBackward0"
    for part in key if isinstance(key, tuple) else (key,):
        if isinstance(part, (int, np.integer)):
            name = "SelectBackward0"
        elif isinstance(part, slice) and part != slice(None):
            name = "SliceBackward0"
    return name


def cast(x: Tensor, dtype: Any) -> Tensor:
    """``x`` converted to ``dtype`` (``x`` itself when it already has it); the gradient is cast back.

    A conversion to a non-floating dtype is cut from the graph, as in PyTorch.
    """
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind != "f":
        return Tensor(x.data.astype(dtype))
    dtype_in = x.dtype
    return record(x.data.astype(dtype), (x,), lambda g: (g.astype(dtype_in),), "ToCopyBackward0")


# -- softmax family: exponentials shifted by the maximum, so large inputs do not overflow -----------


def softmax(x: Tensor, dim: int) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, computed as exp(x - max) so that e**1000 never occurs.

    With s = softmax(x), the gradient is ``s * (g - sum(g * s))``.
    """
    dim = wrap_dim(dim, x.data.ndim)
    out = np.exp(x.data - x.data.max(axis=dim, keepdims=True))
    out /= out.sum(axis=dim, keepdims=True)

    def backward(g):
        grad = g - (g * out).sum(axis=dim, keepdims=True)
        grad *= out
        return (grad,)

    return record(out, (x,), backward, "SoftmaxBackward0")


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: log-probabilities, stable for large inputs.

    The gradient is ``g - softmax(x) * sum(g)``.
    """
    dim = wrap_dim(dim, x.data.ndim)
    out = x.data - x.data.max(axis=dim, keepdims=True)
    out -= np.log(np.exp(out).sum(axis=dim, keepdims=True))

    def backward(g):
        grad = np.exp(out)  # softmax(x), then g - softmax(x) * sum(g) in place
        grad *= -g.sum(axis=dim, keepdims=True)
        grad += g
        return (grad,)

    return record(out, (x,), backward, "LogSoftmaxBackward0")


def logsumexp(x: Tensor, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim`` (every axis when None), as ``m + log(sum(exp(x - m)))``.

    The gradient is ``g * softmax(x)``.
    """
    axes = _axes(dim, x.ndim)
    m = x.data.max(axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf (or +inf) stays -inf (+inf) rather than becoming NaN
    with np.errstate(divide="ignore"):
        out = np.log(np.exp(x.data - m).sum(axis=axes, keepdims=True)) + m

    def backward(g):
        return ((g if keepdim else np.expand_dims(g, axes)) * np.exp(x.data - out),)

    return record(out if keepdim else out.squeeze(axes), (x,), backward, "LogsumexpBackward0")


# -- without gradient: comparisons and arange ----------------------------------------------------------


def _comparison(ufunc: np.ufunc, symbol: str):
    def compare(a: Tensor | float, b: Tensor | float) -> Tensor:
        return Tensor(ufunc(a.data if isinstance(a, Tensor) else a, b.data if isinstance(b, Tensor) else b))

    compare.__name__ = compare.__qualname__ = ufunc.__name__
    compare.__doc__ = f"Elementwise ``a {symbol} b`` as a bool tensor; it carries no gradient."
    return compare


eq = _comparison(np.equal, "==")
ne = _comparison(np.not_equal, "!=")
lt = _comparison(np.less, "<")
le = _comparison(np.less_equal, "<=")
gt = _comparison(np.greater, ">")
ge = _comparison(np.greater_equal, ">=")


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    """``start, start + step, ...`` up to ``end`` (excluded), as ``torch.arange``; no gradient.

    Integers give int64 (use as indices: ``scores[arange(N), y]``), floats float32.
    """
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    if dtype is None:
        dtype = np.int64 if values.dtype.kind in "iu" else np.float32
    return Tensor(values.astype(dtype, copy=False))
