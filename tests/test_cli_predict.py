"""``linclass predict``: image files of any size and mode, classified by a saved model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import linclass as lc
from test_cli_train import linclass


def save_digits_model(folder: Path, loss: str = "softmax", metadata: bool = True) -> Path:
    """Train a small model on the digits' training set as ``linclass train`` does, and save it."""
    data = lc.datasets.load("digits")
    pre = lc.datasets.Preprocessor().fit(data.X_train)
    clf = lc.LinearClassifier(loss=loss, lr=0.1, epochs=5).fit(pre.transform(data.X_train), data.y_train)
    info = {"dataset": "digits", "classes": data.classes, "image_shape": list(data.image_shape)}
    folder.mkdir(parents=True, exist_ok=True)
    return clf.save(folder / "model.linclass", preprocessor=pre, metadata=info if metadata else None)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {loss: save_digits_model(root / loss, loss) for loss in ("softmax", "svm")}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Three test digits written as 32×32 RGB PNGs (the model wants 8×8 greyscale) and one as 8×8 L."""
    folder = tmp_path_factory.mktemp("images")
    data = lc.datasets.load("digits")
    paths = []
    for i in range(3):
        path = folder / f"digit{i}.png"
        Image.fromarray(data.X_test[i]).convert("RGB").resize((32, 32), Image.Resampling.NEAREST).save(path)
        paths.append(path)
    Image.fromarray(data.X_test[3]).save(folder / "small.png")
    return paths + [folder / "small.png"]


def expected_scores(model_path: Path, image_paths: list[Path]) -> np.ndarray:
    """What the model itself gives for the images, read and converted by linclass.datasets.load_image."""
    clf = lc.load(model_path)
    arrays = np.stack([lc.datasets.load_image(path, (8, 8))[0] for path in image_paths])
    return clf.decision_function(clf.preprocessor_.transform(arrays))


def test_softmax_model_gives_the_top_classes_with_probabilities(models, images):
    result = linclass("predict", str(models["softmax"]), *map(str, images), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    probabilities = lc.load(models["softmax"]).predict_proba(
        lc.load(models["softmax"]).preprocessor_.transform(
            np.stack([lc.datasets.load_image(path, (8, 8))[0] for path in images])))
    assert len(summary["predictions"]) == 4
    for entry, path, row in zip(summary["predictions"], images, probabilities, strict=True):
        assert entry["image"] == str(path) and entry["scores_are"] == "probabilities"
        best = np.argsort(-row, kind="stable")[:3]
        assert [item["index"] for item in entry["top"]] == best.tolist()
        assert [item["class"] for item in entry["top"]] == [str(k) for k in best]
        np.testing.assert_allclose([item["probability"] for item in entry["top"]], row[best], rtol=1e-5)
        assert entry["prediction"] == str(best[0])
    assert summary["predictions"][0]["note"] == "converted RGB→L, resized 32×32→8×8"
    assert summary["predictions"][3]["note"] == "used as is (8×8 L)"


def test_text_output_reads_like_a_sentence(models, images):
    result = linclass("predict", str(models["softmax"]), str(images[0]))
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert re.fullmatch(rf"{re.escape(str(images[0]))}: \d+% \d, \d+% \d, \d+% \d", first)
    assert second == "  image converted RGB→L, resized 32×32→8×8"


def test_svm_scores_are_labelled_as_scores_with_their_softmax(models, images):
    result = linclass("predict", str(models["svm"].parent), str(images[1]), "--top-k", "2")
    assert result.returncode == 0, result.stderr
    scores = expected_scores(models["svm"], [images[1]])[0]
    best = np.argsort(-scores)[:2]
    softmax = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    line = result.stdout.splitlines()[0]
    expected = (f"{images[1]}: scores (SVM, not probabilities): {scores[best[0]]:.2f} {best[0]}, "
                f"{scores[best[1]]:.2f} {best[1]}; softmax of scores: {softmax[best[0]]:.0%} {best[0]}, "
                f"{softmax[best[1]]:.0%} {best[1]}")
    assert line == expected


def test_top_k_is_at_most_the_number_of_classes(models, images):
    result = linclass("predict", str(models["svm"]), str(images[2]), "--top-k", "50", "--json")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)["predictions"][0]
    assert len(entry["top"]) == 10 and entry["scores_are"] == "scores (SVM, not probabilities)"
    assert sum(item["softmax_of_score"] for item in entry["top"]) == pytest.approx(1.0, abs=1e-5)


def test_an_image_unlike_the_training_images_gets_a_one_line_warning(tmp_path):
    """The statistics linclass train keeps: a digit as the model saw them passes, its negative does not."""
    from linclass.cli.image_statistics import training_statistics

    data = lc.datasets.load("digits")
    pre = lc.datasets.Preprocessor().fit(data.X_train)
    clf = lc.LinearClassifier(lr=0.1, epochs=5).fit(pre.transform(data.X_train), data.y_train)
    model = clf.save(tmp_path / "model.linclass", preprocessor=pre, metadata={
        "classes": data.classes, "image_shape": [8, 8], "image_statistics": training_statistics(data.X_train)})
    like, inverted, bright = tmp_path / "like.png", tmp_path / "inverted.png", tmp_path / "bright.png"
    Image.fromarray(data.X_test[0]).save(like)
    Image.fromarray(255 - data.X_test[0]).save(inverted)  # dark digit on white, as a photo of ink on paper
    Image.fromarray(np.full((8, 8), 250, dtype=np.uint8)).save(bright)

    result = linclass("predict", str(model), str(like), str(inverted), str(bright))
    assert result.returncode == 0 and "Traceback" not in result.stderr
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 2 and not any(str(like) in line for line in warnings)
    assert warnings[0].startswith(f"linclass predict: warning: {inverted}: unlike the training images: its mean "
                                  "brightness is ")
    assert "the model learned light on dark images, so this one looks inverted to it" in warnings[0]
    assert warnings[1].startswith(f"linclass predict: warning: {bright}: ") and "expect a poor guess" in warnings[1]
    entries = json.loads(linclass("predict", str(model), str(like), str(inverted), "--json").stdout)["predictions"]
    assert entries[0]["warning"] is None and "inverted" in entries[1]["warning"]


@pytest.mark.parametrize("statistics", [{"mean": "bright", "border": [0.0, 0.1]}, {"mean": [0.1]}, [1, 2], None,
                                        {"mean": [0.1, float("nan")], "border": [0.0, 0.1]}])
def test_statistics_that_are_not_what_training_writes_are_ignored(statistics):
    from linclass.cli.image_statistics import unlike_training

    assert unlike_training(np.full((8, 8), 255, dtype=np.uint8), statistics) is None


def test_linclass_train_keeps_the_training_images_statistics(tmp_path):
    from linclass.cli.image_statistics import training_statistics
    from linclass.cli.pipeline import model_metadata, prepare_data
    from linclass.cli.common import training_defaults

    prepared = prepare_data(training_defaults())
    statistics = model_metadata(prepared)["image_statistics"]
    assert statistics == training_statistics(prepared.train.images)
    assert 0 < statistics["mean"][0] < 0.5 and statistics["border"][0] < statistics["mean"][0]  # light on dark
