"""Indexing keys with PyTorch's meaning: ``x[key]`` and ``x[key] = v`` for every key NumPy accepts.

A key mixes integers, slices (with positive steps), ``None``, ``...``, booleans, and integer or
boolean arrays (lists, tuples and tensors too). NumPy and PyTorch read almost all of them the same
way; where they differ, this module follows PyTorch:

* an integer *selects* before any array indexes, so ``x[0, :, [0, 1]]`` on a 2×3×4 tensor is 3×2 (NumPy
  would broadcast the 0 with the list and give 2×3);
* a list that holds slices, ``None``, ``...`` or sequences is read as a tuple of indices;
* a negative step is refused, and an index out of range names its dimension.

Arrays may pick an element more than once, so the backward pass *adds* into the picked places
(``np.add.at``); a key of integers, slices and ``None`` only (a *basic* key) picks each element at
most once and gives a view. The node's name is PyTorch's: ``IndexBackward0`` for array keys, else
that of the last step that changed the tensor (``SelectBackward0``, ``SliceBackward0``,
``UnsqueezeBackward0``), or ``AliasBackward0`` when none did.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from linclass.tensor import Tensor

_LEGACY_TUPLE_LENGTH = 32  # PyTorch reads a shorter list of indices as a tuple of them


@dataclass(frozen=True)
class Key:
    """A parsed key: ``select`` (the integer selections, applied first, or None) then ``rest``."""

    select: tuple | None
    rest: tuple
    advanced: bool
    name: str

    def get(self, values: np.ndarray) -> np.ndarray:
        """``values[key]``: a view for a basic key, a copy for an array key."""
        try:
            return (values if self.select is None else values[self.select])[self.rest]
        except IndexError as error:  # an array index out of range, in PyTorch's words
            raise IndexError(str(error).replace("for axis", "for dimension")) from None

    def put(self, values: np.ndarray, new: Any) -> None:
        """``values[key] = new``, in place."""
        (values if self.select is None else values[self.select])[self.rest] = new

    def scatter(self, shape: tuple[int, ...], dtype: np.dtype, grad: np.ndarray) -> np.ndarray:
        """The gradient of ``x[key]`` spread back into zeros of ``x``'s shape, added where an element
        was picked more than once."""
        out = np.zeros(shape, dtype)
        target = out if self.select is None else out[self.select]
        if self.advanced:
            np.add.at(target, self.rest, grad)
        else:
            target[self.rest] = grad
        return out


def parse(key: Any, shape: tuple[int, ...]) -> Key:
    """Read ``key`` for a tensor of ``shape`` as PyTorch does (see the module's docstring)."""
    lone = not _is_tuple_of_indices(key)
    parts = [_part(p) for p in ((key,) if lone else tuple(key))]
    parts = _expand_ellipsis(parts, len(shape))
    _check_bounds(parts, shape)
    parts = _masks_as_positions(parts)
    advanced = any(isinstance(p, (np.ndarray, bool)) for p in parts)
    integers = any(type(p) is int for p in parts)
    if advanced and integers:
        select = tuple(p if type(p) is int else slice(None) for p in parts if p is not None and type(p) is not bool)
        rest = tuple(p for p in parts if type(p) is not int)
        return Key(select, rest, True, "IndexBackward0")
    name = "IndexBackward0" if advanced else _basic_name(parts, shape, lone_slice=isinstance(key, slice))
    return Key(None, tuple(parts), advanced, name)


def _is_tuple_of_indices(key: Any) -> bool:
    if isinstance(key, tuple):
        return True
    if not isinstance(key, list) or len(key) >= _LEGACY_TUPLE_LENGTH:
        return False
    return any(p is None or p is Ellipsis or isinstance(p, (slice, list, tuple, np.ndarray, Tensor)) for p in key)


def _part(p: Any) -> Any:
    """One entry of a key as an int, bool, slice, None, Ellipsis or an integer/bool array."""
    if isinstance(p, Tensor):
        p = p.data
    if p is None or p is Ellipsis:
        return p
    if isinstance(p, (bool, np.bool_)):
        return bool(p)
    if isinstance(p, (int, np.integer)):
        return int(p)
    if isinstance(p, slice):
        return _slice(p)
    if isinstance(p, (list, tuple, np.ndarray)):
        array = np.asarray(p)
        if array.size == 0 and array.dtype.kind not in "biu":
            array = array.astype(np.int64)
        if array.dtype.kind not in "biu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if array.ndim == 0:
            return bool(array) if array.dtype.kind == "b" else int(array)
        return array
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                     f"indices (got {type(p).__name__})")


def _slice(p: slice) -> slice:
    start, stop, step = (None if v is None else operator.index(v) for v in (p.start, p.stop, p.step))
    if step is not None and step <= 0:
        raise ValueError("step must be greater than zero")
    return slice(start, stop, step)


def _consumed(p: Any) -> int:
    """How many of the tensor's dimensions an entry indexes."""
    if p is None or type(p) is bool:
        return 0
    if isinstance(p, np.ndarray) and p.dtype.kind == "b":
        return p.ndim
    return 1


def _expand_ellipsis(parts: list, ndim: int) -> list:
    """The key with ``...`` replaced by full slices; too many indices is PyTorch's IndexError."""
    if sum(p is Ellipsis for p in parts) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_consumed(p) for p in parts if p is not Ellipsis)
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    if not any(p is Ellipsis for p in parts):
        return parts
    at = next(i for i, p in enumerate(parts) if p is Ellipsis)
    return parts[:at] + [slice(None)] * (ndim - used) + parts[at + 1:]


def _dims(parts: list) -> list[tuple[Any, int]]:
    """Each entry with the first dimension it indexes."""
    pairs, dim = [], 0
    for p in parts:
        pairs.append((p, dim))
        dim += _consumed(p)
    return pairs


def _check_bounds(parts: list, shape: tuple[int, ...]) -> None:
    """Integers out of range, named as PyTorch names them (NumPy checks arrays, see Key.get)."""
    for p, dim in _dims(parts):
        if type(p) is int and not -shape[dim] <= p < shape[dim]:
            raise IndexError(f"index {p} is out of bounds for dimension {dim} with size {shape[dim]}")


def _masks_as_positions(parts: list) -> list:
    """Boolean arrays as the integer arrays of their True positions (the same selection, and one
    that ``np.add.at`` accepts)."""
    out: list[Any] = []
    for p in parts:
        if isinstance(p, np.ndarray) and p.dtype.kind == "b":
            out.extend(p.nonzero())
        else:
            out.append(p)
    return out


def _basic_name(parts: list, shape: tuple[int, ...], lone_slice: bool) -> str:
    """PyTorch's node name for a basic key: the last step, in order, that changed the tensor."""
    name = "AliasBackward0"
    for p, dim in _dims(parts):
        if p is None:
            name = "UnsqueezeBackward0"
        elif type(p) is int:
            name = "SelectBackward0"
        elif lone_slice or p.indices(shape[dim]) != (0, shape[dim], 1):
            name = "SliceBackward0"  # a full slice changes nothing, unless it is the whole key
    return name
