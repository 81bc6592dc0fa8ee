"""Gradient checking: compare the gradient backpropagation computes with a numerical one.

The derivative is the limit of a difference quotient, so a small step ``h`` gives an estimate:

* forward difference  ``(f(x + h) - f(x)) / h``          — error of order h;
* centered difference ``(f(x + h) - f(x - h)) / (2h)``   — error of order h², use this one.

Compare the two gradients by their *relative* error ``|a - n| / max(|a|, |n|)`` and read it on the
CS231n scale:

====================  =====================================================================
relative error        verdict
====================  =====================================================================
> 1e-2                the gradient is probably wrong
1e-2 … 1e-4           suspicious
1e-4 … 1e-7           acceptable for functions with kinks (hinge loss, ReLU, max)
< 1e-7                good
====================  =====================================================================

Check in float64: in float32 the round-off in ``f(x + h) - f(x - h)`` swamps the difference itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from linclass import ops
from linclass.tensor import Tensor, no_grad, tensor

WRONG = 1e-2
ACCEPTABLE_AT_KINKS = 1e-4
GOOD = 1e-7
METHODS = ("centered", "forward")
DEFAULT_THRESHOLDS = {"centered": GOOD, "forward": ACCEPTABLE_AT_KINKS}  # forward's O(h) error
CENTERED_ATOL = 1e-9
"""The smallest absolute difference a check is asked to resolve (see :func:`default_atol`)."""
SMALL_SHARE = 1e-3
"""An element whose gradient is below this share of its input's largest is compared absolutely."""


def judge(error: float) -> str:
    """The CS231n verdict on a relative error: "good", "acceptable", "suspicious" or "wrong"."""
    if not error <= WRONG:  # NaN is wrong too
        return "wrong"
    if error > ACCEPTABLE_AT_KINKS:
        return "suspicious"
    return "acceptable" if error > GOOD else "good"


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5,
                       method: str = "centered") -> np.ndarray:
    """The gradient of ``f`` at ``x`` by finite differences, one element at a time.

    Parameters
    ----------
    f : callable
        Takes the array ``x`` (changed in place for each probe, and restored) and returns a number.
    x : ndarray
        Where to differentiate; use float64.
    h : float
        The step.
    method : {"centered", "forward"}
        ``(f(x+h) - f(x-h)) / 2h`` (error O(h²)) or the lecture's ``(f(x+h) - f(x)) / h`` (O(h)).

    Returns
    -------
    ndarray
        Shaped like ``x``, float64.
    """
    _check_method(method)
    f_x = float(f(x)) if method == "forward" else None
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        grad[i] = _partial_derivative(f, x, i, h, f_x)
    return grad


def _partial_derivative(f: Callable[[np.ndarray], float], x: np.ndarray, i: tuple[int, ...], h: float,
                        f_x: float | None) -> float:
    """∂f/∂x[i] by one finite difference: forward from ``f_x = f(x)`` when given, else centered.

    ``x[i]`` is restored afterwards, whatever happens.
    """
    old = x[i]
    try:
        x[i] = old + h
        f_plus = float(f(x))
        if f_x is not None:
            return (f_plus - f_x) / h
        x[i] = old - h
        return (f_plus - float(f(x))) / (2 * h)
    finally:
        x[i] = old


def relative_error(a: Any, b: Any) -> np.ndarray:
    """Elementwise ``|a - b| / max(|a|, |b|)``; 0 where both are 0 (they agree exactly)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale == 0, 0.0, np.abs(a - b) / scale)


@dataclass
class InputCheck:
    """How one input's analytic gradient compares with the numerical one.

    Attributes
    ----------
    name : str
        The input's name (its position, unless named).
    max_error : float
        The largest relative error over the elements judged by it: all but those whose gradient is
        below :data:`SMALL_SHARE` of the input's largest (there the relative error measures only the
        difference quotient's own error, so they are held to ``threshold`` times that largest).
    worst_index : tuple of int
        The first element with the largest error (the first failing one when some fail).
    analytic, numerical : float
        The two gradients at ``worst_index``.
    checked : int
        How many elements were compared.
    passed : bool
        Whether every element passed: relative error at most the threshold (for a small gradient,
        absolute error at most the threshold times the largest), or the two within ``atol``.
    """

    name: str
    max_error: float
    worst_index: tuple[int, ...]
    analytic: float
    numerical: float
    checked: int
    passed: bool


@dataclass
class GradcheckReport:
    """The result of :func:`check` or :func:`sparse_check`: one :class:`InputCheck` per input."""

    inputs: list[InputCheck]
    threshold: float
    method: str
    h: float
    atol: float

    @property
    def passed(self) -> bool:
        """Whether every input passed."""
        return all(item.passed for item in self.inputs)

    @property
    def max_error(self) -> float:
        """The largest relative error over all inputs."""
        return max((item.max_error for item in self.inputs), default=0.0)

    def __str__(self) -> str:
        lines = [f"gradient check ({self.method} differences, h={self.h:g}, threshold {self.threshold:.0e}, "
                 f"atol {self.atol:.0e}): " + ("passed" if self.passed else "FAILED")]
        for item in self.inputs:
            lines.append(
                f"  {item.name}: max relative error {item.max_error:.2e} ({judge(item.max_error)}) "
                f"over {item.checked} elements; worst at {item.worst_index}: "
                f"analytic {item.analytic:.10g}, numerical {item.numerical:.10g}"
            )
        return "\n".join(lines)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not a finite difference method; use one of {METHODS}")


def _compare(name: str, analytic: np.ndarray, numerical: np.ndarray, threshold: float, atol: float,
             indices: list[tuple[int, ...]] | None = None) -> InputCheck:
    """Summarize how two gradients differ (flat arrays when ``indices`` names their elements)."""
    if analytic.size == 0:
        return InputCheck(name, 0.0, (), 0.0, 0.0, 0, True)
    errors = relative_error(analytic, numerical)
    magnitude = np.maximum(np.abs(analytic), np.abs(numerical))
    largest = float(magnitude.max())
    small = magnitude < SMALL_SHARE * largest
    difference = np.abs(analytic - numerical)
    passing = np.where(small, difference <= threshold * largest, errors <= threshold) | (difference <= atol)
    failing = ~passing
    judged = errors if small.all() else np.where(small, 0.0, errors)
    worst = int(np.argmax(np.where(failing, np.inf, judged) if failing.any() else judged))
    if indices is None:
        worst_index = tuple(int(i) for i in np.unravel_index(worst, analytic.shape))
    else:
        worst_index = indices[worst]
    max_error = float(np.nan if np.isnan(errors).any() else judged.max())
    return InputCheck(name, max_error, worst_index, float(analytic.flat[worst]),
                      float(numerical.flat[worst]), int(errors.size), not failing.any())


def check(fn: Callable[..., Tensor], *inputs: Any, h: float = 1e-6, method: str = "centered",
          threshold: float | None = None, atol: float | None = None, seed: int = 0,
          names: list[str] | None = None) -> GradcheckReport:
    """Compare backpropagation's gradients of ``fn`` with numerical ones, in float64.

    Every floating-point input (Tensor or array) is copied to a float64 leaf and checked; other inputs
    (integer labels, say) are passed through unchanged. A non-scalar output is reduced to the scalar
    ``sum(w * fn(...))`` with fixed random weights ``w``, so that every output element counts.

    Parameters
    ----------
    fn : callable
        Takes the inputs as Tensors and returns a Tensor.
    h : float
        The finite-difference step.
    method : {"centered", "forward"}
        The finite difference (see :func:`numerical_gradient`).
    threshold : float, optional
        The largest relative error that passes; by default 1e-7 for centered differences (CS231n's
        "good") and 1e-4 for forward differences, whose error is of order h.
    atol : float, optional
        Elements whose gradients differ by at most this much pass whatever their relative error; by
        default :func:`default_atol`, the round-off of the difference quotient at this ``h`` and ``f``.
    seed : int
        Seeds the weights ``w``.
    names : list of str, optional
        Names for the inputs in the report.

    Returns
    -------
    GradcheckReport
        With the largest relative error per input, its element, and whether all passed.
    """
    _check_method(method)
    threshold = DEFAULT_THRESHOLDS[method] if threshold is None else threshold
    args = [_as_float64_leaf(x) for x in inputs]
    checked = [i for i, x in enumerate(args) if isinstance(x, Tensor) and x.requires_grad]
    out = fn(*args)
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    if atol is None:
        atol = default_atol(method, h, float((out.data * weights).sum()))
    if out.requires_grad:
        out.backward(weights)

    def value(arguments: list[Any]) -> float:
        with no_grad():
            return float((fn(*arguments).data * weights).sum())

    reports = []
    for i in checked:
        probe = args[i].data.copy()
        probe_args = args[:i] + [Tensor(probe)] + args[i + 1:]

        def probed_value(_: np.ndarray, arguments: list[Any] = probe_args) -> float:
            """``value`` at the arguments that hold ``probe``, which the difference changes in place."""
            return value(arguments)

        numerical = numerical_gradient(probed_value, probe, h, method)
        analytic = np.zeros_like(numerical) if args[i].grad is None else args[i].grad.data
        name = names[i] if names else f"input {i}"
        reports.append(_compare(name, analytic, numerical, threshold, atol))
    return GradcheckReport(reports, threshold, method, h, atol)


def default_atol(method: str, h: float, value: float) -> float:
    """What a difference quotient of ``f`` cannot resolve: its round-off, about ``ε |f| / h`` (taken
    four times over, and at least :data:`CENTERED_ATOL`); for forward differences also their
    truncation error, about ``h |f''| / 2`` (taken as ``10 h``)."""
    roundoff = max(CENTERED_ATOL, 4 * np.finfo(np.float64).eps * abs(value) / h)
    return roundoff + (10 * h if method == "forward" else 0.0)


def _as_float64_leaf(x: Any) -> Any:
    """A float64 copy that requires grad for floating-point data; anything else unchanged."""
    data = x.data if isinstance(x, Tensor) else x
    if isinstance(data, (float, np.ndarray, np.floating)) and np.asarray(data).dtype.kind == "f":
        return tensor(data, requires_grad=True, dtype=np.float64)
    return x


def sparse_check(f: Callable[[np.ndarray], float], x: np.ndarray, grad: Any, num_checks: int = 10,
                 h: float = 1e-5, seed: int = 0, threshold: float = GOOD,
                 atol: float = CENTERED_ATOL) -> GradcheckReport:
    """Check ``grad`` (the analytic gradient of ``f`` at ``x``) at ``num_checks`` random elements.

    For arrays too large to difference element by element (CS231n's ``grad_check_sparse``): each
    probe costs two evaluations of ``f``. ``x`` is changed in place during a probe and restored.
    """
    rng = np.random.default_rng(seed)
    grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=np.float64)
    indices = [tuple(int(rng.integers(n)) for n in x.shape) for _ in range(num_checks)]
    numerical = np.array([_partial_derivative(f, x, i, h, None) for i in indices])
    analytic = np.array([grad[i] for i in indices])
    report = _compare("x", analytic, numerical, threshold, atol, indices)
    return GradcheckReport([report], threshold, "centered", h, atol)


# -- the engine's own operations, checked on seeded random inputs (``linclass gradcheck``) -------------


def engine_cases(seed: int = 0) -> dict[str, tuple[Callable[..., Tensor], list[np.ndarray]]]:
    """Every differentiable engine operation with float64 random inputs away from its kinks.

    Returns ``{name: (function of tensors, input arrays)}``; broadcasting, ``dim`` reductions and
    repeated integer-array indices are among them.
    """
    rng = np.random.default_rng(seed)

    def normal(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape)

    def positive(*shape: int) -> np.ndarray:
        return rng.uniform(0.5, 2.0, shape)

    def away_from_zero(*shape: int) -> np.ndarray:  # kinks and poles sit at 0
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)

    rows, labels = np.arange(5), rng.integers(0, 4, 5)
    repeated = np.array([0, 2, 0, 0])
    return {
        "add": (ops.add, [normal(3, 4), normal(4)]),
        "sub": (ops.sub, [normal(3, 1), normal(4)]),
        "mul": (ops.mul, [normal(3, 4), normal(3, 1)]),
        "div": (ops.div, [normal(3, 4), away_from_zero(4)]),
        "pow (number exponent)": (lambda a: a ** 3, [away_from_zero(3, 4)]),
        "pow (tensor exponent)": (ops.pow, [positive(3, 4), normal(3, 4)]),
        "neg": (ops.neg, [normal(3, 4)]),
        "matmul": (ops.matmul, [normal(3, 4), normal(4, 5)]),
        "matmul (batch @ vector)": (ops.matmul, [normal(2, 3, 4), normal(4)]),
        "sum": (ops.sum, [normal(3, 4)]),
        "sum (dim, keepdim)": (lambda a: a.sum(dim=1, keepdim=True), [normal(3, 4)]),
        "mean (dim)": (lambda a: a.mean(dim=0), [normal(3, 4)]),
        "max": (ops.max, [normal(3, 4)]),
        "max (dim)": (lambda a: a.max(dim=1).values, [normal(3, 4)]),
        "min (dim, keepdim)": (lambda a: a.min(dim=0, keepdim=True).values, [normal(3, 4)]),
        "exp": (ops.exp, [normal(3, 4)]),
        "log": (ops.log, [positive(3, 4)]),
        "sqrt": (ops.sqrt, [positive(3, 4)]),
        "abs": (ops.abs, [away_from_zero(3, 4)]),
        "relu": (ops.relu, [away_from_zero(3, 4)]),
        "tanh": (ops.tanh, [normal(3, 4)]),
        "sigmoid": (ops.sigmoid, [normal(3, 4)]),
        "maximum": (ops.maximum, [normal(3, 4), normal(4)]),
        "minimum": (ops.minimum, [normal(3, 4), normal(3, 1)]),
        "clamp": (lambda a: a.clamp(-0.5, 0.5), [normal(3, 4)]),
        "reshape": (lambda a: a.reshape(4, 3) * np.arange(12.0).reshape(4, 3), [normal(3, 4)]),
        "transpose": (lambda a: a.transpose(0, 2), [normal(2, 3, 4)]),
        "T": (lambda a: a.T @ a, [normal(3, 4)]),
        "index (slices)": (lambda a: a[1:, ::2], [normal(3, 4)]),
        "index (arange, labels)": (lambda a: a[rows, labels], [normal(5, 4)]),
        "index (repeated)": (lambda a: a[repeated] * 2, [normal(3, 4)]),
        "softmax": (lambda a: a.softmax(dim=1), [normal(3, 4)]),
        "log_softmax": (lambda a: a.log_softmax(dim=1), [normal(3, 4)]),
        "logsumexp": (lambda a: a.logsumexp(dim=1), [normal(3, 4)]),
    }


@dataclass
class EngineCheck:
    """One row of ``linclass gradcheck``: an operation's largest relative errors by both methods."""

    op: str
    forward: float
    centered: float
    passed: bool


def check_engine(seed: int = 0, h: float = 1e-6,
                 cases: dict[str, tuple[Callable[..., Tensor], list[np.ndarray]]] | None = None
                 ) -> list[EngineCheck]:
    """Check every case of :func:`engine_cases` (or ``cases``) with forward and centered differences."""
    rows = []
    for name, (fn, inputs) in (engine_cases(seed) if cases is None else cases).items():
        forward, centered = (check(fn, *inputs, h=h, method=method, seed=seed) for method in ("forward", "centered"))
        rows.append(EngineCheck(name, forward.max_error, centered.max_error, forward.passed and centered.passed))
    return rows
