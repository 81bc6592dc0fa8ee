"""``linclass shards`` and ``linclass train --data SHARDS``, run as a user runs them: in a subprocess."""

from __future__ import annotations

import json

import numpy as np

import linclass as lc
from linclass.cli.run_folder import load_model
from linclass.data.shards import read_manifest
from linclass.distributed import Shards
from test_cli_train import linclass


def test_shards_of_a_known_set_then_train_on_them_out_of_core_end_to_end(tmp_path):
    written = linclass("shards", "digits", str(tmp_path / "shards"), "--rows-per-shard", "200", "--seed", "2",
                       "--json")
    assert written.returncode == 0, written.stderr
    summary = json.loads(written.stdout)
    assert summary["splits"] == {"train": {"rows": 1294, "shards": 7}, "validation": {"rows": 144, "shards": 1},
                                 "test": {"rows": 359, "shards": 2}}
    manifest = read_manifest(tmp_path / "shards")
    assert manifest.name == "digits" and manifest.feature_shape == (8, 8) and manifest.dtype == np.uint8

    trained = linclass("train", "--data", str(tmp_path / "shards"), "--block-size", "64K", "--epochs", "12",
                       "--batch-size", "32", "--seed", "2", "--test", "--json", "--out", str(tmp_path / "run"))
    assert trained.returncode == 0, trained.stderr
    run = json.loads(trained.stdout)
    assert run["epochs"] == 12 and run["val_accuracy"] > 0.9 and run["test_accuracy"] > 0.9
    assert 0.9 < run["train_accuracy"] <= 1  # measured on every training row, in a pass over the blocks
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["block_size"] == 65536 and config["data"] == str(tmp_path / "shards")
    report = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    rows = Shards(tmp_path / "shards", block_size=65536).block_rows(multiple=32)
    assert rows == 160 and f"streamed from disk, blocks of {rows} rows" in report
    assert 'training examples</th><td class="number">1294<' in report

    clf = load_model(tmp_path / "run" / "model.linclass")
    data = lc.datasets.load("digits")
    test_accuracy = np.mean(clf.predict(clf.preprocessor_.transform(data.X_test)) == data.y_test)
    assert abs(test_accuracy - run["test_accuracy"]) < 1e-12  # the test split is digits' own test set
    assert clf.metadata_["data"] == str(tmp_path / "shards")

    resumed = linclass("train", "--resume", str(tmp_path / "run"), "--epochs", "14", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["epochs"] == 14


def test_the_validation_split_of_the_shards_is_the_one_train_holds_out_in_memory(tmp_path):
    assert linclass("shards", "digits", str(tmp_path / "shards"), "--seed", "4").returncode == 0
    X_val, y_val = Shards(tmp_path / "shards", "validation").read()
    data = lc.datasets.load("digits")
    _, _, expected_X, expected_y = lc.datasets.train_val_split(data.X_train, data.y_train, 0.1, seed=4)
    assert np.array_equal(X_val, expected_X) and np.array_equal(y_val, expected_y)


def test_shards_of_a_folder_of_arrays_and_plain_text_output(tmp_path, rng):
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = np.arange(120) % 3
    dataset = lc.datasets.Dataset("mine", X[:100], y[:100], X[100:], y[100:], ["a", "b", "c"], (6,), "test")
    lc.datasets.save(dataset, tmp_path / "arrays")
    result = linclass("shards", str(tmp_path / "arrays"), str(tmp_path / "out"), "--val-fraction", "0",
                      "--no-shuffle")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["  train:      100 examples in 1 shard(s)",
                                              "  test:       20 examples in 1 shard(s)",
                                              f"train on it, a block at a time: linclass train --data {tmp_path}/out"]
    train = Shards(tmp_path / "out").read()
    assert np.array_equal(train[0], X[:100]) and np.array_equal(train[1], y[:100])
