"""Indexing against PyTorch: every key form NumPy accepts gives PyTorch's values, shapes, gradients
(repeated indices add) and node names; keys come from hypothesis, derandomized."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import linclass as lc

SETTINGS = settings(max_examples=400, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def shapes_and_keys(draw):
    """A shape of 1–4 dimensions and a key for it, mixing every kind of entry."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    parts, dim, ellipsis = [], 0, False
    for _ in range(draw(st.integers(0, len(shape) + 1))):
        kinds = ["int", "slice", "none", "list", "tuple", "array", "tensor", "mask", "bool"]
        if not ellipsis:
            kinds.append("ellipsis")
        kind = draw(st.sampled_from(kinds))
        if dim >= len(shape) and kind not in ("none", "bool", "ellipsis"):
            kind = "none"
        size = shape[dim] if dim < len(shape) else 1
        if kind == "int":
            parts.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            parts.append(slice(draw(st.none() | st.integers(-size - 1, size + 1)),
                               draw(st.none() | st.integers(-size - 1, size + 1)), draw(st.none() | st.integers(1, 3))))
        elif kind == "none":
            parts.append(None)
            continue
        elif kind == "bool":
            parts.append(draw(st.booleans()))
            continue
        elif kind == "ellipsis":
            parts.append(Ellipsis)
            ellipsis = True
            continue
        elif kind == "mask":
            parts.append(np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size))))
        else:  # integer arrays, repeats likely
            picks = draw(st.lists(st.integers(-size, size - 1), min_size=0 if kind == "list" else 1, max_size=4))
            forms = {"list": picks, "tuple": tuple(picks), "array": np.array(picks, dtype=np.int64),
                     "tensor": ("tensor", picks)}
            parts.append(forms[kind])
        dim += 1
    if draw(st.booleans()) and len(parts) == 1:
        return shape, parts[0]
    return shape, tuple(parts)


def as_module_key(m, key):
    """The key with the tensor placeholders made in module ``m`` (and masks as its bool tensors)."""
    def part(p):
        if isinstance(p, tuple) and len(p) == 2 and p[0] == "tensor":
            return m.tensor(np.array(p[1], dtype=np.int64))
        if isinstance(p, np.ndarray) and p.dtype == bool:
            return m.tensor(p)
        return p
    if isinstance(key, tuple) and not (len(key) == 2 and key[0] == "tensor"):
        return tuple(part(p) for p in key)
    return part(key)


def index_both(torch, shape, key):
    values = np.random.default_rng(0).standard_normal(shape)
    results = []
    for m in (lc, torch):
        x = m.tensor(values, requires_grad=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y = x[as_module_key(m, key)]
        except (IndexError, ValueError, RuntimeError, TypeError) as error:
            results.append(type(error))
            continue
        seed = np.random.default_rng(1).standard_normal(tuple(y.shape))
        y.backward(m.tensor(seed))
        name = y.grad_fn.name() if y.grad_fn is not None else None
        results.append((np.asarray(y.detach()), name, np.asarray(x.grad.detach())))
    return results


@SETTINGS
@given(shapes_and_keys())
def test_every_key_gives_torchs_values_shapes_gradients_and_names(torch, shape_and_key):
    shape, key = shape_and_key
    ours, theirs = index_both(torch, shape, key)
    if isinstance(theirs, type) or isinstance(ours, type):
        assert isinstance(ours, type) and isinstance(theirs, type), (key, ours, theirs)
        return
    (value, name, grad), (torch_value, torch_name, torch_grad) = ours, theirs
    assert value.shape == torch_value.shape, key
    np.testing.assert_allclose(value, torch_value)
    np.testing.assert_allclose(grad, torch_grad, err_msg=str(key))
    assert name == torch_name, key


@pytest.mark.parametrize("key", [((0, 0, 1), slice(None)), (slice(None), (1, 1)), [0, 0, 1], (np.array([2, 2]),)])
def test_a_repeated_index_receives_the_sum_of_its_gradients(torch, key):
    (value, name, grad), (_, torch_name, torch_grad) = index_both(torch, (3, 3), key)
    np.testing.assert_allclose(grad, torch_grad)
    assert name == torch_name == "IndexBackward0"


@pytest.mark.parametrize("key, shape", [((0, slice(None), [0, 1]), (3, 2)), ((slice(None), None, 0), (2, 1, 4)),
                                        ([[0, 1], [1, 0]], (2, 4)), ((True, 0), (1, 3, 4))])
def test_where_numpy_and_torch_disagree_the_shape_is_torchs(torch, key, shape):
    (value, _, _), (torch_value, _, _) = index_both(torch, (2, 3, 4), key)
    assert value.shape == torch_value.shape == shape


def test_errors_read_as_torchs():
    x = lc.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 3"):
        x[0, 5]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool"):
        x[[0.5]]


def test_a_basic_index_is_a_view_and_an_array_index_a_copy():
    x = lc.tensor(np.zeros((2, 3)))
    row, picked = x[0], x[[0]]
    x.add_(1)
    assert row.tolist() == [1, 1, 1] and picked.tolist() == [[0, 0, 0]]
