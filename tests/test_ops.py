"""Every engine operation against PyTorch (values, gradients, node names) and finite differences.

Shapes and values come from hypothesis (derandomized, so runs are reproducible); small integers are
mixed into the values so that ties and kinks (max, maximum, abs, relu, clamp at its bounds) occur
often, and there the engine must make PyTorch's choice.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import linclass as lc
from linclass import gradcheck

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

ANY = st.one_of(st.integers(-2, 2).map(float), st.floats(-3, 3, allow_subnormal=False))  # ties and kinks
POSITIVE = st.floats(0.25, 4)
AWAY_FROM_ZERO = st.one_of(st.floats(0.5, 3), st.floats(-3, -0.5))
WIDE = st.floats(-40, 40, allow_subnormal=False)


def arrays(shape, elements=ANY):
    return hnp.arrays(np.float64, shape, elements=elements)


def compare_with_torch(torch, fn, *arrays_in, name=True):
    """Run ``fn(module, *tensors)`` in linclass and PyTorch on float64 leaves; values, gradients for a
    fixed random output gradient, and (when ``name``) the output's node name must agree."""
    ours = [lc.tensor(a, requires_grad=True) for a in arrays_in]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays_in]
    out, expected = fn(lc, *ours), fn(torch, *theirs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert out.shape == tuple(expected.shape) and out.dtype == np.float64
    if name:
        assert out.grad_fn.name() == expected.grad_fn.name()
    upstream = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for mine, reference in zip(ours, theirs, strict=True):
        reference_grad = np.zeros(mine.shape) if reference.grad is None else reference.grad.numpy()
        mine_grad = np.zeros(mine.shape) if mine.grad is None else mine.grad.data
        assert mine_grad.shape == mine.shape and mine_grad.dtype == mine.dtype
        np.testing.assert_allclose(mine_grad, reference_grad, rtol=1e-10, atol=1e-12)
    return out, expected


# -- elementwise binary operations with broadcasting -------------------------------------------------

BINARY = {
    "add": (lambda m, a, b: a + b, ANY, ANY),
    "sub": (lambda m, a, b: a - b, ANY, ANY),
    "mul": (lambda m, a, b: a * b, ANY, ANY),
    "div": (lambda m, a, b: a / b, ANY, AWAY_FROM_ZERO),
    "pow": (lambda m, a, b: a ** b, POSITIVE, ANY),
    "maximum": (lambda m, a, b: m.maximum(a, b), ANY, ANY),
    "minimum": (lambda m, a, b: m.minimum(a, b), ANY, ANY),
}


@pytest.mark.parametrize("op", BINARY)
@SETTINGS
@given(data=st.data())
def test_binary_ops_broadcast_like_torch(torch, op, data):
    fn, left, right = BINARY[op]
    shapes, _ = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    compare_with_torch(torch, fn, data.draw(arrays(shapes[0], left)), data.draw(arrays(shapes[1], right)))


REFLECTED = {
    "number + x": lambda m, x: 2.5 + x,
    "number - x": lambda m, x: 2.5 - x,
    "x - number": lambda m, x: x - 2,
    "number * x": lambda m, x: 3 * x,
    "number / x": lambda m, x: 2.0 / x,
    "x / number": lambda m, x: x / 4,
    "x ** number": lambda m, x: x ** 3,
    "x ** 0": lambda m, x: x ** 0,
    "number ** x": lambda m, x: 2.0 ** x,
    "-x": lambda m, x: -x,
    "maximum(x, number)": lambda m, x: m.maximum(x, m.tensor(0.5)),
}


@pytest.mark.parametrize("op", REFLECTED)
@SETTINGS
@given(data=st.data())
def test_operators_with_numbers_like_torch(torch, op, data):
    x = data.draw(arrays(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), AWAY_FROM_ZERO))
    # PyTorch names 2.0 / x MulBackward0 (it multiplies by the reciprocal); the engine says DivBackward0
    compare_with_torch(torch, REFLECTED[op], x, name=op != "number / x")


# -- elementwise functions, kinks included -------------------------------------------------------------

UNARY = {
    "exp": (lambda m, x: x.exp(), ANY),
    "log": (lambda m, x: x.log(), POSITIVE),
    "sqrt": (lambda m, x: x.sqrt(), POSITIVE),
    "abs": (lambda m, x: x.abs(), ANY),
    "relu": (lambda m, x: x.relu(), ANY),
    "tanh": (lambda m, x: x.tanh(), ANY),
    "sigmoid": (lambda m, x: x.sigmoid(), WIDE),
    "clamp": (lambda m, x: x.clamp(-1, 1), ANY),
    "clamp min": (lambda m, x: m.clamp(x, min=0), ANY),
    "clamp max": (lambda m, x: x.clamp(max=0.5), ANY),
}


@pytest.mark.parametrize("op", UNARY)
@SETTINGS
@given(data=st.data())
def test_elementwise_functions_like_torch(torch, op, data):
    fn, elements = UNARY[op]
    compare_with_torch(torch, fn, data.draw(arrays(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements)))


def test_kinks_follow_torch(torch):
    """At the kink itself: abs'(0) = 0, relu'(0) = 0, clamp passes the gradient at its bounds."""
    x = np.array([-1.0, 0.0, 1.0, 2.0])
    for fn in (lambda m, t: t.abs(), lambda m, t: t.relu(), lambda m, t: t.clamp(-1, 1)):
        compare_with_torch(torch, fn, x)
    ours = lc.tensor(x, requires_grad=True)
    ours.clamp(-1, 1).sum().backward()
    assert ours.grad.tolist() == [1.0, 1.0, 1.0, 0.0]


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="min and max"):
        lc.clamp(lc.tensor([1.0]))


# -- reductions over dims ---------------------------------------------------------------------------------

REDUCTIONS = {
    "sum": lambda m, x, dim, keepdim: x.sum(dim=dim, keepdim=keepdim),
    "mean": lambda m, x, dim, keepdim: x.mean(dim=dim, keepdim=keepdim),
    "max": lambda m, x, dim, keepdim: x.max(dim=dim, keepdim=keepdim).values,
    "min": lambda m, x, dim, keepdim: m.min(x, dim=dim, keepdim=keepdim).values,
    "logsumexp": lambda m, x, dim, keepdim: m.logsumexp(x, dim=dim, keepdim=keepdim),
    "softmax": lambda m, x, dim, keepdim: m.softmax(x, dim=dim),
    "log_softmax": lambda m, x, dim, keepdim: x.log_softmax(dim=dim),
}


@pytest.mark.parametrize("op", REDUCTIONS)
@SETTINGS
@given(data=st.data())
def test_reductions_over_a_dim_like_torch(torch, op, data):
    x = data.draw(arrays(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    keepdim = data.draw(st.booleans())
    compare_with_torch(torch, lambda m, t: REDUCTIONS[op](m, t, dim, keepdim), x)


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min"])
@SETTINGS
@given(data=st.data())
def test_full_reductions_like_torch(torch, op, data):
    """Over the whole tensor, tied maxima (minima) share the gradient evenly, as in PyTorch."""
    x = data.draw(arrays(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
    compare_with_torch(torch, lambda m, t: getattr(t, op)(), x)


@SETTINGS
@given(data=st.data())
def test_max_and_min_along_a_dim_return_torchs_indices(torch, data):
    x = data.draw(arrays(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), st.integers(-1, 1).map(float)))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    for op in ("max", "min"):
        ours, theirs = getattr(lc.tensor(x), op)(dim=dim), getattr(torch.tensor(x), op)(dim=dim)
        values, indices = ours  # unpacks like torch.return_types
        np.testing.assert_array_equal(indices.data, theirs.indices.numpy())
        assert indices.dtype == np.int64 and ours.values is values


def test_sum_over_several_dims_like_torch(torch, rng):
    compare_with_torch(torch, lambda m, t: t.sum(dim=(0, 2)), rng.standard_normal((2, 3, 4)))
    compare_with_torch(torch, lambda m, t: t.mean(dim=(-1, 0), keepdim=True), rng.standard_normal((2, 3, 4)))


def test_argmax_like_torch(torch, rng):
    x = rng.integers(0, 3, (4, 5)).astype(float)  # ties: the first index wins in both
    for dim in (None, 0, 1):
        np.testing.assert_array_equal(lc.argmax(lc.tensor(x), dim=dim).data, torch.argmax(torch.tensor(x), dim=dim))
    assert lc.tensor(x).argmax(dim=1).dtype == np.int64


# -- matmul ---------------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_matmul_like_torch(torch, data):
    n, k, m, b = (data.draw(st.integers(1, 4)) for _ in range(4))
    shapes = data.draw(st.sampled_from([
        ((n, k), (k, m)), ((k,), (k,)), ((n, k), (k,)), ((k,), (k, m)),
        ((b, n, k), (k, m)), ((b, n, k), (b, k, m)), ((1, n, k), (b, k, m)), ((k,), (b, k, m)),
    ]))
    a, c = (data.draw(arrays(shape)) for shape in shapes)
    named = (len(shapes[0]), len(shapes[1])) in [(2, 2), (1, 1), (2, 1)]  # PyTorch's Mm, Dot, Mv
    compare_with_torch(torch, lambda mod, x, y: x @ y, a, c, name=named)


# -- shapes and indexing --------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_integer_array_indexing_accumulates_repeats_like_torch(torch, data):
    """``scores[arange(N), y]`` and any integer arrays; an element picked twice gets both gradients."""
    n, k = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    scores = data.draw(arrays((n, k)))
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))
    rows = data.draw(hnp.arrays(np.int64, data.draw(st.integers(1, 8)), elements=st.integers(0, n - 1)))
    compare_with_torch(torch, lambda m, s: s[m.arange(n), m.tensor(labels)], scores)
    compare_with_torch(torch, lambda m, s: s[m.tensor(rows)], scores)
    compare_with_torch(torch, lambda m, s: s[m.tensor(rows), m.tensor(rows % k)] * 2, scores)


INDEXING = {
    "slices": lambda m, x: x[1:, ::2],
    "select row": lambda m, x: x[0],
    "select column": lambda m, x: x[:, 1],
    "list": lambda m, x: x[[0, 0, 1]],
    "mask": lambda m, x: x[x > 0],
    "new axis": lambda m, x: x[None, :, 1:] * 1,
    "ellipsis": lambda m, x: x[..., 0] * 1,
    "reshape": lambda m, x: x.reshape(-1),
    "reshape tuple": lambda m, x: x.reshape((x.shape[1], x.shape[0])),
    "view": lambda m, x: x.view(x.shape[1], -1),
    "flatten": lambda m, x: x.flatten(),
    "transpose": lambda m, x: x.transpose(0, 1),
    "T": lambda m, x: x.T,
}


@pytest.mark.parametrize("op", INDEXING)
@SETTINGS
@given(data=st.data())
def test_indexing_and_shapes_like_torch(torch, op, data):
    x = data.draw(arrays(hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=4)))
    compare_with_torch(torch, INDEXING[op], x)


# -- stability and dtypes -------------------------------------------------------------------------------

@pytest.mark.parametrize("center", [1000.0, -1000.0])
def test_softmax_family_is_stable_for_large_inputs(torch, rng, center):
    x = center + rng.standard_normal((3, 5))
    for fn in (lambda m, t: m.logsumexp(t, dim=1), lambda m, t: m.softmax(t, dim=1),
               lambda m, t: m.log_softmax(t, dim=1), lambda m, t: m.logsumexp(t, dim=(0, 1))):
        ours = lc.tensor(x, requires_grad=True)
        out = fn(lc, ours)
        out.backward(np.ones(out.shape))
        assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(ours.grad.data))
        compare_with_torch(torch, fn, x)


def test_logsumexp_of_minus_infinity_is_minus_infinity(torch):
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    np.testing.assert_array_equal(lc.logsumexp(lc.tensor(x), dim=1).data, torch.logsumexp(torch.tensor(x), dim=1))


FLOAT32_KEPT = {
    "x * 2.0": lambda x: x * 2.0, "2.0 * x": lambda x: 2.0 * x, "x + 1": lambda x: x + 1,
    "1 - x": lambda x: 1 - x, "x / 3": lambda x: x / 3, "3.0 / x": lambda x: 3.0 / x,
    "x ** 2": lambda x: x ** 2, "x ** 0.5": lambda x: x ** 0.5, "2.0 ** x": lambda x: 2.0 ** x,
    "maximum": lambda x: lc.maximum(x, 0.5), "clamp": lambda x: x.clamp(0.1, 1.0), "mean": lambda x: x.mean(),
    "sigmoid": lambda x: x.sigmoid(), "relu": lambda x: x.relu(), "logsumexp": lambda x: x.logsumexp(dim=1),
    "log_softmax": lambda x: x.log_softmax(dim=1), "max": lambda x: x.max(), "index": lambda x: x[lc.arange(2), 1],
}


@pytest.mark.parametrize("op", FLOAT32_KEPT)
def test_numbers_keep_float32_float32(op):
    x = lc.tensor([[0.5, 1.5], [2.0, 0.25]], requires_grad=True)
    out = FLOAT32_KEPT[op](x)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


def test_gradients_come_back_in_each_inputs_dtype():
    small = lc.tensor([1.0, 2.0], requires_grad=True)  # float32
    wide = lc.tensor(np.array([3.0, 4.0]), requires_grad=True)  # float64
    out = (small * wide).sum()
    assert out.dtype == np.float64
    out.backward()
    assert small.grad.dtype == np.float32 and wide.grad.dtype == np.float64
    np.testing.assert_array_equal(small.grad.data, [3.0, 4.0])


def test_cast_carries_the_gradient_back(torch):
    x = lc.tensor([1.5, -2.0], requires_grad=True)
    wide = x.double()
    reference = torch.tensor([1.5, -2.0], dtype=torch.float32, requires_grad=True).double()
    assert wide.dtype == np.float64 and wide.grad_fn.name() == reference.grad_fn.name()
    assert x.float() is x  # already float32: itself, as in PyTorch
    (wide * wide).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, -4.0]
    assert lc.cast(x, np.int64).requires_grad is False


def test_comparisons_give_bool_tensors_without_gradient():
    x = lc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result, expected in [(x > 2, [False, False, True]), (x >= 2, [False, True, True]),
                             (x < 2, [True, False, False]), (x <= 2, [True, True, False]),
                             (x == 2, [False, True, False]), (x != 2, [True, False, True]),
                             (2 < x, [False, False, True])]:
        assert result.dtype == np.bool_ and result.requires_grad is False and result.grad_fn is None
        assert result.tolist() == expected


def test_arange_like_torch(torch):
    assert lc.arange(4).dtype == np.int64 and lc.arange(4).tolist() == torch.arange(4).tolist()
    assert lc.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert lc.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert lc.arange(3, dtype=np.float64).dtype == np.float64 and lc.arange(3).requires_grad is False


# -- node names -----------------------------------------------------------------------------------------

NAMED = {
    "add": lambda m, a, b, v: a + b, "radd": lambda m, a, b, v: 2 + a, "sub": lambda m, a, b, v: a - b,
    "rsub": lambda m, a, b, v: 2 - a, "mul": lambda m, a, b, v: a * b, "div": lambda m, a, b, v: a / b,
    "pow number": lambda m, a, b, v: a ** 2, "pow tensor": lambda m, a, b, v: a.abs() ** b,
    "rpow": lambda m, a, b, v: 2 ** a, "neg": lambda m, a, b, v: -a, "mm": lambda m, a, b, v: a @ b.T,
    "mv": lambda m, a, b, v: a @ v, "dot": lambda m, a, b, v: v @ v, "sum": lambda m, a, b, v: a.sum(),
    "sum dim": lambda m, a, b, v: a.sum(dim=1), "mean": lambda m, a, b, v: a.mean(),
    "mean dim": lambda m, a, b, v: a.mean(dim=0), "max": lambda m, a, b, v: a.max(),
    "max dim": lambda m, a, b, v: a.max(dim=1).values, "min": lambda m, a, b, v: a.min(),
    "min dim": lambda m, a, b, v: a.min(dim=0)[0], "exp": lambda m, a, b, v: a.exp(),
    "log": lambda m, a, b, v: a.abs().log(), "sqrt": lambda m, a, b, v: a.abs().sqrt(),
    "abs": lambda m, a, b, v: a.abs(), "relu": lambda m, a, b, v: a.relu(), "tanh": lambda m, a, b, v: a.tanh(),
    "sigmoid": lambda m, a, b, v: a.sigmoid(), "maximum": lambda m, a, b, v: m.maximum(a, b),
    "minimum": lambda m, a, b, v: m.minimum(a, b), "clamp": lambda m, a, b, v: a.clamp(-1, 1),
    "reshape": lambda m, a, b, v: a.reshape(-1), "transpose": lambda m, a, b, v: a.transpose(0, 1),
    "T": lambda m, a, b, v: a.T, "index": lambda m, a, b, v: a[m.arange(3), m.tensor([0, 2, 2])],
    "slice": lambda m, a, b, v: a[1:], "select": lambda m, a, b, v: a[:, 1],
    "softmax": lambda m, a, b, v: m.softmax(a, dim=1), "log_softmax": lambda m, a, b, v: m.log_softmax(a, dim=1),
    "logsumexp": lambda m, a, b, v: m.logsumexp(a, dim=1),
}


@pytest.mark.parametrize("op", NAMED)
def test_node_names_match_torch(torch, rng, op):
    arrays_in = [rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal(4)]
    compare_with_torch(torch, NAMED[op], *arrays_in)


# -- finite differences -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", list(gradcheck.engine_cases()))
def test_gradients_equal_centered_differences(case):
    fn, inputs = gradcheck.engine_cases(seed=1)[case]
    report = gradcheck.check(fn, *inputs, atol=0)
    assert report.passed and report.max_error < 1e-7, str(report)


# -- dims out of range -----------------------------------------------------------------------------------

DIM_TAKING = {
    "sum": lambda m, x, dim: x.sum(dim=dim),
    "sum over a tuple": lambda m, x, dim: x.sum(dim=(0, dim)),
    "mean": lambda m, x, dim: x.mean(dim=dim),
    "logsumexp": lambda m, x, dim: m.logsumexp(x, dim=dim),
    "max": lambda m, x, dim: x.max(dim=dim),
    "min": lambda m, x, dim: m.min(x, dim=dim),
    "argmax": lambda m, x, dim: x.argmax(dim=dim),
    "softmax": lambda m, x, dim: m.softmax(x, dim=dim),
    "log_softmax": lambda m, x, dim: x.log_softmax(dim=dim),
    "transpose": lambda m, x, dim: x.transpose(0, dim),
    "size": lambda m, x, dim: x.size(dim),
}


@pytest.mark.parametrize("dim", [2, -3, 7])
@pytest.mark.parametrize("op", DIM_TAKING)
def test_a_dim_out_of_range_is_torchs_index_error(torch, op, dim):
    """On a 2×3 tensor, dim 2 names no axis: an IndexError in PyTorch's words, never another axis."""
    with pytest.raises(IndexError) as expected:
        DIM_TAKING[op](torch, torch.ones(2, 3), dim)
    assert "Dimension out of range (expected to be in range of [-2, 1]" in str(expected.value)
    with pytest.raises(IndexError) as raised:
        DIM_TAKING[op](lc, lc.tensor(np.ones((2, 3))), dim)
    assert str(raised.value) == str(expected.value)


@pytest.mark.parametrize("op", [op for op in DIM_TAKING if op not in ("sum over a tuple", "size")])
def test_a_0d_tensor_takes_dims_minus_1_and_0_like_torch(torch, op):
    for dim in (0, -1):
        ours, theirs = DIM_TAKING[op](lc, lc.tensor(2.5), dim), DIM_TAKING[op](torch, torch.tensor(2.5), dim)
        if op not in ("max", "min"):  # those give (values, indices)
            ours, theirs = [ours], [theirs]
        for mine, reference in zip(ours, theirs, strict=True):
            assert mine.shape == tuple(reference.shape) and mine.item() == reference.item()
    with pytest.raises(IndexError, match=re.escape("expected to be in range of [-1, 0], but got 1")):
        DIM_TAKING[op](lc, lc.tensor(2.5), 1)


def test_a_dim_named_twice_is_an_error_as_in_torch(torch):
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        torch.ones(2, 3).sum(dim=(0, -2))
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        lc.tensor(np.ones((2, 3))).sum(dim=(0, -2))


# -- dtype promotion with integers ------------------------------------------------------------------------

PROMOTED_OPERANDS = {
    "int64 tensor": lambda m: m.tensor([1, 2]),
    "int32 tensor": lambda m: m.tensor(np.array([3, 1], dtype=np.int32)),
    "bool tensor": lambda m: m.tensor([True, False]),
    "float32 tensor": lambda m: m.tensor(np.array([0.5, 2.0], dtype=np.float32)),
    "float64 tensor": lambda m: m.tensor(np.array([1.5, 0.25])),
    "int": lambda m: 2,
    "float": lambda m: 1.5,
    "bool": lambda m: True,
}
ARITHMETIC = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
              "/": lambda a, b: a / b, "**": lambda a, b: a ** b}


@pytest.mark.parametrize("symbol", ARITHMETIC)
def test_integer_and_bool_operands_promote_like_torch(torch, symbol):
    """Integers with a Python float, with a float tensor, or divided give PyTorch's dtype (float32 where
    NumPy would say float64), for every pair and both orders."""
    torch.set_default_dtype(torch.float32)  # as PyTorch starts (the fixture restores it afterwards too)
    op, compared = ARITHMETIC[symbol], 0
    for left, right in itertools.product(PROMOTED_OPERANDS, repeat=2):
        if "tensor" not in left + right or (symbol == "**" and left.startswith("bool") and right.startswith("bool")):
            continue  # numbers alone are Python's business; NumPy has no bool ** bool (it gives int8)
        try:
            expected = op(PROMOTED_OPERANDS[left](torch), PROMOTED_OPERANDS[right](torch))
        except (RuntimeError, TypeError):
            continue  # e.g. bool - bool, which PyTorch refuses too
        with np.errstate(divide="ignore", invalid="ignore"):  # division by False, as in PyTorch
            out = op(PROMOTED_OPERANDS[left](lc), PROMOTED_OPERANDS[right](lc))
        assert str(out.dtype) == str(expected.dtype).removeprefix("torch."), f"{left} {symbol} {right}"
        np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-6, err_msg=f"{left} {symbol} {right}")
        compared += 1
    assert compared >= 30


def test_the_examples_of_integer_promotion():
    assert (lc.tensor([1, 2]) * 0.5).dtype == np.float32 and (lc.tensor([1, 2]) + 0.5).dtype == np.float32
    assert (lc.arange(3) * 1.5).dtype == np.float32 and (lc.tensor([1, 2]) / 2).tolist() == [0.5, 1.0]
    assert (lc.tensor([1, 2]) / 2).dtype == np.float32 and (lc.tensor([1, 2]) * 2).dtype == np.int64
    assert (lc.tensor(np.array([1.0])) * 0.5).dtype == np.float64


def test_a_float32_leaf_times_an_integer_tensor_keeps_a_float32_gradient():
    w = lc.tensor([0.5, 2.0], requires_grad=True)
    out = (w * lc.tensor([3, 4])).sum()
    assert out.dtype == np.float32
    out.backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [3.0, 4.0]


# -- matmul shape errors ----------------------------------------------------------------------------------

def test_matmul_of_mismatched_matrices_says_so_as_torch(torch):
    with pytest.raises(RuntimeError) as expected:
        torch.ones(2, 3) @ torch.ones(4, 5)
    with pytest.raises(ValueError) as raised:
        lc.tensor(np.ones((2, 3))) @ lc.tensor(np.ones((4, 5)))
    assert str(raised.value) == str(expected.value) == "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"


@pytest.mark.parametrize("shapes, message", [
    (((3,), (4,)), "(3 and 4): the last dimension of the first is 3 but the length of the second is 4"),
    (((2, 3), (4,)), "(2x3 and 4): the last dimension of the first is 3 but the length of the second is 4"),
    (((3,), (4, 5)), "(3 and 4x5): the last dimension of the first is 3 but the second-to-last dimension"),
    (((2, 2, 3), (5, 3, 4)), "(2x2x3 and 5x3x4): their batch dimensions do not broadcast"),
    (((), (3,)), "need to be at least 1D, but they are 0D and 1D"),
])
def test_matmul_of_other_mismatched_shapes_names_both(shapes, message):
    a, b = (lc.tensor(np.ones(shape)) for shape in shapes)
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        a @ b
    assert "\n" not in str(raised.value) and "gufunc" not in str(raised.value)
