"""The data losses: kernels, fused ops and composed ops agree with each other, with PyTorch, with finite
differences and with the lecture's per-example code."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import linclass as lc
from linclass import gradcheck
from linclass.losses import (
    LOSSES, crammer_singer_loss_and_grad, get_loss, one_vs_all_loss_and_grad, softmax_loss, softmax_loss_and_grad,
    softmax_loss_composed, squared_hinge_loss_and_grad, svm_loss_and_grad,
)

NAMES = tuple(LOSSES)
KERNELS = {name: loss.kernel for name, loss in LOSSES.items()}
FUSED = {name: loss.fused for name, loss in LOSSES.items()}
COMPOSED = {name: loss.composed for name, loss in LOSSES.items()}
EXAMPLES = settings(derandomize=True, max_examples=40, deadline=None)
# The ``torch`` fixture only sets PyTorch's default dtype, which is the same for every example.
EXAMPLES_WITH_TORCH = settings(EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Integer scores with Δ = 1 give exact zero margins (s_j = s_{y_i} - 1) and tied scores.
TIES = np.array([[1.0, 0.0, 0.0, 2.0],     # y=0: zero margins at j=1, 2 (tied); a positive one at j=3
                 [0.0, 0.0, 0.0, 0.0],     # y=2: every score tied
                 [3.0, 2.0, 2.0, -5.0]])   # y=0: zero margins at j=1, 2; none positive
TIES_LABELS = np.array([0, 2, 0])


def options(name: str, delta: float) -> dict:
    """The keyword arguments of loss ``name``: Δ for the losses whose record takes it."""
    return {"delta": delta} if "delta" in LOSSES[name].options else {}


def tensor_value_and_grad(fn, scores: np.ndarray, y: np.ndarray, **kw) -> tuple[float, np.ndarray]:
    """A Tensor loss's value and d(loss)/d(scores) by backpropagation (in the dtype of ``scores``)."""
    s = lc.tensor(scores, requires_grad=True)
    loss = fn(s, y, **kw)
    loss.backward()
    return loss.item(), s.grad.data


def torch_loss(torch, name: str, s, labels, delta: float):
    """Each loss in PyTorch: its own functions where it has them, else the formula on torch tensors."""
    functional = torch.nn.functional
    k = s.shape[1]
    if name == "svm":
        return k * functional.multi_margin_loss(s, labels, margin=delta)
    if name == "squared_hinge":
        return k * functional.multi_margin_loss(s, labels, p=2, margin=delta)
    if name == "softmax":
        return functional.cross_entropy(s, labels)
    is_correct = functional.one_hot(labels, k).bool()
    if name == "one_vs_all":
        targets = is_correct.to(s.dtype) * 2 - 1
        return (torch.relu(delta - targets * s) ** 2).sum(dim=1).mean()
    if name == "crammer_singer":
        rival = s.masked_fill(is_correct, -torch.inf).max(dim=1).values
        return torch.relu(delta + rival - s.gather(1, labels[:, None])[:, 0]).mean()
    raise AssertionError(f"no PyTorch reference for the loss {name!r}: add one here")


def torch_value_and_grad(torch, name: str, scores: np.ndarray, y: np.ndarray, delta: float = 1.0):
    """PyTorch's value and gradient of loss ``name``."""
    s = torch.tensor(scores, requires_grad=True)
    loss = torch_loss(torch, name, s, torch.tensor(y), delta)
    loss.backward()
    return loss.item(), s.grad.numpy()


@st.composite
def batches(draw, integer_scores: bool | None = None):
    """Scores (N×K float64) and labels; integer-valued scores (ties, exact zero margins) half the time."""
    n = draw(st.integers(1, 8))
    k = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if integer_scores is None:
        integer_scores = draw(st.booleans())
    if integer_scores:
        scores = rng.integers(-2, 3, (n, k)).astype(np.float64)
    else:
        scores = rng.standard_normal((n, k)) * draw(st.sampled_from([0.1, 1.0, 10.0]))
    return scores, rng.integers(0, k, n)


def hinge_margins(scores: np.ndarray, y: np.ndarray, delta: float) -> np.ndarray:
    """s_j - s_{y_i} + Δ for the wrong classes (NaN at the true class)."""
    margins = scores - scores[np.arange(len(y)), y][:, None] + delta
    margins[np.arange(len(y)), y] = np.nan
    return margins


# -- the lecture's own per-example code, as the reference for the vectorized kernels -----------------


def lecture_svm_loss_i(f: np.ndarray, y_i: int, delta: float) -> float:
    margins = np.maximum(0, f - f[y_i] + delta)
    margins[y_i] = 0  # ignore true class
    return float(np.sum(margins))


def lecture_squared_hinge_loss_i(f: np.ndarray, y_i: int, delta: float) -> float:
    margins = np.maximum(0, f - f[y_i] + delta)
    margins[y_i] = 0
    return float(np.sum(margins ** 2))


def lecture_softmax_loss_i(f: np.ndarray, y_i: int) -> float:
    f = f - np.max(f)  # avoid potential blowup
    p = np.exp(f) / np.sum(np.exp(f))
    return float(-np.log(p[y_i]))


def one_vs_all_loss_i(f: np.ndarray, y_i: int, delta: float) -> float:
    """K binary problems: class j's label is +1 for the correct class, -1 for the rest (Tang 2013)."""
    total = 0.0
    for j, score in enumerate(f):
        label = 1.0 if j == y_i else -1.0
        total += max(0.0, delta - label * score) ** 2
    return total


def crammer_singer_loss_i(f: np.ndarray, y_i: int, delta: float) -> float:
    """The correct score against its strongest rival only."""
    rival = max(score for j, score in enumerate(f) if j != y_i)
    return max(0.0, delta + rival - f[y_i])


@EXAMPLES
@given(batch=batches(), delta=st.sampled_from([0.0, 0.5, 1.0, 2.0]))
def test_kernel_values_equal_the_lectures_per_example_code(batch, delta):
    scores, y = batch
    svm = np.mean([lecture_svm_loss_i(f, c, delta) for f, c in zip(scores, y, strict=True)])
    squared = np.mean([lecture_squared_hinge_loss_i(f, c, delta) for f, c in zip(scores, y, strict=True)])
    softmax = np.mean([lecture_softmax_loss_i(f, c) for f, c in zip(scores, y, strict=True)])
    one_vs_all = np.mean([one_vs_all_loss_i(f, c, delta) for f, c in zip(scores, y, strict=True)])
    crammer_singer = np.mean([crammer_singer_loss_i(f, c, delta) for f, c in zip(scores, y, strict=True)])
    assert one_vs_all_loss_and_grad(scores, y, delta)[0] == pytest.approx(one_vs_all, rel=1e-12, abs=1e-12)
    assert crammer_singer_loss_and_grad(scores, y, delta)[0] == pytest.approx(crammer_singer, rel=1e-12, abs=1e-12)
    assert svm_loss_and_grad(scores, y, delta)[0] == pytest.approx(svm, rel=1e-12, abs=1e-12)
    assert squared_hinge_loss_and_grad(scores, y, delta)[0] == pytest.approx(squared, rel=1e-12, abs=1e-12)
    assert softmax_loss_and_grad(scores, y)[0] == pytest.approx(softmax, rel=1e-12, abs=1e-12)


def test_hinge_loss_of_the_cs231n_worked_example():
    # cat, car and frog images scored for (cat, car, frog); CS231n's L_i = 2.9, 0 and 12.9.
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    loss, dscores = svm_loss_and_grad(scores, y)
    assert loss == pytest.approx((2.9 + 0 + 12.9) / 3, rel=1e-12)
    # cat: only car's margin is positive; car: none; frog: both cat's and car's are.
    expected = np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3
    np.testing.assert_array_equal(dscores, expected)


def test_crammer_singer_loss_of_the_cs231n_worked_example():
    # Only the strongest rival counts: cat 1 + 5.1 - 3.2 = 2.9, car met (1 + 2.0 - 4.9 < 0), frog 1 + 2.5 + 3.1.
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    loss, dscores = crammer_singer_loss_and_grad(scores, np.array([0, 1, 2]))
    assert loss == pytest.approx((2.9 + 0 + 6.6) / 3, rel=1e-12)
    np.testing.assert_array_equal(dscores, np.array([[-1, 1, 0], [0, 0, 0], [0, 1, -1]]) / 3)


def test_one_vs_all_loss_of_the_cs231n_worked_example():
    # Each class a binary problem with margin 1: cat (1 + 5.1)²; car (1 + 1.3)² + (1 + 2.0)²;
    # frog (1 + 2.2)² + (1 + 2.5)², and its own score -3.1 misses the margin by 1 + 3.1.
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    loss, dscores = one_vs_all_loss_and_grad(scores, np.array([0, 1, 2]))
    assert loss == pytest.approx((6.1**2 + 2.3**2 + 3.0**2 + 3.2**2 + 3.5**2 + 4.1**2) / 3, rel=1e-12)
    expected = np.array([[0, 2 * 6.1, 0], [2 * 2.3, 0, 2 * 3.0], [2 * 3.2, 2 * 3.5, -2 * 4.1]]) / 3
    np.testing.assert_allclose(dscores, expected, rtol=1e-12)


def test_softmax_loss_of_the_cs231n_worked_example():
    # The cat image: p(cat) = e^3.2 / (e^3.2 + e^5.1 + e^-1.7) ≈ 0.13, L = -ln 0.13 ≈ 2.04.
    loss, _ = softmax_loss_and_grad(np.array([[3.2, 5.1, -1.7]]), np.array([0]))
    assert loss == pytest.approx(2.04, abs=0.005)


# -- the two Tensor forms agree, with each other and with PyTorch --------------------------------------


@EXAMPLES
@given(batch=batches(), delta=st.sampled_from([0.0, 1.0, 2.5]))
@pytest.mark.parametrize("name", NAMES)
def test_composed_and_fused_agree_in_value_and_gradient(name, batch, delta):
    scores, y = batch
    fused = tensor_value_and_grad(FUSED[name], scores, y, **options(name, delta))
    composed = tensor_value_and_grad(COMPOSED[name], scores, y, **options(name, delta))
    assert fused[0] == pytest.approx(composed[0], rel=1e-10, abs=1e-10)
    np.testing.assert_allclose(fused[1], composed[1], rtol=1e-10, atol=1e-10)


@EXAMPLES_WITH_TORCH
@given(batch=batches(), delta=st.sampled_from([0.0, 1.0, 2.5]))
@pytest.mark.parametrize("name", NAMES)
def test_fused_loss_matches_pytorch(torch, name, batch, delta):
    scores, y = batch
    ours = tensor_value_and_grad(FUSED[name], scores, y, **options(name, delta))
    theirs = torch_value_and_grad(torch, name, scores, y, delta)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-10, abs=1e-10)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-10)


def test_the_tie_batch_holds_exact_zero_margins_and_ties():
    margins = hinge_margins(TIES, TIES_LABELS, 1.0)
    assert np.sum(margins == 0) == 4
    assert TIES[0, 1] == TIES[0, 2] and np.all(TIES[1] == 0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("delta", [1.0, 0.0])
def test_at_exact_kinks_all_forms_take_the_same_subgradient(torch, name, delta):
    kernel = KERNELS[name](TIES, TIES_LABELS, **options(name, delta))
    fused = tensor_value_and_grad(FUSED[name], TIES, TIES_LABELS, **options(name, delta))
    composed = tensor_value_and_grad(COMPOSED[name], TIES, TIES_LABELS, **options(name, delta))
    theirs = torch_value_and_grad(torch, name, TIES, TIES_LABELS, delta)
    for value, grad in (fused, composed, theirs):
        assert kernel[0] == pytest.approx(value, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(kernel[1], grad, rtol=1e-12, atol=1e-12)


def test_zero_margins_count_for_nothing_in_the_hinge_gradient():
    _, dscores = svm_loss_and_grad(TIES, TIES_LABELS, delta=1.0)
    # Only positive margins count: row 0 has one (j=3), row 1 three (every wrong class), row 2 none.
    expected = np.array([[-1, 0, 0, 1], [1, 1, -3, 1], [0, 0, 0, 0]]) / 3
    np.testing.assert_array_equal(dscores, expected)
    _, dscores = svm_loss_and_grad(TIES, TIES_LABELS, delta=0.0)  # the ties of row 1 are now kinks
    np.testing.assert_array_equal(dscores[1], np.zeros(4))


# -- finite differences away from the kinks ---------------------------------------------------------------


def smooth_batch(seed: int = 0, n: int = 6, k: int = 5, delta: float = 1.0):
    """Random scores whose hinge margins all lie at least 0.01 away from the kink."""
    rng = np.random.default_rng(seed)
    scores, y = rng.standard_normal((n, k)) * 2, rng.integers(0, k, n)
    assert np.nanmin(np.abs(hinge_margins(scores, y, delta))) > 0.01
    return scores, y


@pytest.mark.parametrize("form", ["fused", "composed"])
@pytest.mark.parametrize("name", NAMES)
def test_tensor_losses_pass_a_centered_gradient_check(name, form):
    scores, y = smooth_batch()
    fn = (FUSED if form == "fused" else COMPOSED)[name]
    report = gradcheck.check(lambda s: fn(s, y), scores)
    assert report.passed, str(report)  # relative error < 1e-7 (or |difference| < 1e-9) everywhere


@pytest.mark.parametrize("name", NAMES)
def test_kernel_gradients_match_centered_differences(name):
    scores, y = smooth_batch(seed=1, delta=1.5)
    kernel = KERNELS[name]
    _, dscores = kernel(scores, y, **options(name, 1.5))
    numerical = gradcheck.numerical_gradient(lambda s: kernel(s, y, **options(name, 1.5))[0], scores.copy())
    errors = gradcheck.relative_error(dscores, numerical)
    assert np.all((errors < gradcheck.GOOD) | (np.abs(dscores - numerical) < 1e-10)), errors.max()


# -- numerical behaviour -----------------------------------------------------------------------------------------


def test_softmax_loss_stays_finite_and_correct_for_scores_near_1000(torch):
    scores = np.array([[1000.0, -1000.0, 0.0],
                       [-1000.0, -1000.0, -1000.0],
                       [1000.0, 999.0, 998.0]])
    y = np.array([1, 0, 2])
    expected = (2000.0 + np.log(3) + 2 + np.log(1 + np.exp(-1) + np.exp(-2))) / 3
    theirs = torch_value_and_grad(torch, "softmax", scores, y)
    for fn in (softmax_loss, softmax_loss_composed):
        value, grad = tensor_value_and_grad(fn, scores, y)
        assert value == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(grad, theirs[1], rtol=1e-10, atol=1e-12)
    value32, grad32 = softmax_loss_and_grad(scores.astype(np.float32), y)
    assert np.isfinite(value32) and np.all(np.isfinite(grad32))
    assert value32 == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_float32_scores_give_float32_gradients(name):
    scores, y = smooth_batch(seed=2)
    kw = options(name, 1.0)
    loss64, grad64 = KERNELS[name](scores, y, **kw)
    loss32, grad32 = KERNELS[name](scores.astype(np.float32), y, **kw)
    assert grad32.dtype == np.float32
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(grad32, grad64, rtol=1e-4, atol=1e-6)
    for fn in (FUSED[name], COMPOSED[name]):
        s = lc.tensor(scores.astype(np.float32), requires_grad=True)
        loss = fn(s, y, **kw)
        loss.backward()
        assert loss.dtype == np.float32 and s.grad.dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
def test_fused_loss_is_one_graph_node_over_the_scores(name):
    scores = lc.tensor(TIES, requires_grad=True)
    loss = FUSED[name](scores, TIES_LABELS)
    assert loss.shape == ()
    assert len(loss.grad_fn.edges) == 1 and loss.grad_fn.edges[0] is scores
    with lc.no_grad():
        assert FUSED[name](scores, TIES_LABELS).grad_fn is None


def test_the_registry_holds_each_loss_under_its_own_name():
    assert all(loss.name == name for name, loss in LOSSES.items())
    assert LOSSES["svm"].fused is lc.svm_loss and LOSSES["softmax"].kernel is softmax_loss_and_grad
    assert [name for name, loss in LOSSES.items() if loss.probabilities] == ["softmax"]
    assert get_loss("crammer_singer") is LOSSES["crammer_singer"]
    with pytest.raises(ValueError, match=r"loss='hinge' is not valid: expected one of 'softmax', 'svm'"):
        get_loss("hinge")


@pytest.mark.parametrize("scores, y, message", [
    (np.zeros((2, 3)), np.array([0, 3]), r"labels from 0 to 3; with 3 classes they must lie in 0\.\.2"),
    (np.zeros((2, 3)), np.array([0, -1]), "must lie in 0..2"),
    (np.zeros((2, 3)), np.array([0, 1, 2]), r"y must be 2 integer class labels.*shape \(3,\)"),
    (np.zeros((2, 3)), np.array([0.0, 1.0]), "dtype float64"),
    (np.zeros(3), np.array([0]), r"scores must be a 2-D float array.*shape \(3,\)"),
    (np.zeros((2, 3), dtype=np.int64), np.array([0, 1]), "dtype int64"),
    (np.zeros((0, 3)), np.array([], dtype=np.int64), "N >= 1"),
])
@pytest.mark.parametrize("name", NAMES)
def test_bad_batches_are_refused_with_one_line(name, scores, y, message):
    with pytest.raises(ValueError, match=message) as error:
        KERNELS[name](scores, y)
    assert "\n" not in str(error.value)
