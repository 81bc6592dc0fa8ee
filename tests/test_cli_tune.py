"""``linclass tune``: a search over learning rate × regularization (× loss) on the validation split."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

import linclass as lc
from test_cli_train import assert_self_contained, linclass


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tune") / "run"
    result = linclass("tune", "--lr", "0.001,0.1", "--reg", "1e-4,0.1", "--epochs", "3", "--jobs", "2",
                      "--out", str(run_dir), "--json")
    assert result.returncode == 0, result.stderr
    return run_dir, json.loads(result.stdout)


def test_every_setting_is_a_trial_sorted_by_validation_accuracy(grid_run):
    _, summary = grid_run
    trials = summary["trials"]
    assert sorted((t["lr"], t["reg"]) for t in trials) == [(0.001, 1e-4), (0.001, 0.1), (0.1, 1e-4), (0.1, 0.1)]
    accuracies = [t["val_accuracy"] for t in trials]
    assert accuracies == sorted(accuracies, reverse=True)
    assert {key: summary["best"][key] for key in ("lr", "reg", "val_accuracy")} == \
        {key: trials[0][key] for key in ("lr", "reg", "val_accuracy")}
    assert "test_accuracy" not in summary


def test_the_best_model_is_saved_and_scores_what_the_table_says(grid_run):
    run_dir, summary = grid_run
    clf = lc.load(run_dir / "model.linclass")
    assert (clf.lr, clf.reg, clf.epochs) == (summary["best"]["lr"], summary["best"]["reg"], 3)
    data = lc.datasets.load("digits")
    _, _, X_val, y_val = lc.datasets.train_val_split(data.X_train, data.y_train, 0.1, seed=0)
    assert clf.score(clf.preprocessor_.transform(X_val), y_val) == pytest.approx(summary["best"]["val_accuracy"])


def test_run_folder_has_the_trials_table_heat_map_and_report(grid_run):
    run_dir, summary = grid_run
    with open(run_dir / "trials.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(row["rank"]) for row in rows] == [1, 2, 3, 4]
    assert [float(row["val_accuracy"]) for row in rows] == [t["val_accuracy"] for t in summary["trials"]]
    with Image.open(run_dir / "tune.png") as image:
        assert image.format == "PNG" and image.size == (710, 520)  # one 5.5 in panel + 1.6 in, 5.2 in high
    assert {"model.linclass", "config.json", "metrics.csv", "report.html", "history.png"} <= \
        {path.name for path in run_dir.iterdir()}
    assert_self_contained(run_dir / "report.html")
    assert "Hyperparameter search" in (run_dir / "report.html").read_text(encoding="utf-8")


def test_random_search_over_two_losses_prints_a_table(tmp_path):
    result = linclass("tune", "--search", "random", "--trials", "3", "--loss", "softmax,svm", "--lr", "0.01,1",
                      "--reg", "1e-5,1e-2", "--epochs", "2", "--jobs", "1", "--test", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["rank", "loss", "lr", "reg", "val", "accuracy", "train", "accuracy", "epochs",
                                "seconds"]
    rows = [line.split() for line in lines[1:4]]
    assert [row[0] for row in rows] == ["1", "2", "3"] and all(row[1] in ("softmax", "svm") for row in rows)
    assert all(0.01 <= float(row[2]) <= 1 and 1e-5 <= float(row[3]) <= 1e-2 for row in rows)
    best = next(line for line in lines if line.startswith("best: "))
    assert "test accuracy" in best
    clf = lc.load(tmp_path / "run" / "model.linclass")
    data = lc.datasets.load("digits")
    test_accuracy = clf.score(clf.preprocessor_.transform(data.X_test), data.y_test)
    assert best.endswith(f"test accuracy {test_accuracy:.1%}")
    np.testing.assert_array_equal(clf.classes_, np.arange(10))


def test_cross_validation_ranks_by_the_mean_over_folds(tmp_path):
    run_dir = tmp_path / "cv"
    result = linclass("tune", "--cv", "3", "--lr", "0.1", "--reg", "1e-4,1", "--epochs", "3", "--out", str(run_dir),
                      "--json")
    assert result.returncode == 0, result.stderr
    trials = json.loads(result.stdout)["trials"]
    assert [trial["folds"] for trial in trials] == [3, 3] and all(trial["val_accuracy_std"] >= 0 for trial in trials)
    assert trials[0]["val_accuracy"] >= trials[1]["val_accuracy"]
    header = (run_dir / "trials.csv").read_text().splitlines()[0].split(",")
    assert header[header.index("val_accuracy") + 1] == "val_accuracy_std"
