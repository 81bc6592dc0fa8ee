"""The linear score function: the lecture's ``W x + b``, its gradient against PyTorch, templates as images."""

from __future__ import annotations

import numpy as np
import pytest

import linclass as lc
from linclass.model import accuracy, init_weights, predict_indices, scores, templates


def test_scores_of_a_hand_worked_example():
    # CS231n's cat image of 4 pixels and 3 classes (the notes' figure prints 61.95 for the last score,
    # which leaves out that class's bias of -1.2).
    W = np.array([[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0.0, 0.25, 0.2, -0.3]])
    b = np.array([1.1, 3.2, -1.2])
    x = np.array([[56.0, 231.0, 24.0, 2.0]])
    np.testing.assert_allclose(scores(x, W, b), [[-96.8, 437.9, 60.75]])


def test_scores_of_a_batch_are_one_per_row_and_keep_float32(rng):
    X = rng.standard_normal((5, 7)).astype(np.float32)
    W, b = init_weights(3, 7, rng)
    b += rng.standard_normal(3).astype(np.float32)
    result = scores(X, W, b)
    assert result.dtype == np.float32 and result.shape == (5, 3)
    for i in range(5):
        np.testing.assert_allclose(result[i], W @ X[i] + b, rtol=1e-6, atol=1e-7)


def test_scores_of_float64_examples_are_float64_with_float32_weights(rng):
    W, b = init_weights(3, 4, rng)
    assert scores(rng.standard_normal((2, 4)), W, b).dtype == np.float64


def test_scores_on_tensors_backpropagate_as_pytorch(torch, rng):
    X, W, b = rng.standard_normal((6, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    upstream = rng.standard_normal((6, 3))
    W_t, b_t = lc.tensor(W, requires_grad=True), lc.tensor(b, requires_grad=True)
    out = scores(lc.tensor(X), W_t, b_t)
    (out * lc.tensor(upstream)).sum().backward()

    W_ref, b_ref = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    ref = torch.tensor(X) @ W_ref.T + b_ref
    (ref * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(W_t.grad.data, W_ref.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b_t.grad.data, b_ref.grad.numpy(), rtol=1e-12)


def test_scores_accept_an_ndarray_batch_with_tensor_weights(rng):
    W = lc.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = lc.tensor(np.zeros(2), requires_grad=True)
    out = scores(rng.standard_normal((4, 3)), W, b)
    assert isinstance(out, lc.Tensor) and out.requires_grad


def test_initial_weights_are_small_seeded_float32_and_biases_zero():
    W, b = init_weights(10, 3072, rng=7)
    again, _ = init_weights(10, 3072, rng=np.random.default_rng(7))
    assert W.dtype == b.dtype == np.float32 and W.shape == (10, 3072) and b.shape == (10,)
    assert np.array_equal(W, again)
    assert not np.array_equal(W, init_weights(10, 3072, rng=8)[0])
    assert np.all(b == 0)
    assert abs(W.std() - 1e-3) < 5e-5 and abs(W.mean()) < 5e-5


def test_small_initial_weights_give_the_chance_losses():
    # With all scores near 0, softmax gives log K and the hinge (K - 1) Δ, as the CS231n notes say.
    rng = np.random.default_rng(0)
    X = rng.random((200, 50), dtype=np.float32)
    y = rng.integers(0, 10, 200)
    W, b = init_weights(10, 50, rng)
    assert lc.losses.softmax_loss_and_grad(scores(X, W, b), y)[0] == pytest.approx(np.log(10), rel=1e-3)
    assert lc.losses.svm_loss_and_grad(scores(X, W, b), y)[0] == pytest.approx(9.0, rel=1e-2)


def test_predicted_class_is_the_largest_score_first_on_ties():
    class_scores = np.array([[1.0, 3.0, 2.0], [5.0, 5.0, 0.0], [-1.0, -2.0, -0.5]])
    assert predict_indices(class_scores).tolist() == [1, 0, 2]
    assert accuracy(class_scores, np.array([1, 1, 2])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("image_shape", [(4, 5), (3, 4, 3)])
def test_templates_of_weights_made_from_images_are_those_images(rng, image_shape):
    images = rng.standard_normal((3, *image_shape))
    W = images.reshape(3, -1)
    np.testing.assert_array_equal(templates(W, image_shape), images)


def test_templates_drop_the_bias_trick_column(rng):
    images = rng.standard_normal((2, 3, 3))
    W = np.hstack([images.reshape(2, 9), [[7.0], [8.0]]])
    np.testing.assert_array_equal(templates(W, (3, 3)), images)


def test_templates_refuse_weights_of_another_image_size(rng):
    with pytest.raises(ValueError, match=r"W has shape \(2, 11\): expected \(K, 9\) or \(K, 10\)"):
        templates(rng.standard_normal((2, 11)), (3, 3))
