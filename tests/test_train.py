"""The training loop: it learns, it is reproducible, both paths agree, and it stops when it should."""

from __future__ import annotations

import json
import math
import re
from itertools import pairwise

import numpy as np
import pytest

import linclass as lc
from linclass.errors import DivergenceError
from linclass.model import init_weights
from linclass.train import EXPLOSION_FACTOR, TrainConfig, Trainer, train


@pytest.fixture(scope="module")
def digits():
    """Digits as standardized float32 features: training and validation parts of the training set."""
    data = lc.datasets.load("digits")
    X_train, y_train, X_val, y_val = lc.datasets.train_val_split(data.X_train, data.y_train, val_size=0.2, seed=0)
    pre = lc.datasets.Preprocessor(center="standardize")
    return pre.fit_transform(X_train), y_train, pre.transform(X_val), y_val


@pytest.mark.parametrize("loss", ["softmax", "svm", "squared_hinge"])
def test_training_lowers_the_loss_and_learns(digits, loss):
    X, y, X_val, y_val = digits
    _, _, history = train(X, y, TrainConfig(loss=loss, lr=0.01 if loss != "squared_hinge" else 0.002, epochs=8),
                          X_val, y_val)
    epoch_losses = [record["loss"] for record in history["epochs"]]
    assert epoch_losses[-1] < 0.5 * epoch_losses[0]
    assert all(later < earlier for earlier, later in pairwise(epoch_losses))
    assert history["epochs"][-1]["val_accuracy"] > 0.85


def test_the_first_softmax_loss_is_log_k(digits):
    X, y, _, _ = digits
    _, _, history = train(X, y, TrainConfig(loss="softmax", reg=0.0, epochs=1))
    assert history["loss"][0] == pytest.approx(math.log(10), rel=1e-2)


@pytest.mark.parametrize("engine", ["fused", "autograd"])
@pytest.mark.parametrize("sampling", ["shuffle", "replacement"])
def test_the_same_seed_gives_the_same_weights_bit_for_bit(digits, engine, sampling):
    X, y, _, _ = digits
    config = TrainConfig(solver=engine, sampling=sampling, epochs=2, seed=3)
    W1, b1, history1 = train(X, y, config)
    W2, b2, history2 = train(X, y, config)
    assert np.array_equal(W1, W2) and np.array_equal(b1, b2) and history1["loss"] == history2["loss"]
    W3, _, _ = train(X, y, TrainConfig(solver=engine, sampling=sampling, epochs=2, seed=4))
    assert not np.array_equal(W1, W3)


@pytest.mark.parametrize("loss, penalty, optimizer, sampling, regularize_bias", [
    ("softmax", "l2", "momentum", "shuffle", False),
    ("svm", "l1", "sgd", "replacement", False),
    ("squared_hinge", "elasticnet", "nesterov", "shuffle", False),
    ("softmax", None, "adam", "replacement", False),
    ("svm", "l2", "momentum", "shuffle", True),
])
def test_fused_and_autograd_paths_give_the_same_weights(digits, loss, penalty, optimizer, sampling, regularize_bias):
    X, y, _, _ = digits
    settings = dict(loss=loss, penalty=penalty, reg=1e-2, optimizer=optimizer, sampling=sampling,
                    regularize_bias=regularize_bias,
                    lr=0.001 if optimizer == "adam" or loss == "squared_hinge" else 0.01, epochs=3, batch_size=64)
    W_fused, b_fused, fused = train(X, y, TrainConfig(**settings, solver="fused"))
    W_graph, b_graph, graph = train(X, y, TrainConfig(**settings, solver="autograd"))
    np.testing.assert_allclose(W_graph, W_fused, atol=1e-5)
    np.testing.assert_allclose(b_graph, b_fused, atol=1e-5)
    np.testing.assert_allclose(graph["loss"], fused["loss"], rtol=1e-5)


@pytest.mark.parametrize("penalty", ["l2", "l1"])
@pytest.mark.parametrize("regularize_bias", [False, True])
def test_one_full_batch_step_matches_pytorch_with_and_without_the_bias_penalty(digits, penalty, regularize_bias,
                                                                               torch):
    X, y, _, _ = digits
    X, y = X[:300], y[:300]
    reg, lr = 0.05, 0.1
    W0, b0 = init_weights(10, X.shape[1], np.random.default_rng(1))
    b0 = b0 + np.linspace(-1, 1, 10, dtype=b0.dtype)  # nonzero biases, so their penalty has a gradient
    config = TrainConfig(penalty=penalty, reg=reg, regularize_bias=regularize_bias, optimizer="sgd", lr=lr,
                         batch_size=len(X), iterations=1)
    trainer = Trainer(W0.copy(), b0.copy(), config)  # the trainer updates its arrays in place
    trainer.fit(X, y)  # in float32, the training dtype; PyTorch in float64 is the reference

    W = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
    R = (lambda t: t.abs().sum()) if penalty == "l1" else (lambda t: (t * t).sum())
    loss = torch.nn.functional.cross_entropy(torch.tensor(X, dtype=torch.float64) @ W.T + b,
                                             torch.tensor(y)) + reg * R(W)
    if regularize_bias:
        loss = loss + reg * R(b)
    loss.backward()
    np.testing.assert_allclose(trainer.W.data, (W - lr * W.grad).detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(trainer.b.data, (b - lr * b.grad).detach().numpy(), rtol=1e-5, atol=1e-7)
    assert trainer.history["loss"][0] == pytest.approx(loss.item(), rel=1e-6)


def test_history_has_the_documented_format_and_is_json(digits):
    X, y, X_val, y_val = digits
    _, _, history = train(X, y, TrainConfig(epochs=3, batch_size=100, lr=0.01, lr_schedule="exponential"), X_val, y_val)
    assert set(history) == {"loss", "epochs", "best_epoch", "stopped_early", "kept_epoch", "lr", "converged",
                            "counting_from"}
    assert len(history["loss"]) == 3 * math.ceil(len(X) / 100)
    assert [record["epoch"] for record in history["epochs"]] == [1, 2, 3]
    for record in history["epochs"]:
        assert set(record) == {"epoch", "loss", "train_accuracy", "val_accuracy", "learning_rate", "seconds"}
        assert 0 <= record["train_accuracy"] <= 1 and 0 <= record["val_accuracy"] <= 1
    rates = [record["learning_rate"] for record in history["epochs"]]
    np.testing.assert_allclose(rates, [0.01, 0.009, 0.0081])  # the exponential schedule's 0.9 a step
    seconds = [record["seconds"] for record in history["epochs"]]
    assert seconds == sorted(seconds) and seconds[0] > 0
    assert history["best_epoch"] in (1, 2, 3) and history["stopped_early"] is False
    assert history["kept_epoch"] == 3  # without early stopping, the last
    assert json.loads(json.dumps(history)) == history


def test_validation_accuracy_is_that_of_the_weights_at_the_end_of_the_epoch(digits):
    X, y, X_val, y_val = digits
    snapshots = []
    W0, b0 = init_weights(10, X.shape[1], np.random.default_rng(0))
    trainer = Trainer(W0, b0, TrainConfig(epochs=2))
    trainer.fit(X, y, X_val, y_val, on_epoch_end=lambda record: snapshots.append((trainer.W.data.copy(),
                                                                                    trainer.b.data.copy())))
    for (W, b), record in zip(snapshots, trainer.history["epochs"], strict=True):
        assert record["val_accuracy"] == np.mean(np.argmax(X_val @ W.T + b, axis=1) == y_val)


def test_iterations_replace_epochs(digits):
    X, y, _, _ = digits
    per_epoch = math.ceil(len(X) / 256)
    _, _, history = train(X, y, TrainConfig(iterations=per_epoch + 2))
    assert len(history["loss"]) == per_epoch + 2
    assert len(history["epochs"]) == 2


def test_sampling_with_replacement_draws_full_batches(digits):
    X, y, _, _ = digits
    W, b = init_weights(10, X.shape[1], 0)
    trainer = Trainer(W, b, TrainConfig(sampling="replacement", batch_size=50))
    batches = list(trainer._batches(len(X), None))
    assert len(batches) == math.ceil(len(X) / 50) and all(len(idx) == 50 for idx in batches)
    drawn = np.concatenate(batches)
    assert len(np.unique(drawn)) < len(drawn)  # some example was drawn twice, as with replacement it must be
    order = np.concatenate(list(Trainer(W, b, TrainConfig(batch_size=50))._batches(len(X), None)))
    assert np.array_equal(np.sort(order), np.arange(len(X)))  # a shuffled epoch sees each example once


def test_early_stopping_restores_the_weights_of_the_best_epoch(digits):
    # Validation labels that are the training labels shifted by one: the better the classifier learns the
    # training set, the worse its validation accuracy, so the best epoch is an early one.
    X, y, _, _ = digits
    X_val, y_val = X[:300], (y[:300] + 1) % 10
    W, b = init_weights(10, X.shape[1], 0)
    trainer = Trainer(W, b, TrainConfig(epochs=30, early_stopping=True, patience=3))
    snapshots = {}
    trainer.fit(X, y, X_val, y_val, on_epoch_end=lambda record: snapshots.update({record["epoch"]: W.copy()}))
    history = trainer.history
    accuracies = [record["val_accuracy"] for record in history["epochs"]]
    best = history["best_epoch"]
    assert history["stopped_early"] and len(accuracies) == best + 3 < 30
    assert accuracies[best - 1] == max(accuracies) and best == 1 + int(np.argmax(accuracies))
    assert np.array_equal(W, snapshots[best]) and not np.array_equal(W, snapshots[len(accuracies)])


def test_continuing_an_early_stopped_history_keeps_its_best_epoch(digits):
    # The weights an early-stopped fit leaves are those of its best epoch, not of its last: continuing
    # from them, that epoch stays the best (these validation labels only get worse with training).
    X, y, _, _ = digits
    X_val, y_val = X[:300], (y[:300] + 1) % 10
    W, b = init_weights(10, X.shape[1], 0)
    first = Trainer(W, b, TrainConfig(epochs=30, early_stopping=True, patience=3))
    history = first.fit(X, y, X_val, y_val)
    best, done = history["best_epoch"], len(history["epochs"])
    assert best < done
    kept = W.copy()
    more = Trainer(W, b, TrainConfig(epochs=done + 2, early_stopping=True, patience=3), history=history)
    more.fit(X, y, X_val, y_val)
    assert len(history["epochs"]) == done + 2 and history["best_epoch"] == best
    assert np.array_equal(W, kept)


def test_without_early_stopping_the_last_weights_are_kept(digits):
    X, y, X_val, y_val = digits
    W, b = init_weights(10, X.shape[1], 0)
    trainer = Trainer(W, b, TrainConfig(epochs=3))
    last = {}
    trainer.fit(X, y, X_val, y_val, on_epoch_end=lambda record: last.update(W=W.copy()))
    assert np.array_equal(W, last["W"]) and trainer.history["stopped_early"] is False


def test_early_stopping_needs_a_validation_set(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="early_stopping=True needs a validation set"):
        train(X, y, TrainConfig(early_stopping=True))


def test_a_batch_size_beyond_the_data_allocates_for_the_data_only(digits):
    """A batch holds at most every example: batch_size=10⁹ must not reserve 10⁹ rows of scores."""
    X, y, _, _ = digits
    rng = np.random.default_rng(0)
    trainer = Trainer(*init_weights(10, X.shape[1], rng), TrainConfig(batch_size=10**9, epochs=2), rng)
    history = trainer.fit(X, y)
    assert len(history["loss"]) == 2  # one full batch an epoch
    assert max(len(buffer) for buffer in trainer._buffers.values()) <= len(X)


def test_a_callback_returning_true_stops_training(digits):
    X, y, _, _ = digits
    _, _, history = train(X, y, TrainConfig(epochs=10), on_epoch_end=lambda record: record["epoch"] == 2)
    assert len(history["epochs"]) == 2


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_a_huge_learning_rate_diverges_with_advice_that_works(digits, loss, optimizer):
    """The rate the message suggests, derived from the features (not merely a tenth of 1e6), trains well."""
    X, y, X_val, y_val = digits
    with pytest.raises(DivergenceError, match=r"training diverged at epoch 1 \(loss=.*\) with lr=1e\+06: "
                                              r"try a smaller learning rate such as lr=") as raised:
        train(X, y, TrainConfig(loss=loss, lr=1e6, optimizer=optimizer))
    suggested = float(re.search(r"such as lr=(\S+)$", str(raised.value))[1])
    assert suggested <= 1e5 / 10
    W, b, _ = train(X, y, TrainConfig(loss=loss, lr=suggested, optimizer=optimizer, epochs=10))
    assert np.mean(np.argmax(X_val @ W.T + b, axis=1) == y_val) > 0.8


@pytest.mark.parametrize("engine", ["fused", "autograd"])
def test_a_nan_loss_is_divergence(engine):
    X = np.full((4, 2), 1e30, dtype=np.float32)  # scores overflow to inf, the softmax loss to NaN
    with pytest.raises(DivergenceError, match=r"loss=nan.* with lr=10"):
        train(X, np.array([0, 1, 0, 1]), TrainConfig(lr=10.0, optimizer="momentum", solver=engine))


def test_an_exploding_loss_is_divergence_before_it_overflows():
    # A loss that grows 1e3-fold from its first value stops training, although still finite.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5)).astype(np.float32)
    losses = []
    with pytest.raises(DivergenceError, match=r"with lr=50"):
        train(X, rng.integers(0, 3, 64), TrainConfig(loss="squared_hinge", lr=50.0, optimizer="sgd", batch_size=8),
              on_epoch_end=lambda record: losses.append(record["loss"]))
    assert all(math.isfinite(loss) and loss <= EXPLOSION_FACTOR * 4 for loss in losses)


def test_continuing_a_history_trains_only_the_epochs_left(digits):
    X, y, X_val, y_val = digits
    W, b = init_weights(10, X.shape[1], 0)
    config = TrainConfig(epochs=6, lr=0.01, lr_schedule="step")
    first = Trainer(W, b, config)
    first.fit(X, y, on_epoch_end=lambda record: record["epoch"] == 2)  # interrupted after 2 epochs
    resumed = Trainer(W, b, config, history=first.history)
    history = resumed.fit(X, y, X_val, y_val)
    assert [record["epoch"] for record in history["epochs"]] == [1, 2, 3, 4, 5, 6]
    assert [record["learning_rate"] for record in history["epochs"]] == pytest.approx(
        [0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001])  # the step schedule went on at epoch 3
    assert history["epochs"][2]["seconds"] > history["epochs"][1]["seconds"]


@pytest.mark.parametrize("setting, value, allowed", [
    ("loss", "hinge", "one of 'softmax', 'svm', 'squared_hinge'"),
    ("penalty", "l3", "one of 'l2', 'l1', 'elasticnet', None"),
    ("reg", -1.0, "a number >= 0"),
    ("l1_ratio", 1.5, r"a number in \[0, 1\]"),
    ("lr", 0.0, "a number > 0"),
    ("lr", float("nan"), "a number > 0"),
    ("momentum", 1.0, r"a number in \[0, 1\)"),
    ("optimizer", "rmsprop", "one of 'sgd', 'momentum', 'nesterov', 'adam'"),
    ("batch_size", 0, "an integer >= 1"),
    ("epochs", 2.5, "an integer >= 1"),
    ("sampling", "bootstrap", "one of 'shuffle', 'replacement'"),
    ("solver", "torch", "one of 'fused', 'autograd'"),
    ("lr_schedule", "linear", "one of 'constant', 'step', 'exponential', 'cosine'"),
    ("seed", -1, "an integer >= 0"),
])
def test_bad_settings_are_refused_naming_setting_value_and_what_is_allowed(setting, value, allowed):
    with pytest.raises(ValueError, match=rf"^{setting}={value!r} is not valid: expected {allowed}"):
        TrainConfig(**{setting: value})


def test_verbose_training_prints_a_line_per_epoch_on_stderr(digits, capsys):
    X, y, X_val, y_val = digits
    train(X, y, TrainConfig(epochs=2, verbose=1), X_val, y_val)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2: loss ") and "val accuracy" in lines[1]


# -- what fit keeps, and the state that continues a run ------------------------------------------------------


def fresh_trainer(X: np.ndarray, config: TrainConfig, history: dict | None = None) -> Trainer:
    """A trainer on the weights ``config.seed`` draws, with the generator that drew them (as the estimator)."""
    rng = np.random.default_rng(config.seed)
    return Trainer(*init_weights(10, X.shape[1], rng), config, rng, history=history)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_the_kept_epoch_and_weights_are_what_fit_would_keep_if_it_stopped_now(digits, early_stopping):
    X, y, _, _ = digits
    X_val, y_val = X[:300], (y[:300] + 1) % 10  # worse with training: the best epoch is an early one
    trainer = fresh_trainer(X, TrainConfig(epochs=5, early_stopping=early_stopping, patience=10))
    assert trainer.kept_epoch is None
    seen, snapshots = [], {}

    def look(record):
        W, _ = trainer.kept_weights()
        snapshots[record["epoch"]] = trainer.W.data.copy()
        seen.append((trainer.kept_epoch, trainer.history["kept_epoch"], W.copy()))

    history = trainer.fit(X, y, X_val, y_val, on_epoch_end=look)
    accuracies = [record["val_accuracy"] for record in history["epochs"]]
    for epoch, (kept, recorded, W) in enumerate(seen, start=1):
        expected = 1 + int(np.argmax(accuracies[:epoch])) if early_stopping else epoch  # the first of the best
        assert kept == recorded == expected and np.array_equal(W, snapshots[kept])
    kept = history["kept_epoch"]
    assert kept == (history["best_epoch"] if early_stopping else 5) and np.array_equal(trainer.W.data, snapshots[kept])
    assert early_stopping == (kept < 5)  # the case where the kept weights are not the last ones is tested


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_trainer_given_the_state_of_a_stopped_one_goes_on_as_the_stopped_one_would_have(digits, early_stopping):
    X, y, _, _ = digits
    X_val, y_val = X[:300], (y[:300] + 1) % 10
    config = TrainConfig(epochs=6, early_stopping=early_stopping, patience=10, lr_schedule="cosine", optimizer="adam")
    whole = fresh_trainer(X, config)
    whole.fit(X, y, X_val, y_val)
    stopped = fresh_trainer(X, config)
    stopped.fit(X, y, X_val, y_val, on_epoch_end=lambda record: record["epoch"] == 3)
    state = json.loads(json.dumps(stopped.state_dict(), default=lambda array: array.tolist()))  # as JSON keeps it
    state["optimizer_state"]["state"] = {int(i): buffers for i, buffers in state["optimizer_state"]["state"].items()}
    assert (state["weights"] is not None) == (stopped.kept_epoch < 3)  # early stopping kept epoch 1's weights
    W, b = (array.copy() for array in stopped.kept_weights())
    history = json.loads(json.dumps(stopped.history))
    continued = Trainer(W, b, config, history=history)
    continued.load_state_dict(state)
    continued.fit(X, y, X_val, y_val)
    assert np.array_equal(W, whole.W.data) and np.array_equal(b, whole.b.data)
    assert history["loss"] == whole.history["loss"] and history["kept_epoch"] == whole.history["kept_epoch"]


def test_the_state_of_another_optimizer_leaves_the_buffers_at_zero(digits):
    """After ``set_params(optimizer=...)`` the momentum of SGD means nothing to Adam; the batch order goes on."""
    X, y, _, _ = digits
    momentum = fresh_trainer(X, TrainConfig(epochs=1, optimizer="momentum"))
    momentum.fit(X, y)
    adam = Trainer(momentum.W.data.copy(), momentum.b.data.copy(), TrainConfig(epochs=2, optimizer="adam"),
                   history=momentum.history)
    adam.load_state_dict(momentum.state_dict())
    assert all(not m.any() for m in adam.optimizer.first_moments) and adam.optimizer.steps == [0, 0]
    assert adam.rng.bit_generator.state == momentum.rng.bit_generator.state
