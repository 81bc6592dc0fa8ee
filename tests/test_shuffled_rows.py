"""The shuffled copy written by the first epoch: batches read the same rows whether or not it is complete."""

import numpy as np
import pytest

import linclass as lc
from linclass.shuffled_rows import ShuffledRows


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 12)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)


def test_writing_every_batch_once_makes_the_copy_of_the_rows_in_the_order(data):
    X, y = data
    order = np.random.default_rng(1).permutation(len(X))
    rows = ShuffledRows(X, y, order, batch_size=64)
    copy, y_copy, writer = rows.for_epoch()
    assert writer is rows and not rows.copied
    for start in np.random.default_rng(2).permutation(np.arange(0, len(X), 64)):
        batch = writer.write(start, min(start + 64, len(X)))
        np.testing.assert_array_equal(copy[batch.start:batch.stop], X[order[batch.start:batch.stop]])
    assert rows.copied and rows.for_epoch()[2] is None
    np.testing.assert_array_equal(copy, X[order])
    np.testing.assert_array_equal(y_copy, y[order])


def test_a_batch_written_twice_is_gathered_once(data, monkeypatch):
    X, y = data
    rows = ShuffledRows(X, y, np.arange(len(X))[::-1].copy(), batch_size=100)
    gathered = []
    original_take = np.take
    monkeypatch.setattr(np, "take", lambda *args, **kw: gathered.append(1) or original_take(*args, **kw))
    rows.write(0, 100)
    rows.write(0, 100)
    assert len(gathered) == 1 and not rows.copied


def test_without_a_copy_batches_gather_through_the_order(data):
    X, y = data
    rows = ShuffledRows(X, y, np.arange(len(X))[::-1].copy(), batch_size=64, copy=False)
    X_epoch, y_epoch, order = rows.for_epoch()
    assert X_epoch is X and y_epoch is y and order[0] == len(X) - 1 and not rows.copied


def fit_with(monkeypatch, X, y, gather_only: bool = False, **parameters):
    """A fit whose later epochs read the copy the first one wrote, or (``gather_only``) that gathers throughout."""
    with monkeypatch.context() as patch:
        if gather_only:
            patch.setattr(ShuffledRows, "__init__", _without_copy(ShuffledRows.__init__))
        return lc.LinearClassifier(**parameters).fit(X, y)


def _without_copy(original_init):
    def init(self, *args, copy=True, **options):
        original_init(self, *args, copy=False, **options)
    return init


@pytest.mark.parametrize("early_stopping", [False, True])
def test_weights_are_the_same_bit_for_bit_with_or_without_the_copy(data, monkeypatch, early_stopping):
    X, y = data
    parameters = dict(epochs=4, batch_size=64, seed=3, early_stopping=early_stopping, patience=2, solver="fused")
    copied = fit_with(monkeypatch, X, y, **parameters)
    gathered = fit_with(monkeypatch, X, y, gather_only=True, **parameters)
    np.testing.assert_array_equal(copied.W_, gathered.W_)
    np.testing.assert_array_equal(copied.b_, gathered.b_)
    assert copied.history_["loss"] == gathered.history_["loss"]


@pytest.fixture
def made(monkeypatch):
    """Every ShuffledRows made during a test."""
    instances = []
    original_init = ShuffledRows.__init__

    def remember(self, *args, **options):
        original_init(self, *args, **options)
        instances.append(self)

    monkeypatch.setattr(ShuffledRows, "__init__", remember)
    return instances


def test_a_single_epoch_makes_no_copy_and_a_longer_fit_completes_it_in_its_first_epoch(data, monkeypatch, made):
    X, y = data
    lc.LinearClassifier(epochs=1, solver="fused").fit(X, y)
    lc.LinearClassifier(epochs=2, solver="fused").fit(X, y)
    assert [(rows._copy is not None, rows.copied) for rows in made] == [(False, False), (True, True)]


def test_an_epoch_cut_short_leaves_the_copy_to_be_completed_by_the_next(data):
    X, y = data
    clf = lc.LinearClassifier(batch_size=64, solver="fused")
    clf.classes_ = np.unique(y)
    trainer = clf._new_trainer(None, clf._config(), np.random.default_rng(0), None, n_features=X.shape[1])
    rows = ShuffledRows(X, y, np.random.default_rng(1).permutation(len(X)), batch_size=64)
    first = list(trainer._batches(len(X), max_steps=3, order=rows))  # three batches written, by this epoch
    assert len(first) == 3 and not rows.copied
    list(trainer._batches(len(X), max_steps=None, order=rows))
    assert rows.copied
