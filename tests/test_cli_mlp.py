"""The command line with ``--model mlp``: the same run folder and report, the hidden units' templates,
``evaluate``, ``predict``, ``--resume`` and ``tune`` on a network."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

import linclass as lc
from linclass.cli.run_folder import load_model
from conftest import need_fashion_mnist
from test_cli_train import assert_one_line_error, assert_self_contained, linclass


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("mlp") / "run"
    result = linclass("train", "--model", "mlp", "--hidden", "24", "--activation", "tanh", "--lr", "0.1",
                      "--epochs", "6", "--out", str(run_dir), "--test", "--json")
    assert result.returncode == 0, result.stderr
    return run_dir, json.loads(result.stdout)


def test_a_network_run_writes_the_folder_and_a_report_of_its_hidden_units(mlp_run):
    run_dir, summary = mlp_run
    assert summary["test_accuracy"] > 0.85 and summary["epochs"] == 6
    clf = load_model(run_dir / "model.linclass")
    assert type(clf) is lc.MLPClassifier and clf.hidden_layer_sizes == (24,) and clf.activation == "tanh"
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["model"], config["hidden"], config["activation"]) == ("mlp", "24", "tanh")
    assert (run_dir / "unit_templates.png").exists() and not (run_dir / "templates.png").exists()
    with Image.open(run_dir / "unit_templates.png") as image:
        assert image.width > 300
    page = (run_dir / "report.html").read_text()
    assert "What the hidden units look for" in page and "Learned templates" not in page
    assert_self_contained(run_dir / "report.html")


def test_evaluate_and_predict_take_a_network(mlp_run, tmp_path):
    run_dir, summary = mlp_run
    evaluated = linclass("evaluate", str(run_dir), "--json", "--out", str(tmp_path / "confusion.png"))
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(summary["test_accuracy"])
    digit = lc.datasets.load("digits").X_test[0]
    Image.fromarray(digit).save(tmp_path / "digit.png")
    predicted = linclass("predict", str(run_dir), str(tmp_path / "digit.png"), "--json")
    assert predicted.returncode == 0, predicted.stderr
    assert len(json.loads(predicted.stdout)["predictions"][0]["top"]) == 3


def test_resume_trains_the_network_on(mlp_run, tmp_path):
    run_dir, _ = mlp_run
    copy = tmp_path / "run"
    copy.mkdir()
    for path in run_dir.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    result = linclass("train", "--resume", str(copy), "--epochs", "8", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["epochs"] == 8 and type(load_model(copy / "model.linclass")) is lc.MLPClassifier


def test_a_bad_hidden_layer_is_one_line():
    result = linclass("train", "--model", "mlp", "--hidden", "100,0")
    assert_one_line_error(result, "train", "argument --hidden: 100,0 is not valid: expected 1 to 16 layer sizes")


def test_tune_searches_hidden_sizes(tmp_path):
    run_dir = tmp_path / "tune"
    result = linclass("tune", "--model", "mlp", "--hidden", "4", "--hidden", "32", "--lr", "0.1", "--reg", "1e-4",
                      "--epochs", "4", "--out", str(run_dir), "--json")
    assert result.returncode == 0, result.stderr
    trials = json.loads(result.stdout)["trials"]
    assert sorted(tuple(trial["hidden_layer_sizes"]) for trial in trials) == [(4,), (32,)]
    assert np.argmax([trial["val_accuracy"] for trial in trials]) == 0  # ranked best first
    assert type(lc.load(run_dir / "model.linclass")) is lc.MLPClassifier


@pytest.mark.slow
def test_a_default_network_run_reaches_88_percent_on_fashion_mnist_in_a_minute(tmp_path):
    need_fashion_mnist()
    started = time.perf_counter()
    result = linclass("train", "--model", "mlp", "--data", "fashion-mnist", "--test", "--quiet", "--json",
                      "--out", str(tmp_path / "run"), timeout=300)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["test_accuracy"] >= 0.88 and seconds < 60
