"""Seeded, stratified training/validation splits."""

from __future__ import annotations

import numpy as np
import pytest

from linclass.data import split_indices, train_val_split
from linclass.data.splits import holdout_indices
from linclass.errors import DataError


@pytest.fixture
def labelled(rng):
    y = np.repeat([0, 1, 2, 3], [500, 300, 150, 50])
    rng.shuffle(y)
    X = np.arange(len(y) * 6).reshape(len(y), 2, 3)
    return X, y


def test_every_example_lands_in_exactly_one_part_with_its_label(labelled):
    X, y = labelled
    X_train, y_train, X_val, y_val = train_val_split(X, y, val_size=0.2, seed=3)
    rows = np.concatenate([X_train, X_val]).reshape(len(X), -1)[:, 0] // 6  # each row's original index
    assert sorted(rows.tolist()) == list(range(len(X)))
    np.testing.assert_array_equal(np.concatenate([y_train, y_val]), y[rows])


def test_each_class_keeps_its_share(labelled):
    X, y = labelled
    _, y_train, _, y_val = train_val_split(X, y, val_size=0.2, seed=0)
    assert np.bincount(y_val).tolist() == [100, 60, 30, 10]  # 20 % of 500, 300, 150, 50
    assert np.bincount(y_train).tolist() == [400, 240, 120, 40]


def test_a_count_is_met_exactly_and_classes_stay_within_one_of_their_share(labelled):
    X, y = labelled
    _, _, _, y_val = train_val_split(X, y, val_size=333, seed=1)
    assert len(y_val) == 333
    share = np.bincount(y) * 333 / len(y)
    assert np.all(np.abs(np.bincount(y_val) - share) < 1)


def test_same_seed_same_split_other_seed_other_split(labelled):
    X, y = labelled
    first = split_indices(y, 0.1, seed=7)[1]
    np.testing.assert_array_equal(first, split_indices(y, 0.1, seed=7)[1])
    assert not np.array_equal(first, split_indices(y, 0.1, seed=8)[1])


def test_a_class_of_one_example_stays_in_the_part_trained_on():
    """A held-out part with a class the training part has none of would make every fit on it fail."""
    y = np.array([0] * 10 + [1] * 10 + list(range(2, 12)))  # ten classes of a single example
    train, val = split_indices(y, 0.2, seed=0)
    assert set(y[train]) == set(y) and set(y[val]) <= {0, 1} and len(val) == 4


def test_string_labels_are_stratified_too():
    y = np.array(["a"] * 8 + ["b"] * 4)
    _, val = split_indices(y, 0.25, seed=0)
    assert sorted(y[val].tolist()) == ["a", "a", "b"]


@pytest.mark.parametrize("val_size, error", [(0.0, ValueError), (1.0, ValueError), (0, ValueError),
                                             (1000, ValueError), ("10%", TypeError), (True, TypeError)])
def test_impossible_sizes_are_refused(labelled, val_size, error):
    X, y = labelled
    with pytest.raises(error, match=r"val_size"):
        train_val_split(X, y, val_size=val_size)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match=r"X has 3 examples but y has 2 labels"):
        train_val_split(np.zeros((3, 2)), np.zeros(2))


def test_the_loaders_holdout_keeps_a_fifth_and_needs_two_examples():
    train, test = holdout_indices(np.arange(10) % 2, "somewhere")
    assert len(test) == 2 and len(train) == 8
    with pytest.raises(DataError, match=r"somewhere: 1 example\(s\); at least two"):
        holdout_indices(np.array([0]), "somewhere")
    with pytest.raises(DataError, match=r"somewhere: no class has more than one of its 5 examples"):
        holdout_indices(np.array([0.3, 1.7, 2.2, 0.9, 4.1]), "somewhere")  # a feature column read as labels
