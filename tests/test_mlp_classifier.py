"""``MLPClassifier``: scikit-learn's contract, PyTorch's arithmetic, the linear classifier's declarations,
model files and exact resume."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import linclass as lc
from linclass.distributed.cluster import CLUSTER_PARAMETERS
from linclass.errors import ModelFileError
from linclass.estimator import PARAMETERS
from linclass.nn.network import NETWORK_DEFAULTS, build_network
from linclass.persist import read_model_file

SKIPPED_BY_SCIKIT_LEARN = {"check_array_api_input", "check_classifier_data_not_an_array"}


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(200, noise=0.1, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def digits():
    data = lc.datasets.load("digits")
    pre = lc.datasets.Preprocessor(center="standardize")
    return pre.fit_transform(data.X_train), data.y_train, pre.transform(data.X_test), data.y_test


def test_passes_scikit_learns_estimator_checks():
    results = check_estimator(lc.MLPClassifier(hidden_layer_sizes=(8,), optimizer="adam", lr=1e-2), on_fail=None)
    failed = {r["check_name"]: str(r["exception"]) for r in results if r["status"] == "failed"}
    assert failed == {}
    assert {r["check_name"] for r in results if r["status"] == "skipped"} <= SKIPPED_BY_SCIKIT_LEARN


def test_shares_the_linear_classifiers_declarations_and_adds_scikit_learns_names():
    signature = inspect.signature(lc.MLPClassifier)
    assert list(signature.parameters)[:3] == ["loss", "hidden_layer_sizes", "activation"]
    for name, declaration in PARAMETERS.items():
        if name in NETWORK_DEFAULTS:  # the same rule and help, a network's own start
            ours = lc.MLPClassifier.PARAMETERS[name]
            assert ours.constraint is declaration.constraint and ours.help == declaration.help
            assert ours.default == NETWORK_DEFAULTS[name] != declaration.default
        elif name not in ("solver", *CLUSTER_PARAMETERS):
            assert lc.MLPClassifier.PARAMETERS[name] is declaration  # the same declaration, not a copy
    assert "solver" not in signature.parameters
    assert not set(CLUSTER_PARAMETERS) & set(signature.parameters)  # a network trains in one process
    assert lc.MLPClassifier().get_params()["hidden_layer_sizes"] == (100,)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes=\(0,\) is not valid: expected 1 to 16 layer sizes"):
        lc.MLPClassifier(hidden_layer_sizes=(0,)).fit(np.zeros((4, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="activation='gelu' is not valid: expected one of 'relu', 'tanh'"):
        lc.MLPClassifier(activation="gelu").fit(np.zeros((4, 2)), [0, 1, 0, 1])


@pytest.mark.parametrize("loss, activation", [("softmax", "relu"), ("svm", "tanh"), ("crammer_singer", "logistic")])
def test_full_batch_sgd_steps_equal_pytorchs_from_the_same_weights(torch, moons, loss, activation):
    X, y = moons
    steps, lr, reg = 5, 0.1, 1e-3
    clf = lc.MLPClassifier(loss, hidden_layer_sizes=(6, 5), activation=activation, optimizer="sgd", lr=lr, reg=reg,
                           batch_size=len(X), iterations=steps, seed=3).fit(X, y)
    start = build_network(2, (6, 5), 2, activation, generator=np.random.default_rng(3))  # the fit's first weights
    layers = [torch.nn.Linear(a, b).double() for a, b in ((2, 6), (6, 5), (5, 2))]
    σ = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "logistic": torch.nn.Sigmoid}[activation]
    net = torch.nn.Sequential(layers[0], σ(), layers[1], σ(), layers[2])
    net.load_state_dict({name: torch.tensor(p.data, dtype=torch.float64) for name, p in start.named_parameters()})
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    inputs, labels = torch.tensor(X, dtype=torch.float64), torch.tensor(y)
    for _ in range(steps):
        scores = net(inputs)
        if loss == "softmax":
            data_loss = torch.nn.functional.cross_entropy(scores, labels)
        elif loss == "svm":
            data_loss = 2 * torch.nn.functional.multi_margin_loss(scores, labels)
        else:  # with two classes the strongest rival is the other class: the hinge of the margin
            data_loss = torch.relu(1 + scores.gather(1, 1 - labels[:, None]) - scores.gather(1, labels[:, None])).mean()
        penalty = sum((layer.weight ** 2).sum() for layer in layers)
        optimizer.zero_grad()
        (data_loss + reg * penalty).backward()
        optimizer.step()
    for ours, theirs in zip(clf.network_.parameters(), net.parameters(), strict=True):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(clf.coefs_[0], layers[0].weight.detach().numpy().T, rtol=1e-4, atol=1e-5)


def test_micrograds_demo_a_16_16_net_separates_two_moons_with_the_max_margin_loss(tmp_path):
    X, y = make_moons(100, noise=0.1, random_state=1)
    clf = lc.MLPClassifier("svm", hidden_layer_sizes=(16, 16), optimizer="sgd", lr=0.5, batch_size=100, epochs=300,
                           reg=1e-4).fit(X, y)
    assert clf.score(X, y) == 1.0
    scores = clf.network_(lc.tensor(X.astype(np.float32)))
    drawn = lc.graph.draw(lc.losses.svm_loss(scores, y), tmp_path / "moons.dot")
    assert "SvmLossBackward0" in drawn.read_text()


def test_a_hidden_layer_beats_the_linear_classifier_on_the_digits(digits):
    X_train, y_train, X_test, y_test = digits
    linear = lc.LinearClassifier(epochs=30, lr=0.03).fit(X_train, y_train).score(X_test, y_test)
    mlp = lc.MLPClassifier(hidden_layer_sizes=(64,), epochs=30, lr=0.03).fit(X_train, y_train).score(X_test, y_test)
    assert mlp >= 0.96 and mlp >= linear


def test_works_in_a_pipeline_and_a_grid_search_over_hidden_sizes(moons):
    X, y = moons
    pipeline = Pipeline([("scale", StandardScaler()), ("mlp", lc.MLPClassifier(epochs=60, lr=0.1, batch_size=32))])
    search = GridSearchCV(pipeline, {"mlp__hidden_layer_sizes": [(2,), (16,)]}, cv=2).fit(X, y)
    assert search.best_params_ == {"mlp__hidden_layer_sizes": (16,)}
    assert search.score(X, y) > 0.95


def test_probabilities_are_offered_for_softmax_only(moons):
    X, y = moons
    softmax = lc.MLPClassifier(hidden_layer_sizes=(4,), epochs=2).fit(X, y)
    np.testing.assert_allclose(softmax.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)
    assert not hasattr(lc.MLPClassifier("svm", hidden_layer_sizes=(4,), epochs=2).fit(X, y), "predict_proba")


def test_saves_and_loads_in_the_model_format_and_is_told_from_a_linear_model(moons, tmp_path):
    X, y = moons
    clf = lc.MLPClassifier(hidden_layer_sizes=(8, 4), activation="tanh", epochs=3).fit(X, y)
    path = clf.save(tmp_path / "mlp.linclass", metadata={"dataset": "moons"})
    header, arrays = read_model_file(path)
    assert header["estimator"] == "MLPClassifier" and sorted(arrays)[:2] == ["0.bias", "0.weight"]
    loaded = lc.load(path)
    assert type(loaded) is lc.MLPClassifier and loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.decision_function(X), clf.decision_function(X))
    assert loaded.metadata_ == {"dataset": "moons"} and lc.MLPClassifier.load(path).n_iter_ == 3
    with pytest.raises(ModelFileError, match="holds a MLPClassifier, not a LinearClassifier"):
        lc.LinearClassifier.load(path)


@pytest.mark.parametrize("optimizer, schedule", [("momentum", "step"), ("adam", "cosine")])
def test_an_interrupted_fit_saved_loaded_and_continued_is_the_uninterrupted_one(moons, tmp_path, optimizer, schedule):
    X, y = moons
    settings = dict(hidden_layer_sizes=(8,), optimizer=optimizer, lr_schedule=schedule, epochs=6, batch_size=32,
                    lr=0.05 if optimizer == "momentum" else 0.01)
    whole = lc.MLPClassifier(**settings).fit(X, y)
    stopped = lc.MLPClassifier(**settings, on_epoch_end=lambda clf, record: record["epoch"] == 3).fit(X, y)
    assert stopped.n_iter_ == 3
    resumed = lc.load(stopped.save(tmp_path / "half.linclass")).set_params(warm_start=True).fit(X, y)
    assert resumed.n_iter_ == 6 and resumed.history_["loss"] == whole.history_["loss"]
    for ours, theirs in zip(resumed.coefs_ + resumed.intercepts_, whole.coefs_ + whole.intercepts_, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_the_readmes_python_examples_print_the_accuracies_they_claim(capsys):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## The classifier, from Python")[1].split("\n## ")[0]
    blocks = [part.split("```")[0] for part in section.split("```python")[1:]]
    namespace: dict = {}
    claimed = []
    for code in blocks:
        claimed += [line.split("# ")[-1].split(": ")[-1] for line in code.splitlines() if line.startswith("print(")]
        exec(compile(code, "README.md", "exec"), namespace)
    printed = [f"{float(value):.3f}" for value in capsys.readouterr().out.split()]
    assert len(blocks) == 2 and printed == claimed
