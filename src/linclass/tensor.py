"""The Tensor: a NumPy array that remembers how it was computed, so that gradients can flow back.

Backpropagation in three pieces:

* every differentiable operation (in ``ops.py``) computes its result and, when a gradient is wanted,
  records a :class:`Node`: the operation's name, where its inputs came from, the values its backward
  rule needs, and the rule itself (the local chain rule);
* :meth:`Tensor.backward` orders the nodes topologically, without recursion, and runs those rules
  from the output back to the leaves;
* a leaf that ``requires_grad`` *adds* what reaches it into ``.grad``: a value used twice receives
  gradient from both uses, and calling ``backward`` twice accumulates, as in PyTorch.

A node points at the *node* that made each input (or at the input itself, for a leaf), not at the
input tensor, as PyTorch's graph does. So an in-place operation, which gives a tensor a new node,
leaves the history that earlier operations saw untouched. Each tensor also carries a version number
that every in-place change raises; a node that saved a tensor's values notes its version, and
``backward`` refuses to use values that have changed since.

The API follows PyTorch's names (``tensor``, ``requires_grad``, ``grad_fn``, ``backward``, ``no_grad``)
so that the lecture's slide code runs with ``lc`` in place of ``torch``.
"""

from __future__ import annotations

import functools
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, TypeAlias, TypeVar, cast, overload

import numpy as np
import numpy.typing as npt

from linclass.printing import format_tensor

if TYPE_CHECKING:
    from linclass.ops import MaxResult, MinResult

Operand: TypeAlias = "Tensor | np.ndarray | np.number | np.bool_ | float"
"""What an operation takes besides a tensor: an array or a number (to a type checker, an int or a bool
is a float too)."""

Shape: TypeAlias = "tuple[int, ...]"

Dim: TypeAlias = "int | tuple[int, ...] | None"
"""The dimensions a reduction runs over: one, several, or None for all."""

_Function = TypeVar("_Function", bound=Callable[..., Any])

_grad_enabled = True  # the grad mode: the project's only global mutable state


# -- the grad mode ----------------------------------------------------------------------------------


class _GradMode:
    """A context manager and decorator that sets the grad mode inside it and restores it after."""

    mode = True

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, function: _Function) -> _Function:
        mode = self.mode

        @functools.wraps(function)
        def in_mode(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return function(*args, **kwargs)

        return cast(_Function, in_mode)  # functools.wraps gave it the signature of ``function``


class no_grad(_GradMode):
    """Inside it no operation is recorded for backprop: for evaluation and for parameter updates,
    as ``torch.no_grad()``."""

    mode = False


class enable_grad(_GradMode):
    """Records operations again inside a ``no_grad`` block, as ``torch.enable_grad()``."""

    mode = True


class set_grad_enabled(_GradMode):
    """Turn recording on or off: as a call it takes effect at once (``lc.set_grad_enabled(False)``);
    as a context manager or decorator it restores the previous mode afterwards."""

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        self.mode = bool(mode)
        self._previous = _grad_enabled
        _grad_enabled = self.mode

    def __enter__(self) -> None:
        pass  # the mode was set when the object was made; __exit__ restores the one before

    def __call__(self, function: _Function) -> _Function:
        global _grad_enabled
        _grad_enabled = self._previous  # as a decorator it changes the mode only while the function runs
        return super().__call__(function)


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded (False inside ``no_grad``)."""
    return _grad_enabled


# -- the graph --------------------------------------------------------------------------------------


class Version:
    """How many times a tensor's values were changed in place; shared by a tensor and its views."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


def version_of(t: "Tensor") -> Version:
    """The version counter of ``t``, made on first need (most tensors are never changed in place)."""
    counter = t._version_counter
    if counter is None:
        counter = t._version_counter = Version()
    return counter


Needs: TypeAlias = "tuple[bool, ...]"
"""For each input of an operation, whether it wants a gradient."""

Gradients: TypeAlias = "tuple[np.ndarray | None, ...]"
"""A backward rule's result: one gradient per input, or None for an input that wants none."""

BackwardRule = Callable[..., Gradients]
"""``rule(g, needs, *saved)``: given ``g`` = d(final)/d(output), one gradient per input (an ndarray
in that input's shape, or None where ``needs`` says the input wants none)."""


class Node:
    """One recorded operation, as PyTorch's ``grad_fn``: its name (``MulBackward0``), one edge per
    input, the values saved for its backward rule, and the rule.

    An edge is the input's own node, the input itself if it is a leaf that requires grad, or else
    the constant value the operation used (which takes no gradient).
    """

    __slots__ = ("_name", "edges", "rule", "saved", "versions", "value", "outdated", "retained", "__weakref__")

    def __init__(self, name: str, edges: tuple, rule: BackwardRule, saved: tuple,
                 versions: tuple[tuple[Version, int], ...], value: np.ndarray) -> None:
        self._name = name
        self.edges = edges
        self.rule = rule
        self.saved = saved
        self.versions = versions
        self.value = value  # the output's values, for drawing the graph
        self.outdated = False  # set when the output's values, saved for the rule, change in place
        self.retained: Any = None  # a weak reference to a non-leaf output that retains its grad

    def name(self) -> str:
        """The operation's backward name, as PyTorch's ``grad_fn.name()``."""
        return self._name

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """The nodes that made this node's inputs (None for leaves and constants), as in PyTorch."""
        return tuple((edge if type(edge) is Node else None, 0) for edge in self.edges)

    def backward(self, grad: np.ndarray) -> Gradients:
        """The gradient of each input, given the gradient of the output; refuses changed values."""
        if self.outdated:
            raise RuntimeError("one of the variables needed for gradient computation has been modified by an "
                               f"inplace operation: the output of {self._name}, which it saved")
        for counter, version in self.versions:
            if counter.value != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: an input saved by {self._name} is at version {counter.value}; expected "
                    f"version {version} instead")
        return self.rule(grad, tuple([type(edge) is Node or type(edge) is Tensor for edge in self.edges]), *self.saved)

    def __repr__(self) -> str:
        return f"<{self._name} object at {id(self):#x}>"


def record(data: np.ndarray, inputs: tuple, rule: BackwardRule, name: str, saved: tuple = ()) -> "Tensor":
    """Wrap an operation's result in a Tensor and, when a gradient is wanted, record its node.

    Every operation in ``ops.py`` (and every fused loss) ends with this call. ``inputs`` are the
    operation's operands (tensors, or the numbers and arrays it used as constants); ``saved`` are the
    values ``rule`` needs. An input's (or the result's) own array among ``saved`` is checked at
    backward time against in-place changes, so save such arrays as they are, not views of them: an
    input's by its version counter, the result's by the in-place change marking the node outdated.
    """
    out = Tensor.__new__(Tensor)
    out.data = data if type(data) is np.ndarray else np.asarray(data)  # NumPy gives 0-d results as scalars
    out.grad = out.grad_fn = out._version_counter = out._base = None
    out.requires_grad = False
    if not _grad_enabled:
        return out
    edges, wanted = [], False
    for t in inputs:  # where each input came from (see Node); written out, as it runs for every operation
        if type(t) is not Tensor:
            edges.append(t)
        elif t.grad_fn is not None:
            edges.append(t.grad_fn)
            wanted = True
        elif t.requires_grad:
            edges.append(t)
            wanted = True
        else:
            edges.append(t.data)
    if wanted:
        versions: tuple[tuple[Version, int], ...] = ()
        for value in saved:
            if type(value) is np.ndarray:  # only arrays can change in place
                versions = _saved_versions(saved, inputs)
                break
        out.requires_grad = True
        out.grad_fn = Node(name, tuple(edges), rule, saved, versions, out.data)
    return out


def _saved_versions(saved: tuple, inputs: tuple) -> tuple[tuple[Version, int], ...]:
    """The version counters (and versions now) of the input tensors whose own arrays are in ``saved``."""
    versions = []
    for t in inputs:
        if type(t) is Tensor and any(value is t.data for value in saved):
            counter = version_of(t._base if t._base is not None else t)
            versions.append((counter, counter.value))
    return tuple(versions)


def as_view(out: "Tensor", base: "Tensor") -> "Tensor":
    """Mark ``out`` as a view of ``base`` when NumPy gave it ``base``'s memory: they then share one
    version counter, since changing either changes both."""
    if np.may_share_memory(out.data, base.data):
        root = base._base if base._base is not None else base
        out._base = root
        out._version_counter = version_of(root)
    return out


# -- making tensors ---------------------------------------------------------------------------------


def _default_array(data: Any, dtype: Any) -> np.ndarray:
    """Convert Python data as PyTorch does: floats become float32, ints int64, NumPy keeps its dtype."""
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    array = np.array(data)
    if array.dtype == np.float64 and not _holds_float64_tensors(data):
        return array.astype(np.float32)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind not in "bf":
        raise TypeError(f"cannot make a tensor from data of type {array.dtype}; expected numbers")
    return array


def _holds_float64_tensors(data: Any) -> bool:
    """Whether a (nested) list holds float64 tensors, whose dtype a new tensor keeps (as in PyTorch)."""
    while isinstance(data, (list, tuple)) and data:
        data = data[0]
    return isinstance(data, Tensor) and data.dtype == np.float64


def tensor(data: Any, requires_grad: bool = False, dtype: npt.DTypeLike | None = None) -> "Tensor":
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


def as_tensor(data: Any, dtype: npt.DTypeLike | None = None) -> "Tensor":
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

    __slots__ = ("data", "grad", "grad_fn", "requires_grad", "_version_counter", "_base", "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator
    __hash__ = object.__hash__  # == is elementwise, so hash by identity (as PyTorch)

    def __init__(self, data: np.ndarray, requires_grad: bool = False) -> None:
        self.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        self.grad: Tensor | None = None
        self.grad_fn: Node | None = None
        self._version_counter: Version | None = None
        self._base: Tensor | None = None
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

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor (or a view of its memory) has had."""
        return 0 if self._version_counter is None else self._version_counter.value

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
        """A new leaf sharing this tensor's data (and its version counter), cut from the graph."""
        return as_view(Tensor(self.data), self)

    def clone(self) -> "Tensor":
        """A copy with its own memory; gradients flow back to this tensor (``CloneBackward0``)."""
        return ops.clone(self)

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
        if self.grad_fn is not None:
            self.grad_fn.retained = weakref.ref(self)

    # -- backpropagation ----------------------------------------------------------------------------
    def backward(self, gradient: Tensor | npt.ArrayLike | None = None, retain_graph: bool | None = None) -> None:
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
        if self.grad_fn is None:
            _accumulate(self, seed)
        else:
            _backpropagate(self.grad_fn, seed)

    # -- Python protocol ------------------------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The values as an ndarray, so that NumPy converts tensors: ``np.asarray(t)``, and a list of
        one-element tensors in :func:`tensor`.

        ``ndarray <op> Tensor`` still reaches Tensor's reflected operator: ``__array_priority__``
        makes NumPy defer to it before any conversion.
        """
        return np.array(self.data, dtype=dtype, copy=copy)

    def __repr__(self) -> str:
        return format_tensor(self)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
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
    def __add__(self, other: Operand) -> Tensor: return ops.add(self, other)
    def __radd__(self, other: Operand) -> Tensor: return ops.add(other, self)
    def __sub__(self, other: Operand) -> Tensor: return ops.sub(self, other)
    def __rsub__(self, other: Operand) -> Tensor: return ops.sub(other, self)
    def __mul__(self, other: Operand) -> Tensor: return ops.mul(self, other)
    def __rmul__(self, other: Operand) -> Tensor: return ops.mul(other, self)
    def __truediv__(self, other: Operand) -> Tensor: return ops.div(self, other)
    def __rtruediv__(self, other: Operand) -> Tensor: return ops.div(other, self)
    def __pow__(self, other: Operand) -> Tensor: return ops.pow(self, other)
    def __rpow__(self, other: Operand) -> Tensor: return ops.pow(other, self)
    def __matmul__(self, other: Operand) -> Tensor: return ops.matmul(self, other)
    def __rmatmul__(self, other: Operand) -> Tensor: return ops.matmul(other, self)
    def __neg__(self) -> Tensor: return ops.neg(self)
    def __getitem__(self, index: Any) -> Tensor: return ops.index(self, index)
    # == and != are elementwise, as in NumPy and PyTorch, not the bool that ``object`` promises
    def __eq__(self, other: Operand | None) -> Tensor: return ops.eq(self, other)  # type: ignore[override]
    def __ne__(self, other: Operand | None) -> Tensor: return ops.ne(self, other)  # type: ignore[override]
    # mypy fears that ``array < tensor`` would get an array from NumPy; NumPy defers to the Tensor instead
    # (``__array_priority__``), so that the answer is this class's reflected comparison
    def __lt__(self, other: Operand) -> Tensor: return ops.lt(self, other)  # type: ignore[misc]
    def __le__(self, other: Operand) -> Tensor: return ops.le(self, other)  # type: ignore[misc]
    def __gt__(self, other: Operand) -> Tensor: return ops.gt(self, other)  # type: ignore[misc]
    def __ge__(self, other: Operand) -> Tensor: return ops.ge(self, other)  # type: ignore[misc]

    # -- in place, by PyTorch's rules (inplace.py) ---------------------------------------------------------
    def __iadd__(self, other: Operand) -> Tensor: return inplace.update(self, ops.add, other)
    def __isub__(self, other: Operand) -> Tensor: return inplace.update(self, ops.sub, other)
    def __imul__(self, other: Operand) -> Tensor: return inplace.update(self, ops.mul, other)
    def __itruediv__(self, other: Operand) -> Tensor: return inplace.update(self, ops.div, other)
    def __ipow__(self, other: Operand) -> Tensor: return inplace.update(self, ops.pow, other)
    def __setitem__(self, index: Any, value: Operand) -> None: inplace.assign(self, index, value)
    def add_(self, other: Operand, alpha: float = 1) -> Tensor:
        return inplace.update(self, ops.add, other if alpha == 1 else other * alpha)
    def sub_(self, other: Operand, alpha: float = 1) -> Tensor:
        return inplace.update(self, ops.sub, other if alpha == 1 else other * alpha)
    def mul_(self, other: Operand) -> Tensor: return inplace.update(self, ops.mul, other)
    def div_(self, other: Operand) -> Tensor: return inplace.update(self, ops.div, other)
    def pow_(self, other: Operand) -> Tensor: return inplace.update(self, ops.pow, other)
    def clamp_(self, min: Operand | None = None, max: Operand | None = None) -> Tensor:
        return inplace.update(self, ops.clamp, min, max)
    def zero_(self) -> Tensor: return inplace.update(self, ops.zero)
    def fill_(self, value: Operand) -> Tensor: return inplace.update(self, ops.fill, value)
    def copy_(self, src: Operand) -> Tensor: return inplace.update(self, ops.copy, src)

    # -- methods, the same as the functions of ops.py ------------------------------------------------------
    def sum(self, dim: Dim = None, keepdim: bool = False) -> Tensor: return ops.sum(self, dim, keepdim)
    def mean(self, dim: Dim = None, keepdim: bool = False) -> Tensor: return ops.mean(self, dim, keepdim)
    @overload
    def max(self, dim: None = None, keepdim: bool = False) -> Tensor: ...
    @overload
    def max(self, dim: int, keepdim: bool = False) -> MaxResult: ...
    def max(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MaxResult:
        return ops.max(self, dim, keepdim)
    @overload
    def min(self, dim: None = None, keepdim: bool = False) -> Tensor: ...
    @overload
    def min(self, dim: int, keepdim: bool = False) -> MinResult: ...
    def min(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MinResult:
        return ops.min(self, dim, keepdim)
    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor: return ops.argmax(self, dim, keepdim)
    def exp(self) -> Tensor: return ops.exp(self)
    def log(self) -> Tensor: return ops.log(self)
    def sqrt(self) -> Tensor: return ops.sqrt(self)
    def abs(self) -> Tensor: return ops.abs(self)
    def relu(self) -> Tensor: return ops.relu(self)
    def tanh(self) -> Tensor: return ops.tanh(self)
    def sigmoid(self) -> Tensor: return ops.sigmoid(self)
    def reciprocal(self) -> Tensor: return ops.reciprocal(self)
    def maximum(self, other: Operand) -> Tensor: return ops.maximum(self, other)
    def minimum(self, other: Operand) -> Tensor: return ops.minimum(self, other)
    def clamp(self, min: Operand | None = None, max: Operand | None = None) -> Tensor: return ops.clamp(self, min, max)
    def reshape(self, *shape: int | Sequence[int]) -> Tensor: return ops.reshape(self, *shape)
    def view(self, *shape: int | Sequence[int]) -> Tensor: return ops.reshape(self, *shape)
    def flatten(self) -> Tensor: return self if self.data.ndim == 1 else ops.reshape(self, -1)
    def unsqueeze(self, dim: int) -> Tensor: return ops.unsqueeze(self, dim)
    def transpose(self, dim0: int = 0, dim1: int = 1) -> Tensor: return ops.transpose(self, dim0, dim1)
    def t(self) -> Tensor: return ops.t(self)
    @property
    def T(self) -> Tensor: return ops.permute_reverse(self)
    def softmax(self, dim: int = -1) -> Tensor: return ops.softmax(self, dim)
    def log_softmax(self, dim: int = -1) -> Tensor: return ops.log_softmax(self, dim)
    def logsumexp(self, dim: Dim = None, keepdim: bool = False) -> Tensor: return ops.logsumexp(self, dim, keepdim)

    # last in the class: in an annotation below them, ``float`` would name the method, not the type
    def float(self) -> Tensor: return ops.cast(self, np.float32)
    def double(self) -> Tensor: return ops.cast(self, np.float64)

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


# -- backpropagation ----------------------------------------------------------------------------------


def _backpropagate(root: Node, seed: np.ndarray) -> None:
    """Run every recorded backward rule once, outputs before inputs, summing gradients at forks.

    A node runs once all the operations that used its output have sent it their gradient: each node
    counts its consumers first, and becomes ready when the count reaches 0 (PyTorch's order).
    """
    waiting = _consumer_counts(root)
    pending: dict[Node, np.ndarray] = {root: seed}
    ready = [root]
    while ready:
        node = ready.pop()
        grad = pending.pop(node)
        if node.retained is not None and (kept := node.retained()) is not None:
            _accumulate(kept, grad)
        for edge, edge_grad in zip(node.edges, node.backward(grad), strict=True):
            if type(edge) is Node:
                if edge_grad is not None:
                    earlier = pending.get(edge)
                    pending[edge] = edge_grad if earlier is None else earlier + edge_grad
                waiting[edge] -= 1
                if waiting[edge] == 0 and edge in pending:
                    ready.append(edge)
            elif type(edge) is Tensor and edge_grad is not None:
                _accumulate(edge, edge_grad)


def _accumulate(t: Tensor, grad: np.ndarray) -> None:
    """Add ``grad`` into ``t.grad``; the first time, take a private copy (rules may share arrays)."""
    if t.grad is None:
        t.grad = Tensor(np.array(grad, dtype=t.dtype, copy=True).reshape(t.shape))
    else:
        t.grad.data += grad


def _consumer_counts(root: Node) -> dict[Node, int]:
    """For each node behind ``root``, how many edges lead to it; iterative, so deep graphs work."""
    counts = {root: 0}
    stack = [root]
    while stack:
        for edge in stack.pop().edges:
            if type(edge) is Node:
                if edge in counts:
                    counts[edge] += 1
                else:
                    counts[edge] = 1
                    stack.append(edge)
    return counts


def iter_nodes(root: Tensor) -> list[Node]:
    """The nodes of the graph behind ``root``, each after the nodes that made its inputs (empty for
    a leaf)."""
    if root.grad_fn is None:
        return []
    waiting = _consumer_counts(root.grad_fn)
    order, ready = [], [root.grad_fn]
    while ready:
        node = ready.pop()
        order.append(node)
        for edge in node.edges:
            if type(edge) is Node:
                waiting[edge] -= 1
                if waiting[edge] == 0:
                    ready.append(edge)
    return order[::-1]


from linclass import inplace, ops  # noqa: E402  (ops needs Tensor; Tensor's methods need ops)
