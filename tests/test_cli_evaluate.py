"""``linclass evaluate``: accuracy, per-class precision and recall, confusion matrix, against scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from sklearn import metrics

import linclass as lc
from test_cli_predict import save_digits_model
from test_cli_train import assert_one_line_error, linclass


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_digits_model(tmp_path_factory.mktemp("model") / "run")


def predictions(model_path, images):
    clf = lc.load(model_path)
    return clf.predict(clf.preprocessor_.transform(images))


def test_json_matches_scikit_learn_on_the_test_split(model, tmp_path):
    png = tmp_path / "confusion.png"
    result = linclass("evaluate", str(model), "--json", "--out", str(png))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    data = lc.datasets.load("digits")
    predicted = predictions(model, data.X_test)
    assert (summary["split"], summary["data"], summary["n"]) == ("test", "digits", len(data.y_test))
    assert summary["accuracy"] == pytest.approx(metrics.accuracy_score(data.y_test, predicted))
    np.testing.assert_allclose(summary["precision"], metrics.precision_score(data.y_test, predicted, average=None))
    np.testing.assert_allclose(summary["recall"], metrics.recall_score(data.y_test, predicted, average=None))
    np.testing.assert_array_equal(summary["confusion_matrix"], metrics.confusion_matrix(data.y_test, predicted))
    assert summary["support"] == np.bincount(data.y_test).tolist()
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (820, 700)


def test_text_table_on_the_training_split(model):
    result = linclass("evaluate", str(model.parent), "--split", "train")
    assert result.returncode == 0, result.stderr
    data = lc.datasets.load("digits")
    predicted = predictions(model, data.X_train)
    lines = result.stdout.splitlines()
    accuracy = metrics.accuracy_score(data.y_train, predicted)
    assert lines[0] == f"digits train split: {len(data.y_train)} examples, accuracy {accuracy:.1%}"
    assert lines[2].split() == ["class", "precision", "recall", "support"]
    recall = metrics.recall_score(data.y_train, predicted, average=None)
    assert lines[3].split() == ["0", f"{metrics.precision_score(data.y_train, predicted, average=None)[0]:.1%}",
                                f"{recall[0]:.1%}", str(np.sum(data.y_train == 0))]
    matrix = metrics.confusion_matrix(data.y_train, predicted)
    start = lines.index("confusion matrix (rows: true class, columns: predicted class)")
    assert lines[start + 1].split() == [str(k) for k in range(10)]
    for k in range(10):
        assert lines[start + 2 + k].split() == [str(k), *map(str, matrix[k])]


def test_a_model_saved_without_metadata_is_evaluated_on_the_data_given(tmp_path):
    bare = save_digits_model(tmp_path / "bare", metadata=False)
    result = linclass("evaluate", str(bare), "--data", "digits", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n"] == len(lc.datasets.load("digits").y_test)


def test_image_size_resizes_a_folder_of_mixed_sizes_and_evaluate_remembers_it(tmp_path, rng):
    from test_data_folder import write_images

    sizes = [(6, 5), (9, 7), (6, 5), (12, 10)] * 5
    write_images(tmp_path / "shapes", {name: [rng.integers(0, 256, size, dtype=np.uint8) for size in sizes]
                                       for name in ("circle", "square")})
    refused = linclass("train", "--data", str(tmp_path / "shapes"), "--epochs", "1")
    assert_one_line_error(refused, "train", "resize them all with image_size=(H, W) (--image-size HxW on the "
                                            "command line)")
    run_dir = tmp_path / "run"
    trained = linclass("train", "--data", str(tmp_path / "shapes"), "--image-size", "8x6", "--epochs", "2",
                       "--out", str(run_dir), "--json")
    assert trained.returncode == 0, trained.stderr
    assert json.loads((run_dir / "config.json").read_text())["image_size"] == [8, 6]
    clf = lc.load(run_dir / "model.linclass")
    assert clf.metadata_["image_size"] == [8, 6] and clf.metadata_["image_shape"] == [8, 6]

    result = linclass("evaluate", str(run_dir), "--json")  # no --data: the data and its size are remembered
    assert result.returncode == 0, result.stderr
    data = lc.datasets.load(tmp_path / "shapes", image_size=(8, 6))
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(
        np.mean(predictions(run_dir / "model.linclass", data.X_test) == data.y_test))
    tuned = linclass("tune", "--data", str(tmp_path / "shapes"), "--image-size", "8x6", "--lr", "0.1", "--reg",
                     "1e-4", "--epochs", "1", "--out", str(tmp_path / "tune"), "--json")
    assert tuned.returncode == 0, tuned.stderr
    assert lc.load(tmp_path / "tune" / "model.linclass").metadata_["image_size"] == [8, 6]
