"""Model files: what is saved comes back exactly, and a damaged, foreign or half-written file is refused."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import linclass as lc
from linclass import LinearClassifier, persist
from linclass.errors import ModelFileError
from linclass.estimator import PARAMETERS
from linclass.files import write_atomically


@pytest.fixture(scope="module")
def digits():
    data = lc.datasets.load("digits")
    return data


@pytest.fixture(scope="module")
def fitted(digits):
    """A classifier with string labels and its preprocessor, trained briefly."""
    pre = lc.datasets.Preprocessor(center="mean")
    X = pre.fit_transform(digits.X_train)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = LinearClassifier(loss="svm", reg=1e-3, epochs=3, optimizer="momentum", lr_schedule="cosine")
    clf.fit(X, names[digits.y_train])
    return clf, pre


@pytest.fixture
def saved(fitted, tmp_path):
    clf, pre = fitted
    path = tmp_path / "model.linclass"
    clf.save(path, preprocessor=pre, metadata={"dataset": "digits", "image_shape": (8, 8)})
    return path


def test_save_then_load_gives_the_same_model(fitted, saved, digits):
    clf, pre = fitted
    loaded = lc.load(saved)
    assert np.array_equal(loaded.W_, clf.W_) and loaded.W_.dtype == np.float32
    assert np.array_equal(loaded.b_, clf.b_)
    assert loaded.classes_.tolist() == clf.classes_.tolist() and loaded.classes_.dtype.kind == "U"
    assert loaded.get_params() == clf.get_params()
    assert loaded.history_ == clf.history_ and loaded.n_features_in_ == 64 and loaded.n_iter_ == 3
    assert loaded.metadata_ == {"dataset": "digits", "image_shape": [8, 8]}
    X_test = loaded.preprocessor_.transform(digits.X_test)
    np.testing.assert_array_equal(X_test, pre.transform(digits.X_test))
    assert np.array_equal(loaded.predict(X_test), clf.predict(X_test))
    np.testing.assert_array_equal(loaded.decision_function(X_test), clf.decision_function(X_test))


@pytest.mark.parametrize("labels", [np.array([3, 7, 11]), np.array([-1.0, 0.0, 2.0]), np.array([False, True, True])],
                         ids=["ints", "floats", "bools"])
def test_numeric_labels_come_back_with_their_type(labels, tmp_path):
    rng = np.random.default_rng(0)
    y = labels[rng.integers(0, len(labels), 60)]
    y[:len(labels)] = labels
    clf = LinearClassifier(epochs=2).fit(rng.standard_normal((60, 3)), y)
    loaded = lc.load(clf.save(tmp_path / "m.linclass"))
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert np.array_equal(loaded.classes_, clf.classes_) and loaded.preprocessor_ is None and loaded.metadata_ == {}


def test_a_loaded_model_can_be_saved_again_with_its_preprocessor(saved, tmp_path):
    again = lc.load(saved).save(tmp_path / "again.linclass")
    reloaded = lc.load(again)
    assert reloaded.preprocessor_.state_dict()["center"] == "mean" and reloaded.metadata_["dataset"] == "digits"


def test_the_file_has_the_documented_layout_and_no_pickle(saved):
    content = saved.read_bytes()
    magic, version, header_size = struct.unpack_from("<8sIQ", content)
    assert magic == b"LINCLASS" and version == persist.FORMAT_VERSION == 2
    header = json.loads(content[20:20 + header_size])
    buffers = {f"trainer.optimizer_state.state.{i}.momentum_buffer" for i in (0, 1)}  # momentum's
    assert {entry["name"] for entry in header["arrays"]} == {"W", "b", "preprocessor.mean", *buffers}
    trainer = header["trainer"]
    assert trainer["optimizer"] == "momentum" and trainer["rng"]["bit_generator"] == "PCG64"
    assert trainer["optimizer_state"]["state"]["0"] == {"momentum_buffer": {"$array": min(buffers)}}
    W_entry = next(entry for entry in header["arrays"] if entry["name"] == "W")
    assert W_entry["dtype"] == "<f4" and W_entry["shape"] == [10, 64]
    data = content[20 + header_size:-32]
    W = np.frombuffer(data, "<f4", count=640, offset=W_entry["offset"]).reshape(10, 64)
    assert np.array_equal(W, lc.load(saved).W_)
    assert content[-32:] == hashlib.sha256(content[:-32]).digest()
    assert b"pickle" not in content and not content.startswith(b"\x80")


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9, -40], ids=["header", "weights", "near-end", "trailer"])
def test_a_flipped_byte_is_refused_as_corrupted(saved, where):
    content = bytearray(saved.read_bytes())
    at = int(where * len(content)) if where > 0 else len(content) + where
    content[at] ^= 0x01
    saved.write_bytes(bytes(content))
    with pytest.raises(ModelFileError, match=rf"^{saved}: corrupted: its SHA-256 checksum does not match"):
        lc.load(saved)


@pytest.mark.parametrize("keep", [0.99, 0.5, 30, 5])
def test_a_truncated_file_is_refused_as_truncated(saved, keep):
    content = saved.read_bytes()
    saved.write_bytes(content[:int(keep * len(content)) if keep < 1 else keep])
    with pytest.raises(ModelFileError, match=rf"^{saved}: truncated"):
        lc.load(saved)


def test_foreign_files_are_refused_saying_what_they_look_like(tmp_path):
    png = tmp_path / "picture.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ModelFileError, match=r"picture.png: not a linclass model file \(it looks like a PNG image\)"):
        lc.load(png)
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("W.npy", b"1234")
    with pytest.raises(ModelFileError, match=r"model.zip: not a linclass model file \(it looks like a zip archive\)"):
        lc.load(archive)
    empty = tmp_path / "empty.linclass"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError, match="the file is empty"):
        lc.load(empty)
    with pytest.raises(ModelFileError, match="no such model file"):
        lc.load(tmp_path / "missing.linclass")


def test_a_newer_format_version_is_refused_naming_it(saved):
    content = bytearray(saved.read_bytes())
    struct.pack_into("<I", content, 8, 7)
    saved.write_bytes(bytes(content))
    with pytest.raises(ModelFileError, match="model format version 7 is newer than this linclass .* upgrade"):
        lc.load(saved)


def test_an_interrupted_save_leaves_the_previous_file_intact(fitted, saved, monkeypatch):
    clf, _ = fitted
    before = saved.read_bytes()

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        LinearClassifier(epochs=1).fit(np.eye(3), [0, 1, 2]).save(saved)
    assert saved.read_bytes() == before and lc.load(saved).classes_.tolist() == clf.classes_.tolist()
    assert os.listdir(saved.parent) == [saved.name]  # no temporary file left behind


def test_a_writer_failing_midway_leaves_the_previous_file_intact(saved):
    before = saved.read_bytes()

    def write_half(stream):
        stream.write(before[:100])
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(saved, write_half)
    assert saved.read_bytes() == before and os.listdir(saved.parent) == [saved.name]


def test_an_unfitted_classifier_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LinearClassifier().save(tmp_path / "m.linclass")
    assert not (tmp_path / "m.linclass").exists()


DATA = Path(__file__).parent / "data"


def test_a_version_1_file_still_loads_and_predicts_as_it_did(tmp_path):
    """tests/data/model-v1.linclass was written by the linclass of format version 1, with the predictions and
    scores that linclass computed beside it: a newer linclass must read it and score the same."""
    path = DATA / "model-v1.linclass"
    expected = json.loads((DATA / "model-v1.expected.json").read_text())
    magic_and_version = struct.unpack_from("<8sI", path.read_bytes())
    assert magic_and_version == (persist.MAGIC, expected["format_version"]) == (b"LINCLASS", 1)
    clf = lc.load(path)
    X = clf.preprocessor_.transform(np.array(expected["images"], dtype=np.uint8))
    assert clf.predict(X).tolist() == expected["predictions"]
    assert np.array_equal(clf.decision_function(X), np.array(expected["scores"], dtype=np.float32))
    assert np.array_equal(clf.predict_proba(X), np.array(expected["probabilities"], dtype=np.float32))
    assert clf.history_["epochs"] == expected["history_epochs"] and clf.metadata_ == expected["metadata"]
    params = clf.get_params()
    assert {name: params[name] for name in expected["hyperparameters"]} == expected["hyperparameters"]
    assert {name: value for name, value in params.items() if name not in expected["hyperparameters"]} == \
        {name: declaration.default for name, declaration in PARAMETERS.items()
         if name not in expected["hyperparameters"]}  # the settings added since, at their defaults
    # Without a training state it goes on as a fresh optimizer would, and is saved again as version 2.
    clf.set_params(warm_start=True, epochs=3).fit(X, expected["predictions"])
    header, _ = persist.read_model_file(clf.save(tmp_path / "again.linclass"))
    assert clf.n_iter_ == 3 and header["trainer"]["optimizer"] == expected["hyperparameters"]["optimizer"]


def test_the_container_does_not_import_the_estimator():
    """persist.py writes and reads headers and arrays; what they mean is the estimator's business."""
    code = "import sys, linclass.persist; print('linclass.estimator' in sys.modules, 'sklearn' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_a_float_array_of_nan_is_refused_naming_it(saved):
    """Any float array: the weights, the preprocessor's statistics, the optimizer's buffers."""
    header, arrays = persist.read_model_file(saved)
    name = "trainer.optimizer_state.state.0.momentum_buffer"
    arrays[name][0, 0] = np.nan
    persist.write_model_file(saved, {key: value for key, value in header.items() if key != "arrays"}, arrays)
    with pytest.raises(ModelFileError, match=rf"^{saved}: the array {name} holds NaN or infinite values"):
        lc.load(saved)


def test_a_value_json_cannot_hold_is_refused_naming_its_place(fitted, tmp_path):
    clf, _ = fitted
    with pytest.raises(TypeError, match=r"^header\.metadata\.when holds .* of type object, which cannot be saved"):
        clf.save(tmp_path / "m.linclass", metadata={"when": object()})
    assert not os.listdir(tmp_path)
