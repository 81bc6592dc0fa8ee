"""scikit-learn's estimator contract without scikit-learn: the same answers as its BaseEstimator and
validation give, and no import of it for a fit on NumPy arrays."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.validation import validate_data

import linclass as lc
from linclass.estimator_contract import checked_features, checked_training_data


class SklearnTwin(ClassifierMixin, BaseEstimator):
    """A classifier built the usual way, on scikit-learn's own base classes, to compare answers with."""

    def __init__(self, loss="softmax", reg=1e-4, epochs=None):
        self.loss, self.reg, self.epochs = loss, reg, epochs


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-2, 1, (40, 3)), rng.normal(2, 1, (40, 3))]).astype(np.float32)
    return X, np.repeat([0, 1], 40)


def test_a_fit_predict_score_and_save_on_arrays_never_import_scikit_learn(tmp_path):
    script = f"""
        import sys
        import numpy as np
        import linclass as lc
        rng = np.random.default_rng(0)
        X, y = rng.random((300, 8), dtype=np.float32), rng.integers(0, 3, 300)
        clf = lc.LinearClassifier(epochs=3).fit(X, y, X[:50], y[:50])
        clf.predict(X); clf.predict_proba(X); clf.decision_function(X); clf.score(X, y)
        clf.partial_fit(X, y)
        lc.load(clf.save({str(tmp_path / "model.linclass")!r})).predict(X)
        lc.nn.MLPClassifier(hidden_layer_sizes=(4,), epochs=2).fit(X, y).score(X, y)
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("sklearn", "scipy")))
    """
    finished = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "[]"


def test_parameters_clone_and_tags_are_scikit_learns():
    clf = lc.LinearClassifier("svm", reg=1e-3, epochs=4)
    assert clf._get_param_names() == sorted(lc.LinearClassifier.PARAMETERS)
    assert clf.get_params()["reg"] == 1e-3 and clf.get_params()["loss"] == "svm"
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == clf.get_params()
    assert is_classifier(clf)
    assert get_tags(clf) == get_tags(SklearnTwin())
    assert clf.set_params(reg=0.5, epochs=2) is clf and (clf.reg, clf.epochs) == (0.5, 2)


def test_an_unknown_parameter_is_refused_as_scikit_learn_refuses_it():
    with pytest.raises(ValueError) as ours:
        lc.LinearClassifier().set_params(regg=1.0)
    with pytest.raises(ValueError) as theirs:
        SklearnTwin().set_params(regg=1.0)
    for error, name in ((ours, "LinearClassifier"), (theirs, "SklearnTwin")):
        assert str(error.value).startswith(f"Invalid parameter 'regg' for estimator {name}(). Valid parameters are: [")


def test_the_repr_names_the_changed_parameters_in_the_constructors_order():
    assert repr(lc.LinearClassifier()) == "LinearClassifier()"
    assert repr(lc.LinearClassifier("svm", epochs=3, reg=0.01)) == "LinearClassifier(loss='svm', reg=0.01, epochs=3)"
    assert repr(SklearnTwin("svm", reg=0.01, epochs=3)) == "SklearnTwin(epochs=3, loss='svm', reg=0.01)"  # sorted there


def test_score_is_accuracy_weighted_or_not(blobs):
    X, y = blobs
    clf = lc.LinearClassifier(epochs=2).fit(X, y)
    predicted = clf.predict(X)
    assert clf.score(X, y) == np.mean(predicted == y)
    weights = np.linspace(0, 1, len(y))
    assert clf.score(X, y, sample_weight=weights) == pytest.approx(np.average(predicted == y, weights=weights))
    assert clf.score(X, list(y)) == clf.score(X, y)  # a list goes through scikit-learn's accuracy_score


@pytest.mark.parametrize("X", [np.arange(12, dtype=np.int64).reshape(4, 3), np.ones((4, 3), dtype=bool),
                               np.asfortranarray(np.ones((4, 3))), np.ones((4, 3), dtype=np.float16)])
def test_plain_arrays_convert_as_validate_data_converts_them(X):
    ours, theirs = SklearnTwin(), SklearnTwin()
    got = checked_features(ours, X, reset=True, dtype=np.float32, order="C")
    expected = validate_data(theirs, X, reset=True, dtype=np.float32, order="C", ensure_all_finite=False)
    assert got.dtype == expected.dtype and got.flags.c_contiguous and np.array_equal(got, expected)
    assert vars(ours) == vars(theirs)  # n_features_in_ alike
    scored = checked_features(ours, X, reset=False, dtype=(np.float64, np.float32))
    assert scored.dtype == validate_data(theirs, X, reset=False, dtype=(np.float64, np.float32)).dtype


def test_a_wrong_number_of_features_is_scikit_learns_message(blobs):
    X, _ = blobs
    clf = SklearnTwin()
    checked_features(clf, X, reset=True, dtype=np.float32)
    with pytest.raises(ValueError) as ours:
        checked_features(clf, X[:, :2], reset=False, dtype=np.float32)
    with pytest.raises(ValueError) as theirs:
        validate_data(clf, X[:, :2], reset=False, dtype=np.float32)
    assert str(ours.value) == str(theirs.value)


def test_what_is_not_a_plain_array_goes_to_scikit_learns_validation(blobs):
    X, y = blobs
    with pytest.warns(DataConversionWarning):  # a column of labels: flattened, with scikit-learn's warning
        checked_training_data(SklearnTwin(), X, y[:, None], reset=True, dtype=np.float32)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        checked_training_data(SklearnTwin(), X, y + 0.5, reset=True, dtype=np.float32)
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        checked_features(SklearnTwin(), X[:0], reset=True, dtype=np.float32)
    with pytest.raises(ValueError, match="Complex data not supported"):
        checked_features(SklearnTwin(), X.astype(complex), reset=True, dtype=np.float32)
    got, labels = checked_training_data(SklearnTwin(), X.tolist(), y.tolist(), reset=True, dtype=np.float32)
    assert got.dtype == np.float32 and np.array_equal(labels, y)


def test_an_unfitted_classifier_raises_scikit_learns_not_fitted_error(blobs):
    with pytest.raises(NotFittedError, match="This LinearClassifier instance is not fitted yet"):
        lc.LinearClassifier().predict(blobs[0])


def test_a_fit_that_does_not_converge_warns_with_scikit_learns_category(blobs):
    from sklearn.exceptions import ConvergenceWarning

    X, y = blobs
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lc.LinearClassifier(max_epochs=1, tol=0.0, solver="fused").fit(X, y)
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_the_notebook_diagram_shows_the_parameters_table(blobs):
    html = lc.LinearClassifier(reg=1e-3).fit(*blobs)._repr_html_()
    assert "LinearClassifier" in html and "reg" in html and "0.001" in html


class RoutingTwin(ClassifierMixin, BaseEstimator):
    """The classifier's methods' signatures on scikit-learn's base classes, whose routing is its own."""

    def fit(self, X, y=None, X_val=None, y_val=None):
        return self

    def partial_fit(self, X, y, classes=None):
        return self


def test_metadata_routing_is_scikit_learns_for_the_same_signatures(blobs):
    import sklearn
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import cross_validate

    assert str(lc.LinearClassifier().get_metadata_routing()) == str(RoutingTwin().get_metadata_routing())
    X, y = blobs
    weights = np.random.default_rng(1).uniform(0.1, 1.0, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        clf = lc.LinearClassifier(epochs=3, seed=0).set_score_request(sample_weight=True)
        assert not hasattr(clf, "set_predict_request")  # predict takes no metadata, as with scikit-learn
        result = cross_validate(clf, X, y, params={"sample_weight": weights}, cv=4, return_estimator=True,
                                return_indices=True)
    for fitted, test, score in zip(result["estimator"], result["indices"]["test"], result["test_score"], strict=True):
        assert score == pytest.approx(accuracy_score(y[test], fitted.predict(X[test]), sample_weight=weights[test]))
    with pytest.raises(RuntimeError, match="metadata routing is enabled"):
        lc.LinearClassifier().set_fit_request(X_val=True)  # as scikit-learn's own, when routing is off


def test_score_refuses_continuous_labels_as_accuracy_score_does(blobs):
    X, y = blobs
    clf = lc.LinearClassifier(epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="mix of continuous and binary targets"):
        clf.score(X, y + 0.5)


def test_labels_mostly_distinct_warn_on_arrays_as_scikit_learn_warns_on_lists():
    """Newer scikit-learns warn of labels that look like a regression's; linclass's own check does as they do."""
    X, y = np.ones((30, 2)), np.arange(30)

    def warnings_of(features, labels) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            checked_training_data(SklearnTwin(), features, labels, reset=True, dtype=np.float32)
        return [str(w.message) for w in caught if "unique classes" in str(w.message)]

    theirs, ours = warnings_of(X.tolist(), y.tolist()), warnings_of(X, y)
    assert ours == [("The number of unique classes is greater than 50% of the number of samples. `y` could "
                     "represent a regression problem, not a classification problem.")]
    assert theirs in ([], ours)  # scikit-learn 1.6 does not warn; later versions give the same words
    assert warnings_of(X[:20], y[:20]) == []  # at most 20 labels: no warning
    assert warnings_of(X, y % 10) == [] and warnings_of(X, np.repeat([0, 1000], 15)) == []  # few classes
    assert warnings_of(X, np.where(y < 20, y * 100, 0)) == ours  # 20 distinct labels of 30, spread wide


def test_the_diagram_follows_scikit_learns_display_setting(blobs):
    import sklearn

    clf = lc.LinearClassifier(epochs=2).fit(*blobs)
    assert hasattr(clf, "_repr_html_") and set(clf._repr_mimebundle_()) == {"text/plain", "text/html"}
    with sklearn.config_context(display="text"):
        assert hasattr(clf, "_repr_html_") is hasattr(SklearnTwin(), "_repr_html_") is False
        assert set(clf._repr_mimebundle_()) == {"text/plain"}


def test_requests_survive_clone_pickle_and_copy_and_help_still_reads_the_class(blobs):
    import copy
    import pickle
    import pydoc

    import sklearn

    with sklearn.config_context(enable_metadata_routing=True):
        clf = lc.LinearClassifier(epochs=2).set_score_request(sample_weight=True)
        routing = str(clf.get_metadata_routing())
        for other in (clone(clf), pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf)):
            assert str(other.get_metadata_routing()) == routing and "'sample_weight': True" in routing
    assert not hasattr(clf, "__name__") and "LinearClassifier" in pydoc.render_doc(clf)
