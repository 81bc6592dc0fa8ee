"""The Tensor: a NumPy array that remembers how it was computed, so that gradients can flow back.

Backpropagation in three pieces:

* every differentiable operation (in ``ops.py``) computes its result and, when a gradient is wanted,
  records a :class:`Node` holding its inputs and a small ``backward`` rule (the local chain rule);
* :meth:`Tensor.backward` orders the graph topologically, without recursion, and runs those rules from
  the output back to the leaves;
* a leaf that ``requires_grad`` *adds* what reaches it into ``.grad`` — a value used twice receives
  gradient from both uses, and calling ``backward`` twice accumulates, as in PyTorch.

The API follows PyTorch's names (``tensor``, ``requires_grad``, ``grad_fn``, ``backward``, ``no_grad``)
so that the lecture's slide code runs with ``lc`` in place of ``torch``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Iterable, Sequence

import numpy as np

_grad_enabled = True  # the grad mode: the project's only global mutable state


class no_grad:
    """Context manager (and decorator) inside which no operation is recorded for backprop.

    Use it for evaluation and for parameter updates, as ``torch.no_grad()``.
    """

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, function: Callable) -> Callable:
        @functools.wraps(function)
        def without_grad(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return function(*args, **kwargs)

        return without_grad


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded (False inside ``no_grad``)."""
    return _grad_enabled


BackwardRule = Callable[[np.ndarray], Sequence["np.ndarray | None"]]


class Node:
    """One recorded operation: its name (PyTorch's, e.g. ``MulBackward0``), inputs and backward rule.

    ``backward(grad_output)`` returns one gradient (an ndarray shaped like that input, or None) per
    input tensor, in order.
    """

    __slots__ = ("_name", "inputs", "backward")

    def __init__(self, name: str, inputs: tuple["Tensor", ...], backward: BackwardRule) -> None:
        self._name = name
        self.inputs = inputs
        self.backward = backward

    def name(self) -> str:
        """The operation's backward name, as PyTorch's ``grad_fn.name()``."""
        return self._name

    @property
    def next_functions(self) -> tuple[tuple["Node | None", int], ...]:
        """The nodes that made this node's inputs (None for leaves), as in PyTorch."""
        return tuple((t.grad_fn, 0) for t in self.inputs)

    def __repr__(self) -> str:
        return f"<{self._name} object at {id(self):#x}>"


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


def sum_axes(a: np.ndarray, axes: tuple[int, ...], keepdims: bool = False) -> np.ndarray:
    """``a.sum(axis=axes, keepdims=keepdims)`` for non-negative ``axes``, faster on short rows.

    NumPy's reductions pay per row, so summing a batch of short rows (N examples × K classes) is slow.
    When the axes are the last ones, or the first ones, of a contiguous float array, the sum is the same
    as a matrix-vector product with a vector of ones, which NumPy runs several times faster.
    """
    ndim, count = a.ndim, len(axes)
    if 0 < count < ndim and a.dtype.kind == "f" and a.flags.c_contiguous:
        ones = (1,) * count if keepdims else ()
        if axes == tuple(range(ndim - count, ndim)):  # the last axes: rows · ones
            kept = a.shape[:-count]
            rows = a.reshape(math.prod(kept), math.prod(a.shape[-count:])) if ndim > 2 else a
            return np.dot(rows, _ones(rows.shape[1], a.dtype)).reshape(kept + ones)
        if axes == tuple(range(count)):  # the first axes: ones · columns
            kept = a.shape[count:]
            columns = a.reshape(math.prod(a.shape[:count]), math.prod(kept)) if ndim > 2 else a
            return np.dot(_ones(columns.shape[0], a.dtype), columns).reshape(ones + kept)
    return a.sum(axis=axes, keepdims=keepdims)


def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """``np.ones(n, dtype)``, without its Python-level overhead."""
    ones = np.empty(n, dtype)
    ones.fill(1)
    return ones


def wrap_dim(dim: int, ndim: int) -> int:
    """``dim`` as a non-negative axis of an ``ndim``-dimensional tensor (negative dims count from the end).

    Without this check NumPy would reject some bad dims with its own AxisError and a modulo would
    silently turn others into a different axis. The error is PyTorch's; as there, a 0-d tensor accepts
    dims -1 and 0.
    """
    size = ndim or 1
    if not -size <= dim < size:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-size}, {size - 1}], but got {dim})")
    return dim % size


def record(data: np.ndarray, inputs: tuple["Tensor", ...], backward: BackwardRule, name: str) -> "Tensor":
    """Wrap an operation's result in a Tensor and, when a gradient is wanted, record its node.

    Every operation in ``ops.py`` (and every fused loss) ends with this call.
    """
    out = Tensor.__new__(Tensor)
    out.data = data if type(data) is np.ndarray else np.asarray(data)  # NumPy gives 0-d results as scalars
    out.grad = None
    out._retains_grad = False
    out.requires_grad = False
    out.grad_fn = None
    if _grad_enabled:
        for t in inputs:
            if t.requires_grad:
                out.requires_grad = True
                out.grad_fn = Node(name, inputs, backward)
                break
    return out


def _default_array(data: Any, dtype: Any) -> np.ndarray:
    """Convert Python data as PyTorch does: floats become float32, ints int64, NumPy keeps its dtype."""
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    array = np.array(data)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind not in "bf":
        raise TypeError(f"cannot make a tensor from data of type {array.dtype}; expected numbers")
    return array


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> "Tensor":
    """Make a new leaf Tensor holding a copy of ``data``.

    Parameters
    ----------
    data : number, nested list, ndarray or Tensor
        Python floats become float32 and ints int64; NumPy arrays keep their dtype (as PyTorch does).
    requires_grad : bool
        Whether ``backward`` should accumulate a gradient into this tensor's ``.grad``.
    dtype : NumPy dtype, optional
        Force a dtype, e.g. ``np.float64`` for gradient checking.
    """
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(_default_array(data, dtype), requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None) -> "Tensor":
    """Return ``data`` itself if it is a Tensor, else a Tensor sharing its memory where possible."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == dtype):
        return Tensor(data)
    return Tensor(_default_array(data, dtype))


class Tensor:
    """An n-dimensional array with automatic differentiation.

    Attributes
    ----------
    data : ndarray
        The values.
    grad : Tensor or None
        The accumulated gradient of the last ``backward`` with respect to this tensor (leaves only,
        unless :meth:`retain_grad` was called).
    grad_fn : Node or None
        The operation that produced this tensor; None for a leaf.
    requires_grad : bool
        Whether gradients are tracked through this tensor.
    """

    __slots__ = ("data", "grad", "grad_fn", "requires_grad", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator
    __hash__ = object.__hash__  # == is elementwise, so hash by identity (as PyTorch)

    def __init__(self, data: np.ndarray, requires_grad: bool = False) -> None:
        self.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        self.grad: Tensor | None = None
        self.grad_fn: Node | None = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- attributes -------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.data.shape if dim is None else self.data.shape[wrap_dim(dim, self.data.ndim)]

    def numel(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an operation (PyTorch's meaning)."""
        return self.grad_fn is None

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"a Tensor with {self.data.size} elements cannot be converted to a Python number")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (leaves of floating dtype only) and return self."""
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(f"only tensors of floating point dtype can require gradients, not {self.data.dtype}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad can only be changed on leaf tensors; use detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor too during backward."""
        self._retains_grad = True

    def zero_(self) -> "Tensor":
        """Fill with zeros in place (used as ``x.grad.zero_()``)."""
        self.data[...] = 0
        return self

    def float(self) -> "Tensor":
        return ops.cast(self, np.float32)

    def double(self) -> "Tensor":
        return ops.cast(self, np.float64)

    # -- backpropagation ----------------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool | None = None) -> None:
        """Backpropagate from this tensor: add d(self)/d(leaf) into ``.grad`` of every leaf that needs it.

        Parameters
        ----------
        gradient : array-like, optional
            d(loss)/d(self); may be omitted only when ``self`` has one element (then it is 1).
        retain_graph : bool, optional
            Accepted for PyTorch compatibility; the graph is always kept, so calling ``backward``
            again accumulates once more.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: none of its inputs has requires_grad=True"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a one-element output, got shape {self.shape}; "
                    "pass gradient= of the same shape"
                )
            seed = np.ones_like(self.data)
        else:
            seed = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=self.dtype)
            if seed.shape != self.shape:
                raise RuntimeError(f"gradient has shape {seed.shape}, but the tensor has shape {self.shape}")
        _backpropagate(self, seed)

    # -- Python protocol ------------------------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The values as an ndarray, so that NumPy converts tensors: ``np.asarray(t)``, and a list of
        one-element tensors in :func:`tensor`.

        ``ndarray <op> Tensor`` still reaches Tensor's reflected operator: ``__array_priority__``
        makes NumPy defer to it before any conversion.
        """
        return np.array(self.data, dtype=dtype, copy=copy)

    def __repr__(self) -> str:
        return _format(self)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.data.size} elements is ambiguous")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu":
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self.data.ndim == 0:
            return format(self.item(), spec)
        return repr(self)

    # -- operators (the maths lives in ops.py) ----------------------------------------------------------
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __getitem__(self, index): return ops.index(self, index)
    def __eq__(self, other): return ops.eq(self, other)
    def __ne__(self, other): return ops.ne(self, other)
    def __lt__(self, other): return ops.lt(self, other)
    def __le__(self, other): return ops.le(self, other)
    def __gt__(self, other): return ops.gt(self, other)
    def __ge__(self, other): return ops.ge(self, other)

    # -- methods, the same as the functions of ops.py ------------------------------------------------------
    def sum(self, dim=None, keepdim=False): return ops.sum(self, dim, keepdim)
    def mean(self, dim=None, keepdim=False): return ops.mean(self, dim, keepdim)
    def max(self, dim=None, keepdim=False): return ops.max(self, dim, keepdim)
    def min(self, dim=None, keepdim=False): return ops.min(self, dim, keepdim)
    def argmax(self, dim=None, keepdim=False): return ops.argmax(self, dim, keepdim)
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def abs(self): return ops.abs(self)
    def relu(self): return ops.relu(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def maximum(self, other): return ops.maximum(self, other)
    def minimum(self, other): return ops.minimum(self, other)
    def clamp(self, min=None, max=None): return ops.clamp(self, min, max)
    def reshape(self, *shape): return ops.reshape(self, *shape)
    def view(self, *shape): return ops.reshape(self, *shape)
    def flatten(self): return ops.reshape(self, -1)
    def transpose(self, dim0=0, dim1=1): return ops.transpose(self, dim0, dim1)
    def t(self): return ops.transpose(self, 0, 1)
    @property
    def T(self): return ops.permute_reverse(self)
    def softmax(self, dim=-1): return ops.softmax(self, dim)
    def log_softmax(self, dim=-1): return ops.log_softmax(self, dim)
    def logsumexp(self, dim=None, keepdim=False): return ops.logsumexp(self, dim, keepdim)


def _backpropagate(root: Tensor, seed: np.ndarray) -> None:
    """Run every recorded backward rule once, outputs before inputs, summing gradients at forks."""
    pending: dict[Tensor, np.ndarray] = {root: seed}  # tensors hash by identity
    for t in reversed(_topological_order(root)):
        grad = pending.pop(t, None)
        if grad is None:
            continue
        node = t.grad_fn
        if node is None or t._retains_grad:
            _accumulate(t, grad)
        if node is None:
            continue
        for parent, parent_grad in zip(node.inputs, node.backward(grad)):
            if parent_grad is None or not parent.requires_grad:
                continue
            if parent_grad.dtype != parent.data.dtype:  # e.g. a float32 input of a float64 result
                parent_grad = parent_grad.astype(parent.data.dtype)
            earlier = pending.get(parent)
            pending[parent] = parent_grad if earlier is None else earlier + parent_grad


def _accumulate(t: Tensor, grad: np.ndarray) -> None:
    """Add ``grad`` into ``t.grad``; the first time, take a private copy (rules may share arrays)."""
    if t.grad is None:
        t.grad = Tensor(np.array(grad, dtype=t.dtype, copy=True).reshape(t.shape))
    else:
        t.grad.data += grad


def _topological_order(root: Tensor, constants: bool = False) -> list[Tensor]:
    """The tensors behind ``root`` that need a gradient (with ``constants``, all of them), each after all
    of its inputs; iterative, so deep graphs work."""
    order: list[Tensor] = []
    visited: set[Tensor] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, inputs_done = stack.pop()
        if inputs_done:
            order.append(t)
        elif t not in visited:
            visited.add(t)
            stack.append((t, True))
            if t.grad_fn is not None:
                for p in t.grad_fn.inputs:
                    if (constants or p.requires_grad) and p not in visited:
                        stack.append((p, False))
    return order


def _format(t: Tensor) -> str:
    """PyTorch-like repr: ``tensor(-20., grad_fn=<MulBackward0>)``."""
    data = t.data
    if data.dtype.kind == "f" and data.size and np.all(np.isfinite(data)) and np.all(data == np.round(data)):
        formatter = {"float": lambda v: f"{v:.0f}."}
    elif data.dtype.kind == "f":
        formatter = {"float": lambda v: f"{v:.4f}"}
    else:
        formatter = None
    body = np.array2string(data, separator=", ", prefix="tensor(", formatter=formatter, threshold=1000)
    extras = []
    if data.dtype not in (np.float32, np.int64, np.bool_):
        extras.append(f"dtype={data.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + ", ".join([body, *extras]) + ")"


def iter_graph(root: Tensor, constants: bool = False) -> Iterable[Tensor]:
    """Every tensor in the graph behind ``root`` that requires a gradient, inputs first; with
    ``constants``, also the inputs that do not (numbers and arrays the operations used)."""
    return _topological_order(root, constants)


from linclass import ops  # noqa: E402  (ops needs Tensor; Tensor's methods need ops)
