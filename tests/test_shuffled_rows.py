"""The shuffled copy made in the background: batches read the same rows whether or not it is complete."""

import numpy as np
import pytest

import linclass as lc
from linclass import shuffled_rows
from linclass import train as train_module
from linclass.shuffled_rows import ShuffledRows


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 12)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)


def test_the_copy_holds_the_rows_in_the_order(data, monkeypatch):
    X, y = data
    monkeypatch.setattr(shuffled_rows, "BLOCK_ROWS", 64)  # many blocks
    order = np.random.default_rng(1).permutation(len(X))
    rows = ShuffledRows(X, y, order)
    rows._thread.join()
    copy, y_copy, no_order = rows.for_epoch()
    assert no_order is None
    np.testing.assert_array_equal(copy, X[order])
    np.testing.assert_array_equal(y_copy, y[order])
    rows.close()


def test_before_the_copy_is_complete_batches_gather_through_the_order(data, monkeypatch):
    X, y = data
    monkeypatch.setattr(ShuffledRows, "copied", property(lambda self: False))
    rows = ShuffledRows(X, y, np.arange(len(X))[::-1].copy())
    X_epoch, y_epoch, order = rows.for_epoch()
    assert X_epoch is X and y_epoch is y and order[0] == len(X) - 1
    rows.close()


def fit_with(monkeypatch, X, y, free_cpus: int, gather_only: bool = False, **parameters):
    """A fit with the copy made in the background (2 CPUs free), before training (1), or never."""
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "free_cpus_now", lambda: free_cpus)
        if gather_only:
            patch.setattr(ShuffledRows, "copied", property(lambda self: False))
        return lc.LinearClassifier(**parameters).fit(X, y)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_weights_are_the_same_bit_for_bit_with_or_without_the_copy(data, monkeypatch, early_stopping):
    X, y = data
    parameters = dict(epochs=4, batch_size=64, seed=3, early_stopping=early_stopping, patience=2)
    first = fit_with(monkeypatch, X, y, free_cpus=1, **parameters)  # every epoch reads the copy
    for fitted in (fit_with(monkeypatch, X, y, free_cpus=1, gather_only=True, **parameters),  # every epoch gathers
                   fit_with(monkeypatch, X, y, free_cpus=2, **parameters)):  # gathers until the copy is done
        np.testing.assert_array_equal(fitted.W_, first.W_)
        np.testing.assert_array_equal(fitted.b_, first.b_)
        assert fitted.history_["loss"] == first.history_["loss"]


@pytest.fixture
def made(monkeypatch):
    """Every ShuffledRows made: the object, its options, and whether it was copying or done at its start."""
    instances = []
    original_init = ShuffledRows.__init__

    def remember(self, *args, **options):
        original_init(self, *args, **options)
        instances.append((self, options, self._thread.is_alive() or self.copied))

    monkeypatch.setattr(ShuffledRows, "__init__", remember)
    return instances


def test_a_single_epoch_makes_no_copy_and_a_busy_machine_copies_first(data, monkeypatch, made):
    X, y = data
    fit_with(monkeypatch, X, y, free_cpus=2, epochs=1)
    fit_with(monkeypatch, X, y, free_cpus=1, epochs=2)
    assert [(options, rows._copy is not None, started) for rows, options, started in made] == [
        ({"copy": False, "background": True}, False, False),
        ({"copy": True, "background": False}, True, True)]  # copied before the first epoch


def test_a_fit_that_stops_early_stops_the_copy(data, monkeypatch, made):
    X, y = data
    fit_with(monkeypatch, X, y, free_cpus=2, epochs=50, on_epoch_end=lambda clf, record: True)
    assert len(made) == 1 and not made[0][0]._thread.is_alive()
