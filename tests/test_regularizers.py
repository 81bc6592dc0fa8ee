"""The penalties: hand-worked values, kernel against autograd and PyTorch, the L1 subgradient at 0, and
the regularized loss checked by finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import linclass as lc
from linclass import gradcheck
from linclass.losses import LOSSES
from linclass.regularizers import PENALTIES, PENALTY_CHOICES, elastic_net, l1, l2, penalty, penalty_and_grad

NAMES = ("l1", "l2", "elasticnet")
EXAMPLES = settings(derandomize=True, max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # ``torch`` only sets a dtype


@st.composite
def weights(draw):
    """A float64 weight matrix; half the time half-integers with exact zeros (the kink of |w|)."""
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 6)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        return rng.integers(-2, 3, shape) / 2.0
    return rng.standard_normal(shape)


def autograd_value_and_grad(fn, W: np.ndarray) -> tuple[float, np.ndarray]:
    w = lc.tensor(W, requires_grad=True)
    value = fn(w)
    value.backward()
    return value.item(), w.grad.data


def torch_penalty(torch, name: str, W: np.ndarray, l1_ratio: float) -> tuple[float, np.ndarray]:
    w = torch.tensor(W, requires_grad=True)
    value = {"l1": w.abs().sum(), "l2": (w ** 2).sum(),
             "elasticnet": l1_ratio * w.abs().sum() + (1 - l1_ratio) * (w ** 2).sum()}[name]
    value.backward()
    return value.item(), w.grad.numpy()


def test_penalties_of_a_hand_worked_matrix():
    W = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert l1(lc.tensor(W)).item() == 6.0
    assert l2(lc.tensor(W)).item() == 14.0
    assert elastic_net(lc.tensor(W), l1_ratio=0.25).item() == 0.25 * 6 + 0.75 * 14
    assert penalty_and_grad("l1", W)[0] == 6.0
    assert penalty_and_grad("l2", W)[0] == 14.0
    value, dW = penalty_and_grad("elasticnet", W, l1_ratio=0.25)
    assert value == 12.0
    np.testing.assert_array_equal(dW, 0.25 * np.array([[1, -1], [0, 1]]) + 0.75 * 2 * W)


@EXAMPLES
@given(W=weights(), l1_ratio=st.sampled_from([0.0, 0.3, 0.5, 1.0]))
@pytest.mark.parametrize("name", NAMES)
def test_kernel_matches_autograd_and_pytorch(torch, name, W, l1_ratio):
    value, dW = penalty_and_grad(name, W, l1_ratio)
    for reference in (autograd_value_and_grad(lambda w: penalty(name, w, l1_ratio), W),
                      torch_penalty(torch, name, W, l1_ratio)):
        assert value == pytest.approx(reference[0], rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(dW, reference[1], rtol=1e-12, atol=1e-12)


def test_l1_subgradient_at_zero_is_zero(torch):
    W = np.array([[0.0, 1.5, -0.5], [-0.0, 0.0, 2.0]])
    expected = np.array([[0.0, 1.0, -1.0], [0.0, 0.0, 1.0]])  # np.sign: a weight at 0 gets no push
    np.testing.assert_array_equal(penalty_and_grad("l1", W)[1], expected)
    np.testing.assert_array_equal(autograd_value_and_grad(l1, W)[1], expected)
    np.testing.assert_array_equal(torch_penalty(torch, "l1", W, 1.0)[1], expected)
    np.testing.assert_array_equal(penalty_and_grad("elasticnet", W, 0.5)[1], 0.5 * expected + W)


def test_no_penalty_is_zero_with_a_zero_gradient():
    W = np.ones((2, 3), dtype=np.float32)
    value, dW = penalty_and_grad(None, W)
    assert value == 0.0 and dW.dtype == np.float32 and not dW.any()
    assert penalty(None, lc.tensor(W)).item() == 0.0


@pytest.mark.parametrize("name", NAMES)
def test_float32_weights_give_float32_gradients(name):
    W = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    assert penalty_and_grad(name, W)[1].dtype == np.float32


# -- the regularized loss  L = mean_i L_i + λ R(W), checked by centered differences -----------------------


def regularized_problem(seed: int = 0, n: int = 6, d: int = 4, k: int = 3):
    """Inputs, labels, weights and biases with every |W_ij| > 0.1 and every hinge margin 0.01 away from
    its kink, so that the total loss is differentiable where it is checked."""
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, d)), rng.integers(0, k, n)
    W = rng.choice([-1.0, 1.0], (k, d)) * rng.uniform(0.1, 1.0, (k, d))
    b = rng.standard_normal(k) * 0.1
    scores = X @ W.T + b
    margins = scores - scores[np.arange(n), y][:, None] + 1.0
    margins[np.arange(n), y] = 1.0
    assert np.abs(margins).min() > 0.01
    return X, y, W, b


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("name", NAMES)
def test_regularized_loss_gradient_passes_a_centered_check(loss, name):
    X, y, W, b = regularized_problem()
    reg = 0.3

    def total(w, bias):
        return LOSSES[loss].fused(lc.tensor(X) @ w.T + bias, y) + reg * penalty(name, w, 0.4)

    report = gradcheck.check(total, W, b, names=["W", "b"])
    assert report.passed, str(report)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("name", NAMES)
def test_regularized_kernel_gradient_matches_centered_differences(loss, name):
    X, y, W, b = regularized_problem(seed=1)
    reg = 0.3

    def total(w):
        return LOSSES[loss].kernel(X @ w.T + b, y)[0] + reg * penalty_and_grad(name, w, 0.4)[0]

    _, dscores = LOSSES[loss].kernel(X @ W.T + b, y)
    dW = dscores.T @ X + reg * penalty_and_grad(name, W, 0.4)[1]
    numerical = gradcheck.numerical_gradient(total, W.copy())
    errors = gradcheck.relative_error(dW, numerical)
    assert np.all((errors < gradcheck.GOOD) | (np.abs(dW - numerical) < 1e-9)), errors.max()


def test_penalty_names():
    assert set(PENALTY_CHOICES) == {"l1", "l2", "elasticnet", None}
    assert all(item.name == name for name, item in PENALTIES.items())


@pytest.mark.parametrize("call, message", [
    (lambda: penalty_and_grad("l3", np.ones(2)),
     r"penalty='l3' is not valid: expected one of 'l2', 'l1', 'elasticnet', None"),
    (lambda: penalty(" L2", lc.tensor([1.0])), "penalty=' L2' is not valid"),
    (lambda: penalty_and_grad("elasticnet", np.ones(2), l1_ratio=1.5),
     r"l1_ratio=1\.5 is not valid: expected a number in \[0, 1\] \(the L1 share"),
    (lambda: elastic_net(lc.tensor([1.0]), l1_ratio=-0.1),
     r"l1_ratio=-0\.1 is not valid: expected a number in \[0, 1\] \(the L1 share"),
])
def test_bad_arguments_are_refused_with_one_line(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)
