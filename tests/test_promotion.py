"""Result dtypes against PyTorch's type promotion: categories, 0-d tensors and Python numbers are weak."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import linclass as lc

DTYPES = [np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64]
OPERATIONS = {"+": lambda a, b: a + b, "*": lambda a, b: a * b, "/": lambda a, b: a / b, "-": lambda a, b: a - b}


def operand(m, dtype, zero_d):
    values = np.array(1 if zero_d else [1, 2], dtype=dtype)
    return m.tensor(values) if m is lc else m.from_numpy(values)


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("a_zero_d, b_zero_d", [(False, False), (False, True), (True, False), (True, True)])
def test_tensor_with_tensor_gives_torchs_dtype(torch_float32, op, a_zero_d, b_zero_d):
    for dtype_a, dtype_b in itertools.product(DTYPES, DTYPES):
        if op == "-" and np.dtype(dtype_a) == np.bool_ and np.dtype(dtype_b) == np.bool_:
            continue  # PyTorch refuses bool - bool
        try:
            expected = OPERATIONS[op](operand(torch_float32, dtype_a, a_zero_d),
                                      operand(torch_float32, dtype_b, b_zero_d)).numpy()
        except RuntimeError:
            continue
        ours = OPERATIONS[op](operand(lc, dtype_a, a_zero_d), operand(lc, dtype_b, b_zero_d)).data
        assert ours.dtype == expected.dtype, (np.dtype(dtype_a).name, op, np.dtype(dtype_b).name)
        np.testing.assert_allclose(ours, expected)


@pytest.mark.parametrize("number", [2, 2.5, True])
@pytest.mark.parametrize("op", OPERATIONS)
def test_tensor_with_a_python_number_gives_torchs_dtype(torch_float32, number, op):
    for dtype, zero_d in itertools.product(DTYPES, (False, True)):
        try:
            expected = OPERATIONS[op](operand(torch_float32, dtype, zero_d), number).numpy()
        except RuntimeError:
            continue
        ours = OPERATIONS[op](operand(lc, dtype, zero_d), number).data
        assert ours.dtype == expected.dtype, (np.dtype(dtype).name, op, number)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "abs", "relu"])
def test_elementwise_functions_of_integers_give_torchs_dtype(torch_float32, name):
    for dtype in (np.int64, np.int32, np.bool_, np.uint8):
        if name in ("relu", "abs") and dtype == np.bool_:
            continue  # PyTorch has neither for bools
        values = np.array([1, 2], dtype=dtype) if dtype != np.bool_ else np.array([True, False])
        expected = getattr(torch_float32.from_numpy(values), name)().numpy()
        ours = getattr(lc.tensor(values), name)().data
        assert ours.dtype == expected.dtype, (name, np.dtype(dtype).name)
        np.testing.assert_allclose(ours, expected, rtol=1e-6)


def test_the_issue_examples():
    assert (lc.tensor([1.0, 2.0]) + lc.tensor(1.0, dtype=np.float64)).dtype == np.float32
    assert lc.tensor([1, 2]).exp().dtype == np.float32
    assert lc.tensor([1, 2]).sum().dtype == np.int64 and lc.tensor([True, True]).sum().item() == 2
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype.*Got: Long"):
        lc.tensor([1, 2]).mean()
