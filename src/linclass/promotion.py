"""Type promotion: which dtype an operation's result has, by PyTorch's rules.

Every operand falls into a *category*, ``bool < integer < floating``, and into one of three kinds:
a tensor with dimensions, a 0-d tensor, or a Python number. The result's dtype comes from the
highest category present, but a 0-d tensor or a number only decides the dtype when its category is
higher than the tensors' with dimensions:

* ``float32 tensor + float64 0-d tensor`` is float32 (same category, so the 0-d tensor is "weak");
* ``int64 tensor + 2.5`` is float32 (PyTorch's default float dtype, for a number of a higher category);
* ``uint8 tensor + int64 0-d tensor`` is uint8; ``bool tensor + 1`` is int64.

NumPy 2 treats a Python number the same way but a 0-d array as strong, and computes integers with a
Python float in float64; so the operands are converted to the result's dtype before NumPy sees them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_FLOAT = np.dtype(np.float32)
"""PyTorch's default floating dtype: for Python floats, and for results integers cannot hold."""

_NUMBERS = (bool, int, float)


def category(dtype: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating dtypes."""
    return {"b": 0, "i": 1, "u": 1, "f": 2}[dtype.kind]


def number_dtype(value: bool | int | float) -> np.dtype:
    """The dtype PyTorch gives a Python number: bool, int64 or the default float."""
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    return np.dtype(np.int64) if isinstance(value, int) else DEFAULT_FLOAT


def result_dtype(*operands: Any) -> np.dtype:
    """The dtype of an elementwise operation's result on ``operands`` (arrays or Python numbers)."""
    dims = _promoted([o.dtype for o in operands if isinstance(o, np.ndarray) and o.ndim])
    zeros = _promoted([o.dtype for o in operands if isinstance(o, np.ndarray) and not o.ndim])
    numbers = _promoted([number_dtype(o) for o in operands if isinstance(o, _NUMBERS)])
    dtype = _combine(dims, _combine(zeros, numbers))
    if dtype is None:
        raise TypeError(f"no result dtype for {operands!r}: expected arrays or Python numbers")
    return dtype


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's common dtype of two: the higher category's dtype, or within one category the wider
    (so int64 with float32 is float32, where NumPy would say float64)."""
    if category(a) != category(b):
        return a if category(a) > category(b) else b
    return np.result_type(a, b)


def _promoted(dtypes: list[np.dtype]) -> np.dtype | None:
    """The common dtype of operands of one kind (None when there are none)."""
    if not dtypes:
        return None
    common = dtypes[0]
    for dtype in dtypes[1:]:
        common = promote_types(common, dtype)
    return common


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """Let ``lower`` (a weaker kind of operand) change ``higher`` only if its category is higher."""
    if higher is None:
        return lower
    if lower is None or category(lower) <= category(higher):
        return higher
    return promote_types(higher, lower)


def promote(va: Any, vb: Any, true_division: bool = False) -> tuple[Any, Any]:
    """Both operands of a binary operation, converted so that NumPy computes in PyTorch's dtype.

    Arrays are converted to the result's dtype; Python numbers stay numbers (NumPy keeps the array's
    dtype for them). True division of integers is computed in the default float dtype.
    """
    dtype = result_dtype(va, vb)
    if true_division and dtype.kind != "f":
        dtype = DEFAULT_FLOAT
    return _as(va, dtype), _as(vb, dtype)


def _as(value: Any, dtype: np.dtype) -> Any:
    if isinstance(value, np.ndarray):
        return value if value.dtype == dtype else value.astype(dtype)
    if dtype.kind == "f" and isinstance(value, int):
        return float(value)  # an integer too large for int64 is still a valid float operand
    return value


def floating(values: np.ndarray) -> np.ndarray:
    """``values`` as the default float dtype if they are integers or bools (for exp, log, mean, ...)."""
    return values if values.dtype.kind == "f" else values.astype(DEFAULT_FLOAT)


def can_cast(source: np.dtype, target: np.dtype) -> bool:
    """Whether an in-place result of dtype ``source`` may be stored into ``target`` (PyTorch: not
    into a lower category, e.g. never a float into an integer tensor)."""
    return category(source) <= category(target)


_TORCH_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char", "int16": "Short",
                "int32": "Int", "int64": "Long", "uint8": "Byte", "bool": "Bool"}


def torch_name(dtype: np.dtype) -> str:
    """The dtype's name in PyTorch's messages (``Float``, ``Long``, ...)."""
    return _TORCH_NAMES.get(dtype.name, dtype.name)
