"""LinearClassifier: scikit-learn's own estimator checks, accuracy against scikit-learn, clear errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import linclass as lc
from linclass import LinearClassifier
from linclass.errors import DivergenceError
from linclass.persist import read_model_file
from conftest import need_fashion_mnist

# Checks scikit-learn skips by itself on this machine: array-API inputs need SCIPY_ARRAY_API=1 set before
# SciPy is imported, and the pandas checks need pandas. They skip rather than fail.
SKIPPED_BY_SCIKIT_LEARN = {"check_array_api_input", "check_classifier_data_not_an_array"}


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits through linclass: the loader's seeded, stratified 80/20 split, standardized."""
    data = lc.datasets.load("digits")
    pre = lc.datasets.Preprocessor(center="standardize")
    return pre.fit_transform(data.X_train), data.y_train, pre.transform(data.X_test), data.y_test


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])
    y = rng.integers(0, 3, 150)
    return rng.standard_normal((150, 2)) * 0.7 + centers[y], y


@pytest.mark.parametrize("clf", [
    LinearClassifier(),
    LinearClassifier(loss="svm", penalty="l1", sampling="replacement"),
    # Adam: the checks fit uncentred data (features near 100) on which plain SGD on the squared hinge
    # needs a learning rate below 1e-5, and diverges (rightly refused) above it.
    LinearClassifier(loss="squared_hinge", penalty="elasticnet", optimizer="adam", solver="autograd"),
], ids=["softmax", "svm", "squared_hinge-adam-autograd"])
def test_passes_scikit_learns_estimator_checks(clf):
    results = check_estimator(clf, on_fail=None)
    failed = {r["check_name"]: str(r["exception"]) for r in results if r["status"] == "failed"}
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert failed == {}
    assert skipped <= SKIPPED_BY_SCIKIT_LEARN
    assert sum(r["status"] == "passed" for r in results) > 40


@pytest.fixture(scope="module")
def logistic_regression_accuracy(digits):
    """scikit-learn's LogisticRegression (lbfgs, to convergence) on the same digits split."""
    X_train, y_train, X_test, y_test = digits
    return LogisticRegression(max_iter=1000).fit(X_train, y_train).score(X_test, y_test)


@pytest.mark.parametrize("loss, settings", [("softmax", dict(lr=0.03, epochs=50)), ("svm", dict(epochs=20))])
def test_digits_accuracy_is_95_percent_and_close_to_logistic_regression(digits, logistic_regression_accuracy,
                                                                         loss, settings):
    X_train, y_train, X_test, y_test = digits
    ours = LinearClassifier(loss=loss, reg=1e-3, **settings).fit(X_train, y_train).score(X_test, y_test)
    assert ours >= 0.95
    assert ours >= logistic_regression_accuracy - 0.02


@pytest.mark.slow
def test_fashion_mnist_slice_reaches_80_percent_on_validation():
    root = need_fashion_mnist()
    data = lc.datasets.load("fashion-mnist", root=root)
    X_train, y_train, X_val, y_val = lc.datasets.train_val_split(data.X_train[:12000], data.y_train[:12000],
                                                                 val_size=2000, seed=0)
    pre = lc.datasets.Preprocessor(center="standardize")
    for loss in ("softmax", "svm"):
        clf = LinearClassifier(loss=loss, lr=3e-3, epochs=5, lr_schedule="cosine")
        clf.fit(pre.fit_transform(X_train), y_train, pre.transform(X_val), y_val)
        assert clf.history_["epochs"][-1]["val_accuracy"] > 0.8


def test_grid_search_over_reg_and_lr_in_a_pipeline(digits):
    X_train, y_train, X_test, y_test = digits
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", LinearClassifier(epochs=20))])
    grid = {"clf__reg": [1e-4, 1e-2], "clf__lr": [1e-3, 3e-2]}
    search = GridSearchCV(pipeline, grid, cv=3).fit(X_train, y_train)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["clf__lr"] == 3e-2  # 20 epochs at lr=0.001 are too few steps
    assert search.best_score_ > 0.9 and search.score(X_test, y_test) > 0.9


def test_string_labels_come_back_as_strings(blobs):
    X, y = blobs
    names = np.array(["cat", "dog", "ship"])[y]
    clf = LinearClassifier(lr=0.1, epochs=10).fit(X, names)
    assert clf.classes_.tolist() == ["cat", "dog", "ship"]
    assert set(clf.predict(X)) == {"cat", "dog", "ship"}
    assert clf.score(X, names) > 0.95


def test_fitted_attributes_have_the_documented_shapes_and_types(blobs):
    X, y = blobs
    clf = LinearClassifier(epochs=3).fit(X, y)
    assert clf.W_.shape == (3, 2) and clf.W_.dtype == np.float32
    assert clf.b_.shape == (3,) and clf.b_.dtype == np.float32
    assert clf.n_features_in_ == 2 and clf.n_iter_ == 3 and len(clf.history_["epochs"]) == 3
    np.testing.assert_allclose(clf.decision_function(X), X @ clf.W_.T.astype(float) + clf.b_, rtol=1e-6)


def test_predict_proba_is_the_softmax_of_the_scores(blobs):
    X, y = blobs
    clf = LinearClassifier(epochs=5).fit(X, y)
    probabilities = clf.predict_proba(X)
    np.testing.assert_allclose(probabilities, softmax(clf.decision_function(X), axis=1), rtol=1e-10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert np.array_equal(clf.classes_[probabilities.argmax(axis=1)], clf.predict(X))


def test_svm_has_no_predict_proba_and_says_why(blobs):
    X, y = blobs
    clf = LinearClassifier(loss="svm", epochs=2).fit(X, y)
    assert not hasattr(clf, "predict_proba")
    with pytest.raises(AttributeError) as error:
        clf.predict_proba(X)
    assert "loss='softmax'" in str(error.value) and "decision_function" in str(error.value)


def test_two_classes_give_one_margin_per_example(blobs):
    X, y = blobs
    keep = y < 2
    clf = LinearClassifier(epochs=5).fit(X[keep], np.where(y[keep] == 1, "yes", "no"))
    margins = clf.decision_function(X[keep])
    assert margins.shape == (keep.sum(),) and clf.W_.shape == (2, 2)
    assert np.array_equal(np.where(margins > 0, "yes", "no"), clf.predict(X[keep]))


@pytest.mark.parametrize("solver", ["fused", "autograd"])
def test_the_same_seed_refits_the_same_weights_bit_for_bit(digits, solver):
    X_train, y_train, _, _ = digits
    first = LinearClassifier(solver=solver, epochs=2, seed=5).fit(X_train, y_train)
    second = LinearClassifier(solver=solver, epochs=2, seed=5).fit(X_train, y_train)
    assert np.array_equal(first.W_, second.W_) and np.array_equal(first.b_, second.b_)


def test_fused_and_autograd_solvers_agree(digits):
    X_train, y_train, X_test, _ = digits
    fused = LinearClassifier(loss="svm", epochs=3).fit(X_train, y_train)
    graph = LinearClassifier(loss="svm", epochs=3, solver="autograd").fit(X_train, y_train)
    np.testing.assert_allclose(graph.W_, fused.W_, atol=1e-5)
    assert np.array_equal(graph.predict(X_test), fused.predict(X_test))


def test_partial_fit_epochs_equal_fit_epochs_bit_for_bit(digits):
    X_train, y_train, _, _ = digits
    whole = LinearClassifier(epochs=3).fit(X_train, y_train)
    online = LinearClassifier()
    online.partial_fit(X_train, y_train, classes=np.arange(10))
    online.partial_fit(X_train, y_train)
    online.partial_fit(X_train, y_train)
    assert np.array_equal(whole.W_, online.W_) and online.n_iter_ == 3
    assert whole.history_["loss"] == online.history_["loss"]


def test_partial_fit_accepts_batches_missing_some_classes(digits):
    X_train, y_train, X_test, y_test = digits
    clf = LinearClassifier(lr=0.05)
    for part in np.array_split(np.arange(len(y_train)), 6):
        clf.partial_fit(X_train[part[:60]][y_train[part[:60]] < 5], y_train[part[:60]][y_train[part[:60]] < 5],
                        classes=np.arange(10))
    assert clf.classes_.tolist() == list(range(10))


def test_warm_start_continues_the_history_to_the_new_total(digits, tmp_path):
    X_train, y_train, X_test, y_test = digits
    short = LinearClassifier(epochs=4).fit(X_train, y_train, X_test[:100], y_test[:100])
    short.save(tmp_path / "short.linclass")
    resumed = lc.load(tmp_path / "short.linclass").set_params(epochs=7, warm_start=True)
    resumed.fit(X_train, y_train, X_test[:100], y_test[:100])
    assert [r["epoch"] for r in resumed.history_["epochs"]] == list(range(1, 8))
    assert resumed.history_["epochs"][:4] == short.history_["epochs"]
    assert not np.array_equal(resumed.W_, short.W_)
    fresh = LinearClassifier(epochs=7).fit(X_train, y_train)  # without warm_start, fit starts over
    assert len(fresh.history_["epochs"]) == 7


# -- an interrupted fit, saved and continued, is the fit that was never interrupted ----------------------


@pytest.fixture(scope="module")
def small():
    """90 examples of 5 features in 3 classes, and 30 validation examples whose labels are shifted by one
    class: the better training does, the worse validation gets, so early stopping stops early."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 90)
    X = rng.standard_normal((90, 5)).astype(np.float32)
    X[np.arange(90), y] += 1.5
    return X, y, X[:30], (y[:30] + 1) % 3


def stopped_saved_and_continued(small, tmp_path, **settings):
    """The fit of 6 epochs with ``settings``, and the same fit stopped after epoch 3 (as a Ctrl-C leaves
    it), saved, loaded and fitted on to 6 epochs with ``warm_start``."""
    X, y, X_val, y_val = small
    settings = {"epochs": 6, "batch_size": 16, "lr": 0.05, **settings}
    whole = LinearClassifier(**settings).fit(X, y, X_val, y_val)
    stopped = LinearClassifier(**settings, on_epoch_end=lambda clf, record: record["epoch"] == 3)
    stopped.fit(X, y, X_val, y_val).save(tmp_path / "stopped.linclass")
    assert stopped.n_iter_ == 3
    continued = LinearClassifier.load(tmp_path / "stopped.linclass").set_params(warm_start=True)
    return whole, continued.fit(X, y, X_val, y_val)


def assert_same_run(whole: LinearClassifier, continued: LinearClassifier) -> None:
    """The same weights, bit for bit, and the same history: every step's loss, every epoch's record."""
    assert np.array_equal(continued.W_, whole.W_) and np.array_equal(continued.b_, whole.b_)
    assert continued.history_["loss"] == whole.history_["loss"]

    def without_times(history):
        return {**history, "epochs": [{**record, "seconds": None} for record in history["epochs"]]}

    assert without_times(continued.history_) == without_times(whole.history_)


@pytest.mark.parametrize("schedule", ["constant", "step", "exponential", "cosine"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam"])
def test_a_fit_stopped_saved_and_continued_is_the_uninterrupted_fit(small, tmp_path, optimizer, schedule):
    assert_same_run(*stopped_saved_and_continued(small, tmp_path, optimizer=optimizer, lr_schedule=schedule))


@pytest.mark.parametrize("sampling, solver", [("replacement", "fused"), ("shuffle", "autograd"),
                                              ("replacement", "autograd")])
def test_a_continued_fit_is_the_uninterrupted_one_for_either_sampling_and_engine(small, tmp_path, sampling, solver):
    assert_same_run(*stopped_saved_and_continued(small, tmp_path, optimizer="adam", lr_schedule="cosine",
                                                 sampling=sampling, solver=solver))


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_a_continued_fit_with_early_stopping_stops_where_the_uninterrupted_one_did(small, tmp_path, optimizer):
    """Stopped at epoch 3, two epochs after its best: the continued fit goes on from epoch 3's weights (not
    the kept ones of epoch 1) and stops once patience runs out, at epoch 4, as the whole fit did."""
    whole, continued = stopped_saved_and_continued(small, tmp_path, optimizer=optimizer, early_stopping=True,
                                                   patience=3)
    assert whole.history_["best_epoch"] < 3 < whole.n_iter_ < 6 and whole.history_["stopped_early"]
    assert whole.history_["kept_epoch"] == whole.history_["best_epoch"]
    assert_same_run(whole, continued)


def test_a_warm_start_in_memory_continues_the_same_run(small):
    X, y, X_val, y_val = small
    whole = LinearClassifier(epochs=6, batch_size=16, optimizer="nesterov").fit(X, y, X_val, y_val)
    stopped = LinearClassifier(epochs=6, batch_size=16, optimizer="nesterov",
                               on_epoch_end=lambda clf, record: record["epoch"] == 2).fit(X, y, X_val, y_val)
    assert_same_run(whole, stopped.set_params(on_epoch_end=None, warm_start=True).fit(X, y, X_val, y_val))


def test_partial_fit_continues_the_same_run_after_a_save(small, tmp_path):
    X, y, _, _ = small
    online = LinearClassifier(batch_size=16, optimizer="adam")
    for _ in range(4):
        online.partial_fit(X, y, classes=np.arange(3))
    saved = LinearClassifier(batch_size=16, optimizer="adam")
    for _ in range(2):
        saved.partial_fit(X, y, classes=np.arange(3))
    loaded = LinearClassifier.load(saved.save(tmp_path / "online.linclass"))
    for _ in range(2):
        loaded.partial_fit(X, y)
    assert_same_run(online, loaded)


def test_weights_set_by_hand_are_saved_without_the_state_of_a_training(small, tmp_path):
    """The training state describes the weights training made; other weights go on from a fresh state."""
    X, y, _, _ = small
    clf = LinearClassifier(epochs=2).fit(X, y)
    clf.W_ = clf.W_ * 2
    path = clf.save(tmp_path / "edited.linclass")
    assert read_model_file(path)[0]["trainer"] is None
    assert np.array_equal(LinearClassifier.load(path).W_, clf.W_)


def test_a_divergence_forgets_what_loading_set_too(small, tmp_path):
    X, y, _, _ = small
    pre = lc.datasets.Preprocessor(scale=False, center="none").fit(X)
    LinearClassifier(epochs=1).fit(X, y).save(tmp_path / "m.linclass", preprocessor=pre, metadata={"data": "small"})
    loaded = LinearClassifier.load(tmp_path / "m.linclass")
    assert loaded.preprocessor_ is not None and loaded.metadata_ == {"data": "small"}
    with pytest.raises(DivergenceError):
        loaded.set_params(warm_start=True, epochs=3, lr=1e9, optimizer="sgd").fit(X * 1e3, y)
    assert not any(hasattr(loaded, name) for name in ("W_", "preprocessor_", "metadata_", "history_"))


def test_early_stopping_holds_out_a_validation_fraction(digits):
    X_train, y_train, _, _ = digits
    clf = LinearClassifier(epochs=50, lr=0.05, early_stopping=True, patience=2).fit(X_train, y_train)
    assert all(record["val_accuracy"] is not None for record in clf.history_["epochs"])
    assert clf.history_["stopped_early"] and clf.history_["best_epoch"] < clf.n_iter_ < 50


def test_on_epoch_end_sees_the_live_classifier(blobs):
    X, y = blobs
    seen = []
    clf = LinearClassifier(epochs=3, on_epoch_end=lambda c, record: seen.append((record["epoch"], c.W_.copy(),
                                                                                 len(c.history_["epochs"]))))
    clf.fit(X, y)
    assert [(epoch, count) for epoch, _, count in seen] == [(1, 1), (2, 2), (3, 3)]
    assert not np.array_equal(seen[0][1], seen[2][1]) and np.array_equal(seen[2][1], clf.W_)


def test_divergence_leaves_the_classifier_unfitted(digits):
    X_train, y_train, _, _ = digits
    clf = LinearClassifier(loss="svm", lr=1e6, optimizer="sgd")
    with pytest.raises(DivergenceError, match="lr=1e\\+06: try a smaller learning rate such as lr=0.01"):
        clf.fit(X_train, y_train)
    assert not hasattr(clf, "W_") and not hasattr(clf, "classes_")


def test_a_fitted_classifier_pickles_for_scikit_learns_tools(blobs):
    X, y = blobs
    clf = LinearClassifier(epochs=2).fit(X, y)
    assert np.array_equal(pickle.loads(pickle.dumps(clf)).predict(X), clf.predict(X))


# -- clear errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("parameter, value, allowed", [
    ("loss", "log", "one of 'softmax', 'svm', 'squared_hinge'"),
    ("lr", -0.1, "a number > 0"),
    ("reg", "strong", "a number >= 0"),
    ("batch_size", 0, "an integer >= 1"),
    ("solver", "newton", "one of 'fused', 'autograd', 'lbfgs', or None"),
    ("validation_fraction", 1.0, r"a number in \(0, 1\)"),
    ("on_epoch_end", "print", "None or a function"),
])
def test_bad_parameters_are_refused_at_fit_naming_parameter_value_and_what_is_allowed(blobs, parameter, value,
                                                                                       allowed):
    X, y = blobs
    clf = LinearClassifier(**{parameter: value})  # scikit-learn's contract: __init__ only stores
    with pytest.raises(ValueError, match=rf"^{parameter}={value!r} is not valid: expected {allowed}"):
        clf.fit(X, y)


def test_nan_or_infinite_features_are_refused_saying_where(blobs):
    X, y = blobs
    bad = X.copy()
    bad[7, 1] = np.inf
    with pytest.raises(ValueError, match=r"X contains 1 NaN or infinite value\(s\), the first at row 7, column 1"):
        LinearClassifier().fit(bad, y)
    clf = LinearClassifier(epochs=1).fit(X, y)
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        clf.predict(bad)
    with pytest.raises(ValueError, match="X_val contains 1 NaN"):
        LinearClassifier().fit(X, y, bad, y)


def test_finite_features_whose_sum_overflows_are_accepted():
    # float32 holds 3e38, but four of them sum to infinity: the quick check (a sum) must not decide alone
    X = np.array([[3e38, 1.0], [3e38, -1.0], [3e38, 2.0], [3e38, -2.0]], dtype=np.float32)
    with np.errstate(over="ignore"):
        assert np.all(np.isfinite(X)) and not np.isfinite(X.sum())
    clf = LinearClassifier(epochs=1, lr=1e-40, reg=0.0, optimizer="sgd").fit(X, [0, 1, 0, 1])
    assert clf.W_.shape == (2, 2)


def test_a_wrong_number_of_features_is_refused(blobs):
    X, y = blobs
    clf = LinearClassifier(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but LinearClassifier is expecting 2 features"):
        clf.predict(np.hstack([X, X[:, :1]]))
    with pytest.raises(ValueError, match="X_val has 1 features, but X has 2"):
        LinearClassifier().fit(X, y, X[:, :1], y)


def test_a_single_class_is_refused(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match=r"y has 1 class \('a'\); a classifier needs examples of at least 2 classes"):
        LinearClassifier().fit(X, np.full(len(X), "a"))


def test_partial_fit_needs_the_classes_first_and_refuses_unseen_labels(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="classes=None on the first call to partial_fit"):
        LinearClassifier().partial_fit(X, y)
    clf = LinearClassifier().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"y holds the label 7, which is not one of the classes \[0, 1, 2\]"):
        clf.partial_fit(X[:3], [0, 7, 1])
    with pytest.raises(ValueError, match="cannot change"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_validation_labels_unknown_to_training_are_refused(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="y_val holds the label 9, which is not one of the classes"):
        LinearClassifier().fit(X, y, X[:2], [0, 9])
    with pytest.raises(ValueError, match="pass both X_val and y_val"):
        LinearClassifier().fit(X, y, X[:2])
