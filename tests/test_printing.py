"""``repr`` of tensors against PyTorch's: one column width, scientific notation, whole numbers, summaries."""

from __future__ import annotations

import numpy as np
import pytest

import linclass as lc

RNG = np.random.default_rng(0)
CASES = {
    "lecture": np.float32(-20.0),
    "small and large": np.array([1e-5, 1e5], np.float32),
    "whole numbers": np.array([1.0, 10.0, 100.0], np.float32),
    "mixed widths": np.array([[1.5, -2.25], [100.125, 3.0]], np.float32),
    "nan and inf": np.array([np.nan, 1.0, np.inf, -np.inf], np.float32),
    "zeros": np.zeros((2, 3), np.float32),
    "tiny": np.float32(1e-8),
    "huge whole": np.float32(123456789.0),
    "integers": np.array([1, -200, 3]),
    "bools": np.array([True, False]),
    "float64": np.array([0.1, 0.2]),
    "int32": np.array([[1, 2], [3, 4]], np.int32),
    "empty": np.zeros(0, np.float32),
    "empty matrix": np.zeros((2, 0), np.float32),
    "empty ints": np.zeros((0,), np.int64),
    "long row wraps": RNG.standard_normal(40).astype(np.float32),
    "summarised vector": np.arange(2000, dtype=np.float32),
    "summarised matrix": RNG.standard_normal((50, 40)).astype(np.float32),
    "summarised 3-d": RNG.standard_normal((12, 10, 10)).astype(np.float32) * 1000,
    "normal matrix": RNG.standard_normal((4, 5)).astype(np.float32),
    "wide range": np.array([0.001, 12.5, -3000.0], np.float32),
    "negative zero and whole": np.array([-0.0, 2.0, -3.0], np.float32),
    "3-d": RNG.standard_normal((2, 2, 3)).astype(np.float32),
}


@pytest.mark.parametrize("name", CASES)
def test_repr_matches_pytorch(torch_float32, name):
    values = CASES[name]
    ours = repr(lc.tensor(values))
    theirs = repr(torch_float32.tensor(values)).replace("torch.", "")
    assert ours == theirs


@pytest.mark.parametrize("name", ["lecture", "normal matrix", "summarised matrix"])
def test_the_grad_fn_and_requires_grad_follow_as_in_pytorch(torch_float32, name):
    values = CASES[name]
    leaf, torch_leaf = lc.tensor(values, requires_grad=True), torch_float32.tensor(values, requires_grad=True)
    assert repr(leaf) == repr(torch_leaf)
    assert repr(leaf * 2) == repr(torch_leaf * 2)
