"""Each idea declared once: the loss, penalty, optimizer and schedule records and the hyperparameter
declarations are what every layer (estimator, command line, tune, playground, gradcheck, report) reads."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import linclass as lc
from linclass import tune
from linclass.cli.common import classifier_parameters, training_defaults
from linclass.cli.gradcheck import classifier_cases
from linclass.distributed.cluster import CLUSTER_PARAMETERS
from linclass.estimator import PARAMETERS
from linclass.losses import LOSSES
from linclass.optim import OPTIMIZERS, SCHEDULES
from linclass.playground import requests
from linclass.regularizers import PENALTIES
from linclass.train import HYPERPARAMETERS, TrainConfig

SOURCE = Path(lc.__file__).parent
ENGINE_OP_FILES = ("ops.py", "gradcheck.py", "__init__.py")  # they name the engine op softmax, not the loss


@pytest.fixture(scope="module")
def digits():
    """A little of the digits, scaled to [0, 1]: enough to fit on."""
    data = lc.datasets.load("digits")
    X = data.X_train.reshape(len(data.X_train), -1)[:300].astype(np.float32)
    X /= X.max()
    return X, data.y_train[:300], None, None


def linclass(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linclass", *arguments], capture_output=True, text=True)


def test_a_loss_name_is_written_in_one_source_file():
    written = {}
    for path in SOURCE.rglob("*"):
        if path.suffix not in (".py", ".js", ".html") or path.name == "losses.py":
            continue
        text = path.read_text()
        for name in LOSSES:
            if re.search(rf"""["'`]{name}["'`]""", text) and not (name == "softmax" and path.name in ENGINE_OP_FILES):
                written.setdefault(name, []).append(str(path.relative_to(SOURCE)))
    assert written == {}


def test_the_estimator_signature_is_the_declarations():
    signature = inspect.signature(lc.LinearClassifier)
    assert list(signature.parameters) == list(PARAMETERS)
    assert {name: p.default for name, p in signature.parameters.items()} == \
        {name: declaration.default for name, declaration in PARAMETERS.items()}
    kinds = [p.kind for p in signature.parameters.values()]
    assert kinds[0] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert set(kinds[1:]) == {inspect.Parameter.KEYWORD_ONLY}
    assert lc.LinearClassifier().get_params() == {name: d.default for name, d in PARAMETERS.items()}
    with pytest.raises(TypeError, match="unexpected keyword argument 'learning_rate'"):
        lc.LinearClassifier(learning_rate=0.1)
    for name, declaration in PARAMETERS.items():  # the docstring is written from the declarations
        assert f"{name} : {declaration.constraint.describe()}, default {declaration.default!r}" in \
            lc.LinearClassifier.__doc__


def test_the_command_line_defaults_are_the_declared_ones():
    parameters = classifier_parameters(training_defaults())
    assert parameters == {name: d.default for name, d in {**HYPERPARAMETERS, **CLUSTER_PARAMETERS}.items()
                          if d.flag is not None}
    assert lc.LinearClassifier(**parameters).get_params()["lr"] == TrainConfig().lr


def test_every_record_is_listed_by_the_command_line():
    help_text = " ".join(linclass("train", "--help").stdout.split())
    for registry in (LOSSES, PENALTIES, OPTIMIZERS, SCHEDULES):
        for name in registry:
            assert name in help_text
    for loss in LOSSES.values():
        assert " ".join(loss.title.split()) in help_text
    assert all(name in " ".join(linclass("tune", "--help").stdout.split()) for name in LOSSES)


BROKEN_RULES = [("lr", -1.0, "a number > 0, e.g. 0.01"), ("loss", "hinge", "one of 'softmax', 'svm'"),
                ("reg", -1.0, "a number >= 0"), ("delta", 0.0, "a number > 0")]


@pytest.mark.parametrize("name, value, expected", BROKEN_RULES)
def test_a_broken_rule_is_refused_with_the_same_words_everywhere(digits, name, value, expected):
    X, y, X_val, y_val = digits
    message = f"{name}={value!r} is not valid: expected {expected}"
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainConfig(**{name: value})
    with pytest.raises(ValueError, match=re.escape(message)):
        lc.LinearClassifier(**{name: value}).fit(X, y)
    plane = {"points": [[0.0, 1.0], [1.0, 0.0]], "labels": [0, 1], "W": [[1.0, 0.0], [0.0, 1.0]], "b": [0.0, 0.0]}
    with pytest.raises(requests.RequestError, match=re.escape(message)):
        requests.parse_plane({**plane, name: value}) if name != "lr" else requests.parse_training({name: value}, 2)
    if name in ("lr", "reg", "loss"):
        with pytest.raises(ValueError, match=re.escape(message)):
            tune.candidates(**{name: [value]})
    flag = "--" + str(HYPERPARAMETERS[name].flag).replace("_", "-")
    result = linclass("train", flag, str(value))
    words = f"{value} is not valid: expected {expected}" if name != "loss" else "invalid choice: 'hinge'"
    assert result.returncode == 2 and words in result.stderr


@pytest.mark.parametrize("loss", list(LOSSES))
def test_every_loss_trains_everywhere_and_is_checked_and_reported(loss, tmp_path):
    cases = classifier_cases()
    assert f"{loss} loss (fused)" in cases and f"{loss} loss (composed)" in cases
    run = tmp_path / "run"
    result = linclass("train", "--loss", loss, "--epochs", "2", "--out", str(run), "--quiet", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["val_accuracy"] > 0.5
    assert LOSSES[loss].title in (run / "report.html").read_text()
    assert json.loads((run / "config.json").read_text())["loss"] == loss


def test_predict_proba_is_offered_where_the_loss_record_says_so(digits):
    X, y, _, _ = digits
    for name, loss in LOSSES.items():
        clf = lc.LinearClassifier(name, epochs=1).fit(X, y)
        assert hasattr(clf, "predict_proba") == loss.probabilities
        if loss.probabilities:
            np.testing.assert_allclose(clf.predict_proba(X[:3]).sum(axis=1), 1.0, rtol=1e-6)


def test_the_reference_page_is_written_from_the_declarations():
    from linclass.reference import markdown

    page = (Path(__file__).parents[1] / "docs" / "reference.md").read_text()
    assert page == markdown(), "docs/reference.md is stale: run python -m linclass.reference > docs/reference.md"
    for name in (*LOSSES, *PENALTIES, *OPTIMIZERS, *SCHEDULES, *PARAMETERS):
        assert f"`{name}`" in page
