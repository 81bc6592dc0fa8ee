"""In-place operations and the version counter, against PyTorch: the lecture's ``weights += - step * grad``,
``x.zero_()``, ``x[idx] = v``, what may change in place while recording, and what backward refuses."""

from __future__ import annotations

import numpy as np
import pytest

import linclass as lc

INPLACE = {
    "+=": lambda m, x, o: x.__iadd__(o),
    "-=": lambda m, x, o: x.__isub__(o),
    "*=": lambda m, x, o: x.__imul__(o),
    "/=": lambda m, x, o: x.__itruediv__(o),
    "add_": lambda m, x, o: x.add_(o),
    "sub_": lambda m, x, o: x.sub_(o),
    "mul_": lambda m, x, o: x.mul_(o),
    "div_": lambda m, x, o: x.div_(o),
    "clamp_": lambda m, x, o: x.clamp_(min=-0.5, max=o.max().item()),
    "zero_": lambda m, x, o: x.zero_(),
    "fill_": lambda m, x, o: x.fill_(0.25),
    "copy_": lambda m, x, o: x.copy_(o),
    "setitem": lambda m, x, o: assign(x, (slice(None), 1), o[:, 0]),
    "setitem-array": lambda m, x, o: assign(x, m.tensor([0, 2]), o[:2]),
}



def assign(x, key, value):
    x[key] = value
    return x


X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-2.0, 3.0, 1.0]])
OTHER = np.array([[1.25, 2.0, -0.5], [0.5, -1.5, 2.5], [1.0, 0.75, -2.0]])


def both(torch, function):
    """``function(module)`` in linclass and in PyTorch, results as they come."""
    return function(lc), function(torch)


@pytest.mark.parametrize("op", INPLACE)
def test_under_no_grad_a_leaf_stays_the_same_leaf_with_its_grad(torch, op):
    def run(m):
        w = m.tensor(X, requires_grad=True)
        (w * w).sum().backward()
        grad_before, identity = w.grad, id(w)
        with m.no_grad():
            result = INPLACE[op](m, w, m.tensor(OTHER))
        assert result is w and id(w) == identity and w.is_leaf and w.requires_grad
        assert w.grad is grad_before and w._version >= 1
        return np.array(w.detach().numpy())

    ours, theirs = both(torch, run)
    np.testing.assert_allclose(ours, theirs)


@pytest.mark.parametrize("op", INPLACE)
def test_while_recording_a_leaf_that_requires_grad_is_refused_with_torchs_error(torch, op):
    for m in (lc, torch):
        w = m.tensor(X, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in an in-place") as e:
            INPLACE[op](m, w, m.tensor(OTHER))
        assert (m is torch) or np.array_equal(w.data, X), "a refused change must leave the values alone"
        if m is lc:
            ours = str(e.value)
        else:
            assert str(e.value) == ours


@pytest.mark.parametrize("op", INPLACE)
@pytest.mark.parametrize("other_requires_grad", [False, True])
def test_on_a_non_leaf_the_change_is_recorded_and_gradients_match_torch(torch, op, other_requires_grad):
    def run(m):
        x = m.tensor(X, requires_grad=True)
        other = m.tensor(OTHER, requires_grad=other_requires_grad)
        y = x * 2  # a non-leaf
        before = y * 3  # an earlier use of y, whose gradient must not change
        INPLACE[op](m, y, other)
        name = y.grad_fn.name().rsplit("::", 1)[-1]  # PyTorch's C++ nodes say torch::autograd::CopySlices
        (y * m.tensor(OTHER + 1) + before).sum().backward()
        grads = [x.grad.numpy().copy(), None if other.grad is None else other.grad.numpy().copy()]
        return name, np.array(y.detach().numpy()), grads

    (name, value, grads), (torch_name, torch_value, torch_grads) = both(torch, run)
    assert name == torch_name
    np.testing.assert_allclose(value, torch_value)
    np.testing.assert_allclose(grads[0], torch_grads[0])
    assert (grads[1] is None) == (torch_grads[1] is None)
    if grads[1] is not None:
        np.testing.assert_allclose(grads[1], torch_grads[1])


def test_a_plain_tensor_takes_a_node_when_a_tensor_that_requires_grad_is_added_in(torch):
    for m in (lc, torch):
        b = m.tensor(OTHER[0], requires_grad=True)
        a = m.zeros(3) if m is torch else lc.tensor(np.zeros(3))
        a.add_(b)
        assert not a.is_leaf and a.requires_grad and a.grad_fn.name() == "AddBackward0"
        (a * 2).sum().backward()
        np.testing.assert_allclose(np.asarray(b.grad.detach()), [2, 2, 2])


def test_a_float_result_is_not_stored_into_an_integer_tensor(torch_float32):
    for m in (lc, torch_float32):
        counts = m.tensor([1, 2])
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            counts += 0.5
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            counts /= 2
        counts += 1
        counts[0] = 7.9  # an assignment converts, as in PyTorch
        assert counts.tolist() == [7, 3]


def test_a_float32_tensor_updated_with_float64_values_stays_float32():
    w = lc.tensor([1.0, 2.0])
    w -= lc.tensor(np.array([0.5, 0.5]))
    assert w.dtype == np.float32 and w.tolist() == [0.5, 1.5]


def test_indexed_assignment_under_no_grad_changes_the_leaf_in_place(torch):
    def run(m):
        w = m.tensor(X, requires_grad=True)
        with m.no_grad():
            w[0] = 5.0
            w[:, 2] = m.tensor([1.0, 2.0, 3.0])
            w[w < 0] = 0.0
            w[[1, 1], [0, 1]] += 1.0  # read, add, write: each picked place once
        return np.array(w.detach().numpy()), w._version

    (ours, version), (theirs, torch_version) = both(torch, run)
    np.testing.assert_array_equal(ours, theirs)
    assert version == torch_version == 4


def test_the_margins_of_an_svm_are_zeroed_in_place_as_students_write_it(torch):
    """CS231n's vectorized hinge: margins[arange(N), y] = 0 on a tensor in the graph."""
    scores_values = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    labels = [0, 1, 2]

    def run(m):
        scores = m.tensor(scores_values, requires_grad=True)
        n = len(labels)
        correct = scores[m.arange(n), m.tensor(labels)]
        margins = m.clamp(scores - correct[:, None] + 1, min=0)
        margins[m.arange(n), m.tensor(labels)] = 0
        loss = margins.sum() / n
        loss.backward()
        return loss.item(), margins.grad_fn.name(), scores.grad.numpy().copy()

    (loss, name, grad), (torch_loss, torch_name, torch_grad) = both(torch, run)
    assert loss == pytest.approx(torch_loss) and loss == pytest.approx((2.9 + 0 + 12.9) / 3)  # the lecture's 5.27
    assert name == torch_name == "IndexPutBackward0"
    np.testing.assert_allclose(grad, torch_grad)


def test_changing_a_saved_tensor_in_place_makes_backward_raise(torch):
    for m in (lc, torch):
        x = m.tensor(X, requires_grad=True)
        y = x * 1
        z = y.exp()  # exp saves its output
        z.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()
        w = m.tensor(X, requires_grad=True)
        loss = (w * w).sum()  # mul saves w
        with m.no_grad():
            w -= 0.1
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


def test_changing_a_tensor_that_was_not_saved_is_allowed(torch):
    for m in (lc, torch):
        x = m.tensor(X, requires_grad=True)
        y = x * 1
        z = y.exp()  # saves its output, not y
        y.add_(1)
        z.sum().backward()
        np.testing.assert_allclose(np.asarray(x.grad.detach()), np.exp(X))


def test_a_view_shares_the_version_of_its_base():
    x = lc.tensor(X)
    row, alias = x[0], x.detach()
    row.zero_()
    assert x._version == row._version == alias._version == 1 and x.tolist()[0] == [0, 0, 0]


def test_a_view_of_a_tensor_in_the_graph_is_refused_rather_than_given_a_wrong_gradient():
    x = lc.tensor(X, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="view of a tensor that requires grad"):
        y[0].mul_(2)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0].mul_(2)


def test_a_changed_view_refuses_the_saved_base():
    x = lc.tensor(X, requires_grad=True)
    y = x * 1
    z = y * y
    with lc.no_grad():
        y[0, 0] = 10.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_grad_zero_in_place_keeps_the_gradient_tensor():
    w = lc.tensor(X, requires_grad=True)
    (w * 2).sum().backward()
    grad = w.grad
    w.grad.zero_()
    assert w.grad is grad and not grad.data.any()
