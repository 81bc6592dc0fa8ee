"""The Tensor and backpropagation: the lecture's example, accumulation, no_grad, deep graphs, errors."""

from __future__ import annotations

import time

import numpy as np
import pytest

import linclass as lc


def lecture_leaves(module):
    """x, y, z, w of the lecture's slide, in linclass or PyTorch."""
    return [module.tensor(value, requires_grad=True) for value in (3.0, -4.0, 2.0, -1.0)]


def test_lecture_example_as_on_the_slide():
    x = lc.tensor(3., requires_grad=True)
    y = lc.tensor(-4., requires_grad=True)
    z = lc.tensor(2., requires_grad=True)
    w = lc.tensor(-1., requires_grad=True)
    p = x * y
    q = max(z, w)
    v = p + q
    f = 2 * v
    f.backward()
    assert f.item() == -20.0
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-8.0, 6.0, 2.0)
    assert repr(x.grad) == "tensor(-8.)"
    assert repr(f) == "tensor(-20., grad_fn=<MulBackward0>)"
    assert repr(p) == "tensor(-12., grad_fn=<MulBackward0>)"
    assert repr(x) == "tensor(3., requires_grad=True)"


def test_python_max_returns_z_itself_so_w_gets_no_gradient_as_in_torch(torch):
    for module in (lc, torch):
        x, y, z, w = lecture_leaves(module)
        q = max(z, w)  # Python compares z > w (a one-element bool tensor) and returns z itself
        assert q is z
        (2 * (x * y + q)).backward()
        assert z.grad.item() == 2.0
        assert w.grad is None


def test_maximum_gate_routes_zero_to_w_as_in_torch(torch):
    results = {}
    for module in (lc, torch):
        x, y, z, w = lecture_leaves(module)
        f = 2 * (x * y + module.maximum(z, w))
        f.backward()
        results[module.__name__] = [t.grad.item() for t in (x, y, z, w)] + [f.item()]
    assert results["linclass"] == results["torch"] == [-8.0, 6.0, 2.0, 0.0, -20.0]
    x, y, z, w = lecture_leaves(lc)
    (2 * (x * y + lc.maximum(z, w))).backward()
    assert repr(w.grad) == "tensor(0.)"


def test_a_value_used_twice_gets_both_gradients(torch):
    for module in (lc, torch):
        x = module.tensor(3.0, requires_grad=True)
        (x * x).backward()  # d(x²)/dx = 2x
        assert x.grad.item() == 6.0
    a = lc.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    out = (b.exp() + b * b).sum()  # b feeds two branches
    out.backward()
    expected = 3 * (np.exp(3 * a.data) + 2 * 3 * a.data)
    np.testing.assert_allclose(a.grad.data, expected, rtol=1e-6)


def test_backward_twice_accumulates_and_zero_resets(torch):
    x = lc.tensor([1.0, -2.0], requires_grad=True)
    f = (x * x).sum()
    f.backward()
    f.backward()
    np.testing.assert_array_equal(x.grad.data, 2 * 2 * x.data)
    x.grad.zero_()
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0])


def test_gradient_argument_and_its_errors():
    x = lc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="one-element output"):
        y.backward()
    with pytest.raises(RuntimeError, match="shape"):
        y.backward(np.ones(2))
    y.backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, -2.0])


def test_backward_on_a_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (lc.tensor(2.0) * 3).backward()


def test_no_grad_records_nothing():
    x = lc.tensor(2.0, requires_grad=True)
    with lc.no_grad():
        y = x * 3
        assert not lc.is_grad_enabled()
    assert lc.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad

    @lc.no_grad()
    def triple(t):
        return t * 3

    assert triple(x).grad_fn is None
    assert (x * 3).grad_fn.name() == "MulBackward0"


def test_a_chain_of_100_000_operations():
    x = lc.tensor(1.0, requires_grad=True, dtype=np.float64)
    y = x
    start = time.perf_counter()
    for _ in range(50_000):
        y = y * 1.0
        y = y + 0.5
    y.backward()
    elapsed = time.perf_counter() - start
    assert x.grad.item() == 1.0
    assert y.item() == 1.0 + 0.5 * 50_000
    assert elapsed < 30, f"100 000 operations took {elapsed:.1f} s"
    del y  # freeing the deep graph must not overflow the stack either


def test_retain_grad_keeps_an_intermediate_gradient():
    x = lc.tensor(3.0, requires_grad=True)
    p = x * 4
    p.retain_grad()
    (p * p).backward()
    assert p.grad.item() == 24.0 and x.grad.item() == 96.0


def test_leaves_and_nodes():
    x = lc.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    assert x.is_leaf and not y.is_leaf
    assert y.grad_fn.next_functions == ((None, 0),)
    detached = y.detach()
    assert detached.is_leaf and not detached.requires_grad and detached.data is y.data
    with pytest.raises(RuntimeError, match="floating point"):
        lc.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_dtypes_follow_torch(torch):
    assert lc.tensor(3.0).dtype == np.float32 and torch.tensor(3).dtype == torch.int64
    assert lc.tensor(3).dtype == np.int64 and lc.tensor(True).dtype == np.bool_
    assert lc.tensor(np.array([1.0])).dtype == np.float64  # NumPy arrays keep their dtype
    assert lc.tensor(3.0, dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="numbers"):
        lc.tensor("three")


def test_as_tensor_shares_memory():
    array = np.zeros(3)
    t = lc.as_tensor(array)
    assert t.data is array and lc.as_tensor(t) is t


def test_python_protocol():
    x = lc.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert len(x) == 2 and [row.tolist() for row in x] == [[1.0, 2.0], [3.0, 4.0]]
    assert x.shape == (2, 2) and x.ndim == 2 and x.dim() == 2 and x.numel() == 4 and x.size(1) == 2
    assert float(lc.tensor(2.5)) == 2.5 and int(lc.tensor(7)) == 7 and f"{lc.tensor(0.5):.2f}" == "0.50"
    assert [10, 20, 30][lc.tensor(1)] == 20
    assert bool(lc.tensor([1.0])) and not lc.tensor(0.0)
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    with pytest.raises(ValueError, match="4 elements"):
        x.item()
    with pytest.raises(TypeError, match="0-d"):
        len(lc.tensor(1.0))
    assert {x: 1}[x] == 1  # hashable by identity, as PyTorch's tensors


def test_repr_reads_like_torch(torch):
    torch.set_default_dtype(torch.float32)  # as PyTorch starts (the fixture restores it afterwards too)
    for value in (-20.0, [0.0, 0.5], [[1.0, 2.0], [3.0, 4.0]]):
        assert repr(lc.tensor(value)) == repr(torch.tensor(value))
    assert repr(lc.tensor([1, 2])) == repr(torch.tensor([1, 2]))
    assert repr(lc.tensor(2.0, dtype=np.float64)) == "tensor(2., dtype=float64)"


@pytest.mark.parametrize("values", [
    lambda m: [m.tensor(1.0), m.tensor(2.5)],
    lambda m: [[m.tensor(1.0), m.tensor(2.0)], [m.tensor(3.0), m.tensor(4.0)]],
    lambda m: [m.tensor(1), m.tensor(2)],
    lambda m: [m.tensor(True), m.tensor(False)],
    lambda m: [m.tensor(1), 2.5],
    lambda m: [m.tensor(3.0, requires_grad=True) * 2],
], ids=["floats", "nested", "ints", "bools", "with a number", "with grad"])
def test_a_list_of_one_element_tensors_becomes_a_tensor_as_in_torch(torch, values):
    torch.set_default_dtype(torch.float32)
    ours = lc.tensor(values(lc))
    theirs = torch.tensor([v.detach() if isinstance(v, torch.Tensor) else v for v in values(torch)])
    assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    assert ours.is_leaf and not ours.requires_grad


def test_numpy_converts_a_tensor_to_its_values():
    x = lc.tensor([1.0, 2.0], requires_grad=True)
    assert np.asarray(x) is x.data and np.asarray(x, dtype=np.float64).dtype == np.float64
    assert np.array(x, copy=True) is not x.data


OPERATORS_FROM_THE_LEFT = {
    "+": lambda a, x: a + x, "-": lambda a, x: a - x, "*": lambda a, x: a * x, "/": lambda a, x: a / x,
    "**": lambda a, x: a ** x, "@": lambda a, x: a @ x,
}


@pytest.mark.parametrize("symbol", OPERATORS_FROM_THE_LEFT)
def test_an_ndarray_on_the_left_still_reaches_the_tensors_reflected_operator(torch, symbol):
    """``__array__`` lets NumPy convert tensors, but ``__array_priority__`` keeps ``ndarray + Tensor`` a
    Tensor op with a gradient, not an ndarray."""
    op, array = OPERATORS_FROM_THE_LEFT[symbol], np.array([0.5, 3.0])
    ours, theirs = lc.tensor([1.5, 2.0], requires_grad=True), torch.tensor([1.5, 2.0], requires_grad=True)
    out, expected = op(array, ours), op(torch.tensor(array), theirs)
    assert isinstance(out, lc.Tensor) and out.grad_fn is not None
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-6)
    comparison = array < ours
    assert isinstance(comparison, lc.Tensor) and comparison.tolist() == [True, False]


# -- the grad mode, and what a student comparing with PyTorch meets first --------------------------


def test_grad_mode_functions_and_context_managers_nest_as_in_pytorch():
    x = lc.tensor(1.0, requires_grad=True)
    with lc.no_grad():
        assert (x * 2).grad_fn is None
        with lc.enable_grad():
            assert (x * 2).grad_fn is not None
        with lc.set_grad_enabled(True):
            assert lc.is_grad_enabled()
        assert not lc.is_grad_enabled()
    lc.set_grad_enabled(False)
    try:
        assert (x * 2).grad_fn is None
    finally:
        lc.set_grad_enabled(True)
    assert lc.is_grad_enabled()

    @lc.set_grad_enabled(False)
    def evaluate():
        return x * 2

    assert lc.is_grad_enabled() and evaluate().grad_fn is None and lc.is_grad_enabled()

    @lc.enable_grad()
    def train_step():
        return x * 2

    with lc.no_grad():
        assert train_step().grad_fn is not None


@pytest.mark.parametrize("expression, name", [
    (lambda x: x[None], "UnsqueezeBackward0"), (lambda x: 10 / x, "MulBackward0"), (lambda x: x.t(), "TBackward0"),
    (lambda x: x.T, "PermuteBackward0"), (lambda x: x[...], "AliasBackward0"), (lambda x: x.clone(), "CloneBackward0"),
    (lambda x: x.sum(dim=()), "SumBackward1"), (lambda x: x.unsqueeze(0), "UnsqueezeBackward0"),
    (lambda x: x.reciprocal(), "ReciprocalBackward0"),
])
def test_node_names_are_torchs(torch, expression, name):
    ours = expression(lc.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True))
    theirs = expression(torch.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name() == name
    np.testing.assert_allclose(ours.data, theirs.detach().numpy())


def test_number_over_tensor_is_reciprocal_times_the_number_with_its_gradient(torch):
    for m in (lc, torch):
        x = m.tensor(np.array([2.0, 4.0]), requires_grad=True)
        (10 / x).sum().backward()
        np.testing.assert_allclose(np.asarray(x.grad.detach()), [-2.5, -0.625])
        assert (10 / x).grad_fn.next_functions[0][0].name() == "ReciprocalBackward0"


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_t_of_a_number_vector_or_matrix_is_as_in_pytorch(torch, shape):
    values = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    ours, theirs = lc.tensor(values, requires_grad=True).t(), torch.tensor(values, requires_grad=True).t()
    assert ours.shape == tuple(theirs.shape) and ours.grad_fn.name() == theirs.grad_fn.name()
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions, but self is 3D"):
        lc.tensor(np.zeros((2, 2, 2))).t()


@pytest.mark.parametrize("dim", [(), []])
def test_an_empty_dim_reduces_every_axis(torch, dim):
    values = np.arange(6.0).reshape(2, 3)
    for reduce in ("sum", "mean"):
        ours = getattr(lc.tensor(values, requires_grad=True), reduce)(dim=dim)
        theirs = getattr(torch.tensor(values, requires_grad=True), reduce)(dim=dim)
        assert ours.shape == () and ours.item() == pytest.approx(theirs.item())


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0,)])
def test_empty_tensors_flow_through_the_softmax_family_as_in_pytorch(torch, shape):
    values = np.zeros(shape)
    for name, call in {"softmax": lambda m, t: m.softmax(t, -1), "log_softmax": lambda m, t: m.log_softmax(t, -1),
                       "logsumexp": lambda m, t: m.logsumexp(t, -1), "sum": lambda m, t: t.sum(-1),
                       "mean": lambda m, t: t.mean()}.items():
        ours = call(lc, lc.tensor(values, requires_grad=True))
        theirs = call(torch, torch.tensor(values, requires_grad=True))
        assert ours.shape == tuple(theirs.shape), name
        np.testing.assert_array_equal(ours.data, theirs.detach().numpy())


def test_the_max_of_nothing_is_torchs_error():
    with pytest.raises(RuntimeError, match="Expected reduction dim to be specified for input.numel\\(\\) == 0"):
        lc.tensor(np.zeros((0, 3))).max()


def test_retain_grad_keeps_a_non_leaf_gradient(torch):
    for m in (lc, torch):
        x = m.tensor(np.array([1.0, 2.0]), requires_grad=True)
        y = x * 3
        y.retain_grad()
        (y * y).sum().backward()
        np.testing.assert_allclose(np.asarray(y.grad.detach()), [6.0, 12.0])


def test_intermediate_tensors_are_not_kept_alive_by_the_graph():
    import gc
    import weakref

    x = lc.tensor(np.ones(3), requires_grad=True)
    middle = x + 1
    probe = weakref.ref(middle)
    out = (middle + 1).sum()
    del middle
    gc.collect()
    assert probe() is None  # the graph holds nodes, not the tensors they made
    out.backward()
    np.testing.assert_array_equal(x.grad.data, [1, 1, 1])
