"""Preprocessing against scikit-learn's scalers and the lecture's formulas computed in float64."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from linclass.data import Preprocessor


@pytest.fixture
def images(rng):
    train = rng.integers(0, 256, (200, 5, 4), dtype=np.uint8)
    train[:, 0, 0] = 17  # a pixel that never changes in training: zero standard deviation
    test = rng.integers(0, 256, (30, 5, 4), dtype=np.uint8)
    return train, test


def test_scale_and_mean_image_subtraction(images):
    train, test = images
    pre = Preprocessor(scale=True, center="mean").fit(train)
    out = pre.transform(test)
    mean_image = train.reshape(200, -1).astype(np.float64).mean(axis=0) / 255
    expected = test.reshape(30, -1) / 255 - mean_image  # the training mean, not the test mean
    assert out.dtype == np.float32 and out.shape == (30, 20)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    np.testing.assert_allclose(pre.mean_image, mean_image.reshape(5, 4), atol=1e-7)


def test_standardize_matches_scikit_learn_including_a_constant_feature(images):
    train, test = images
    pre = Preprocessor(center="standardize").fit(train)
    scaler = StandardScaler().fit(train.reshape(200, -1) / 255)
    np.testing.assert_allclose(pre.transform(test), scaler.transform(test.reshape(30, -1) / 255), atol=1e-5)
    assert np.all(pre.transform(train)[:, 0] == 0)


def test_no_scaling_no_centering_is_plain_flattening(images):
    train, test = images
    out = Preprocessor(scale=False, center="none").fit(train).transform(test)
    np.testing.assert_array_equal(out, test.reshape(30, -1).astype(np.float32))


def test_float_inputs_are_scaled_by_the_training_range(rng):
    train = rng.uniform(-3, 5, (50, 6))
    pre = Preprocessor(center="none").fit(train)
    np.testing.assert_allclose(pre.transform(train), (train - train.min()) / (train.max() - train.min()), atol=1e-6)


def test_bias_trick_appends_a_column_of_ones(images):
    train, test = images
    plain = Preprocessor().fit(train).transform(test)
    with_bias = Preprocessor(bias_trick=True).fit(train).transform(test)
    assert with_bias.shape == (30, 21)
    np.testing.assert_array_equal(with_bias[:, :20], plain)
    np.testing.assert_array_equal(with_bias[:, 20], np.ones(30, dtype=np.float32))


def test_flat_rows_are_accepted_and_other_shapes_refused(images):
    train, test = images
    pre = Preprocessor().fit(train)
    np.testing.assert_array_equal(pre.transform(test.reshape(30, 20)), pre.transform(test))
    with pytest.raises(ValueError, match=r"examples of shape \(4, 5\), but this Preprocessor was fitted on \(5, 4\)"):
        pre.transform(test.reshape(30, 4, 5))


def test_transform_before_fit_is_refused(images):
    with pytest.raises(ValueError, match=r"not fitted yet; call fit\(X_train\) first"):
        Preprocessor().transform(images[1])


def test_unknown_center_is_refused():
    with pytest.raises(ValueError, match=r"center='median': expected one of mean, standardize, none"):
        Preprocessor(center="median")


@pytest.mark.parametrize("center", ["mean", "standardize", "none"])
def test_state_dict_survives_json_and_gives_the_same_transform(images, center):
    train, test = images
    pre = Preprocessor(center=center, bias_trick=True).fit(train)
    state = pre.state_dict()
    as_json = json.loads(json.dumps({key: value.tolist() if isinstance(value, np.ndarray) else value
                                     for key, value in state.items()}))
    restored = Preprocessor.from_state_dict(as_json)
    np.testing.assert_array_equal(restored.transform(test), pre.transform(test))
    assert restored.input_shape == (5, 4) and restored.center == center and restored.bias_trick


def test_state_dict_with_a_wrong_mean_is_refused(images):
    state = Preprocessor().fit(images[0]).state_dict()
    state["mean"] = state["mean"][:-1]
    with pytest.raises(ValueError, match=r"'mean' has 19 values, expected 20"):
        Preprocessor.from_state_dict(state)


def test_an_unfitted_state_dict_round_trips():
    restored = Preprocessor.from_state_dict(Preprocessor(center="none").state_dict())
    assert restored.input_shape is None and restored.center == "none"
