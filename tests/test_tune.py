"""Hyperparameter search: the candidates, the ranking on validation data, parallel trials, the table."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import linclass as lc
from linclass import tune
from linclass.errors import DivergenceError


@pytest.fixture(scope="module")
def digits():
    data = lc.datasets.load("digits")
    X_train, y_train, X_val, y_val = lc.datasets.train_val_split(data.X_train, data.y_train, val_size=0.25, seed=0)
    pre = lc.datasets.Preprocessor(center="standardize")
    return pre.fit_transform(X_train), y_train, pre.transform(X_val), y_val


@pytest.fixture(scope="module")
def result(digits):
    return tune.search(*digits, lr=[1e-3, 3e-2], reg=[1e-4, 1e-2], loss=["softmax", "svm"], params={"epochs": 4})


def test_a_grid_is_every_combination():
    settings = tune.candidates("grid", lr=[0.1, 0.01], reg=[0, 1e-3], loss=["svm", "softmax"])
    assert len(settings) == 8
    assert {(s["loss"], s["lr"], s["reg"]) for s in settings} == {
        (loss, lr, reg) for loss in ("svm", "softmax") for lr in (0.1, 0.01) for reg in (0.0, 1e-3)}


def test_random_candidates_are_log_uniform_in_range_and_seeded():
    settings = tune.candidates("random", lr=(1e-4, 1e-1), reg=(1e-6, 1e-2), loss=["svm", "softmax"], n_trials=400)
    exponents = np.log10([s["lr"] for s in settings])
    assert exponents.min() >= -4 and exponents.max() <= -1
    # log-uniform: each of the three decades holds about a third of the draws
    counts = np.histogram(exponents, bins=[-4, -3, -2, -1])[0]
    assert counts.min() > 100
    assert all(1e-6 <= s["reg"] <= 1e-2 for s in settings)
    assert {s["loss"] for s in settings} == {"svm", "softmax"}
    assert settings == tune.candidates("random", lr=(1e-4, 1e-1), reg=(1e-6, 1e-2), loss=["svm", "softmax"],
                                       n_trials=400)
    assert settings != tune.candidates("random", lr=(1e-4, 1e-1), reg=(1e-6, 1e-2), loss=["svm", "softmax"],
                                       n_trials=400, seed=1)


def test_search_ranks_trials_by_validation_accuracy(result, digits):
    X_train, y_train, X_val, y_val = digits
    trials, best = result  # a SearchResult unpacks as (trials, best_model)
    assert len(trials) == 8
    accuracies = [trial["val_accuracy"] for trial in trials]
    assert accuracies == sorted(accuracies, reverse=True)
    for trial in trials:
        assert set(trial) == {"loss", "lr", "reg", "val_accuracy", "train_accuracy", "seconds", "epochs", "status",
                              "error"}
        assert trial["status"] == "ok" and trial["epochs"] == 4 and trial["seconds"] > 0
    assert trials[0]["lr"] == 3e-2  # four epochs at lr=0.001 are too few
    assert best.score(X_val, y_val) == trials[0]["val_accuracy"]
    assert best.score(X_train, y_train) == trials[0]["train_accuracy"]
    assert (best.loss, best.lr, best.reg) == (trials[0]["loss"], trials[0]["lr"], trials[0]["reg"])


def test_search_never_takes_test_data():
    for function in (tune.search, tune.candidates):
        assert not [name for name in inspect.signature(function).parameters if "test" in name]


def test_parallel_trials_give_the_same_results(digits, result):
    parallel = tune.search(*digits, lr=[1e-3, 3e-2], reg=[1e-4, 1e-2], loss=["softmax", "svm"],
                           params={"epochs": 4}, n_jobs=2)
    strip = [{k: v for k, v in trial.items() if k != "seconds"} for trial in parallel.trials]
    assert strip == [{k: v for k, v in trial.items() if k != "seconds"} for trial in result.trials]
    assert np.array_equal(parallel.best_model.W_, result.best_model.W_)


def test_diverged_trials_are_reported_last(digits):
    trials, best = tune.search(*digits, lr=[1e-2, 1e6], reg=[1e-4], loss=["svm"],
                               params={"epochs": 2, "optimizer": "sgd"})
    assert [trial["status"] for trial in trials] == ["ok", "diverged"]
    assert trials[1]["val_accuracy"] is None and "lr=1e+06" in trials[1]["error"]
    assert best.lr == 1e-2
    assert "diverged" in tune.format_table(trials)


def test_every_trial_diverging_is_an_error(digits):
    with pytest.raises(DivergenceError, match="every trial diverged .*lr=1e\\+06"):
        tune.search(*digits, lr=[1e6, 1e7], reg=[1e-4], loss=["svm"], params={"epochs": 1, "optimizer": "sgd"})


def test_refit_trains_the_best_setting_on_training_and_validation_data(digits, result):
    refitted = tune.search(*digits, lr=[3e-2], reg=[1e-4], loss=["softmax"], params={"epochs": 4}, refit=True)
    best = refitted.best_model
    X_train, _, X_val, _ = digits
    per_epoch = -(-(len(X_train) + len(X_val)) // 256)
    assert len(best.history_["loss"]) == 4 * per_epoch
    assert best.history_["epochs"][0]["val_accuracy"] is None


def test_on_trial_end_reports_each_trial(digits):
    seen = []
    tune.search(*digits, lr=[1e-2], reg=[1e-4, 1e-3], params={"epochs": 1}, on_trial_end=seen.append)
    assert [trial["reg"] for trial in seen] == [1e-4, 1e-3]


def test_evaluate_gives_the_accuracy_of_the_chosen_model(result, digits):
    X_train, y_train, X_val, y_val = digits
    assert tune.evaluate(result.best_model, X_val, y_val) == result.trials[0]["val_accuracy"]


def test_the_table_lists_trials_best_first(result):
    table = tune.format_table(result.trials)
    lines = table.splitlines()
    assert lines[0] == "| rank | loss | lr | reg | val accuracy | train accuracy | epochs | seconds |"
    assert len(lines) == 2 + 8 and lines[2].startswith("| 1 | ")
    assert f"{100 * result.trials[0]['val_accuracy']:.2f}%" in lines[2]
    text = tune.format_table(result.trials, style="text").splitlines()
    assert text[0].split() == ["rank", "loss", "lr", "reg", "val", "accuracy", "train", "accuracy", "epochs",
                               "seconds"]
    assert len({len(line) for line in text}) == 1  # aligned columns


@pytest.mark.parametrize("arguments, message", [
    (dict(method="bayes"), "method='bayes' is not valid: expected one of 'grid', 'random'"),
    (dict(lr=[0.1, -1.0]), r"lr=-1.0 is not valid: expected a number > 0"),
    (dict(loss=["hinge"]), "loss='hinge' is not valid"),
    (dict(params={"lr": 0.1}), "params has 'lr', which the search itself varies"),
    (dict(params={"learning_rate": 0.1}), "params has 'learning_rate', which is not a LinearClassifier"),
    (dict(n_jobs=0), "n_jobs=0 is not valid: expected an integer >= 1"),
])
def test_bad_search_arguments_are_refused(digits, arguments, message):
    with pytest.raises(ValueError, match=message):
        tune.search(*digits, **arguments)


def test_cross_validation_picks_what_grid_search_cv_picks_with_the_same_means():
    from sklearn.model_selection import GridSearchCV

    from linclass.tune import stratified_folds

    data = lc.datasets.load("digits")
    X = lc.datasets.Preprocessor(center="standardize").fit_transform(data.X_train)
    y = data.y_train
    grid = {"lr": [0.003, 0.03], "reg": [1e-4, 1e-1]}
    ours = tune.search(X, y, cv=5, **grid, params={"epochs": 4}, n_jobs=2)
    theirs = GridSearchCV(lc.LinearClassifier(epochs=4), grid, cv=stratified_folds(y, 5, seed=0)).fit(X, y)
    assert {key: ours.trials[0][key] for key in grid} == theirs.best_params_
    means = {(p["lr"], p["reg"]): m for p, m in zip(theirs.cv_results_["params"], theirs.cv_results_["mean_test_score"],
                                                   strict=True)}
    for trial in ours.trials:
        assert trial["val_accuracy"] == pytest.approx(means[trial["lr"], trial["reg"]], abs=1e-12)
        assert trial["folds"] == 5 and trial["val_accuracy_std"] > 0
    refit = lc.LinearClassifier(epochs=4, **{key: ours.trials[0][key] for key in grid}).fit(X, y)
    np.testing.assert_array_equal(ours.best_model.W_, refit.W_)  # the best setting, trained on all the data


@pytest.mark.parametrize("arguments, message", [
    (dict(cv=1), "cv=1 is not valid: expected an integer >= 2"),
    (dict(cv=500), "cv=500 is not valid: the rarest class has"),
])
def test_bad_cross_validation_is_refused(arguments, message):
    data = lc.datasets.load("digits")
    with pytest.raises(ValueError, match=message):
        tune.search(data.X_train.reshape(len(data.X_train), -1), data.y_train, **arguments)
    with pytest.raises(ValueError, match="a validation set .* or cv=K folds"):
        tune.search(data.X_train.reshape(len(data.X_train), -1), data.y_train)
