"""Numerical gradients, relative error and the checks built on them, against hand-worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

import linclass as lc
from linclass import gradcheck
from linclass.tensor import record


def squares(x: np.ndarray) -> float:
    return float((x ** 2).sum())


def wrong_square(x: lc.Tensor) -> lc.Tensor:
    """x² whose backward forgets the factor 2: the bug a gradient check must catch."""
    return record(x.data ** 2, (x,), lambda g, needs: (g * x.data,), "WrongSquareBackward0")


def test_centered_differences_are_exact_for_a_quadratic(rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(gradcheck.numerical_gradient(squares, x), 2 * x, rtol=1e-8, atol=1e-9)


def test_forward_differences_are_off_by_h_for_a_quadratic(rng):
    """((x + h)² - x²) / h = 2x + h: the O(h) error of the lecture's formula."""
    x = rng.standard_normal(5)
    h = 1e-3
    numerical = gradcheck.numerical_gradient(squares, x, h=h, method="forward")
    np.testing.assert_allclose(numerical, 2 * x + h, rtol=1e-6)


def test_each_probe_changes_one_element_and_restores_it(rng):
    x = rng.standard_normal((2, 3))
    original = x.copy()
    seen = []

    def f(array):
        seen.append(int(np.sum(array != original)))
        return float(array.sum())

    gradcheck.numerical_gradient(f, x)
    assert seen == [1] * (2 * x.size)
    np.testing.assert_array_equal(x, original)

    def broken(array):
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        gradcheck.numerical_gradient(broken, x)
    np.testing.assert_array_equal(x, original)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="backward"):
        gradcheck.numerical_gradient(squares, np.zeros(2), method="backward")


def test_relative_error():
    np.testing.assert_allclose(gradcheck.relative_error(1.0, 1.1), 0.1 / 1.1)
    np.testing.assert_allclose(gradcheck.relative_error([2.0, -1.0], [1.0, 1.0]), [0.5, 2.0])
    assert gradcheck.relative_error(0.0, 0.0) == 0.0  # both zero: they agree
    assert gradcheck.relative_error(0.0, 1e-3) == 1.0
    assert gradcheck.relative_error(3.0, 5.0) == gradcheck.relative_error(5.0, 3.0)


@pytest.mark.parametrize("error, verdict", [(0.5, "wrong"), (1e-3, "suspicious"), (1e-5, "acceptable"),
                                            (1e-9, "good"), (math.nan, "wrong")])
def test_judge_follows_cs231n(error, verdict):
    assert gradcheck.judge(error) == verdict


def test_check_passes_a_right_gradient(rng):
    W = rng.standard_normal((3, 4))
    X = rng.standard_normal((5, 4))
    labels = rng.integers(0, 3, 5)

    def loss(W, X, labels):
        scores = X @ W.T
        return -(scores.log_softmax(dim=1)[lc.arange(5), labels]).mean()

    report = gradcheck.check(loss, lc.tensor(W.astype(np.float32)), X, labels, names=["W", "X", "labels"])
    assert report.passed and report.max_error < 1e-7
    assert [item.name for item in report.inputs] == ["W", "X"]  # integer labels are not differentiated
    assert report.inputs[0].checked == 12 and "passed" in str(report)


def test_check_catches_a_wrong_gradient_and_names_the_element(rng):
    x = rng.uniform(1.0, 2.0, (2, 3))
    report = gradcheck.check(lambda t: wrong_square(t).sum(), x)
    assert not report.passed
    assert report.max_error == pytest.approx(0.5, rel=1e-6)  # 2x against x
    item = report.inputs[0]
    assert item.worst_index == (0, 0)  # every element is equally wrong: the first one is reported
    assert item.numerical == pytest.approx(2 * item.analytic, rel=1e-6)
    assert "FAILED" in str(report) and "wrong" in str(report)


def test_check_of_a_non_scalar_output_and_forward_method(rng):
    x = rng.standard_normal((3, 4))
    assert gradcheck.check(lambda t: t.tanh() * 2, x).passed
    report = gradcheck.check(lambda t: t.exp(), x, method="forward")
    assert report.threshold == gradcheck.ACCEPTABLE_AT_KINKS
    assert report.passed and 1e-9 < report.max_error < 1e-4  # the O(h) error shows


def test_a_tiny_gradient_element_is_held_to_the_largest_gradients_scale(rng):
    x = rng.uniform(1.0, 2.0, 4)
    scales = np.array([1.0, 1e-5, 1.0, 1.0])  # one element's gradient is 1e-5 of the others'

    def cubes(t):
        return (t ** 3 * scales).sum()

    for method in gradcheck.METHODS:  # its relative error is the difference quotient's own error
        assert gradcheck.check(cubes, x, method=method).passed, method

    def wrong_at_the_tiny_element(t):
        analytic = 3 * t.data ** 2 * scales * np.array([1.0, 2.0, 1.0, 1.0])
        return record((t.data ** 3 * scales).sum(), (t,), lambda g, needs: (g * analytic,), "WrongBackward0")

    report = gradcheck.check(wrong_at_the_tiny_element, x)
    assert not report.passed and report.inputs[0].worst_index == (1,)


def test_the_default_tolerance_grows_with_the_round_off_of_f(rng):
    assert gradcheck.default_atol("centered", 1e-6, 1.0) == gradcheck.CENTERED_ATOL
    assert gradcheck.default_atol("centered", 1e-6, 1e4) == pytest.approx(4 * np.finfo(float).eps * 1e4 / 1e-6)
    assert gradcheck.default_atol("forward", 1e-6, 1.0) == pytest.approx(gradcheck.CENTERED_ATOL + 1e-5)
    x = rng.uniform(1.0, 2.0, 5)
    big = gradcheck.check(lambda t: (t ** 2).sum() + 1e6, x)  # the offset adds round-off, not gradient
    assert big.passed and big.atol > 1e-7


@pytest.mark.parametrize("seed", range(0, 60, 7))
def test_linclass_gradcheck_passes_at_other_seeds(seed):
    from linclass.cli.gradcheck import classifier_cases
    rows = gradcheck.check_engine(seed=seed) + gradcheck.check_engine(seed=seed, cases=classifier_cases(seed))
    assert all(row.passed for row in rows), [row for row in rows if not row.passed]


def test_sparse_check(rng):
    x = 0.01 * rng.standard_normal((200, 300))  # f stays small, so its round-off does too
    right = gradcheck.sparse_check(squares, x, 2 * x, num_checks=10)
    assert right.passed and right.inputs[0].checked == 10
    wrong = gradcheck.sparse_check(squares, x, 2.02 * x, num_checks=10)
    assert not wrong.passed and wrong.max_error == pytest.approx(0.02 / 2.02, rel=1e-4)
    again = gradcheck.sparse_check(squares, x, 2.02 * x, num_checks=10)
    assert again.inputs[0].worst_index == wrong.inputs[0].worst_index  # seeded


def test_every_engine_operation_passes():
    rows = gradcheck.check_engine(seed=0)
    assert len(rows) == len(gradcheck.engine_cases())
    assert all(row.passed for row in rows), [row for row in rows if not row.passed]
    assert max(row.centered for row in rows) < gradcheck.GOOD
    assert max(row.forward for row in rows) > 10 * max(row.centered for row in rows)  # O(h) against O(h²)


def test_check_engine_reports_a_wrong_operation(rng):
    rows = gradcheck.check_engine(cases={"wrong square": (wrong_square, [rng.uniform(1, 2, 3)])})
    assert not rows[0].passed and rows[0].centered == pytest.approx(0.5, rel=1e-6)
