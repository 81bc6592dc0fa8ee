"""Datasets as arrays: .npz archives, folders of .npy files (memory-mapped or not) and .csv tables."""

from __future__ import annotations

import numpy as np
import pytest

from linclass.data import arrays, save
from linclass.data.catalog import load
from linclass.errors import DataError


def test_npz_reads_back_exactly_with_its_class_names(tmp_path, rng):
    X_train = rng.integers(0, 256, (8, 4, 4), dtype=np.uint8)
    X_test = rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    y_train, y_test = np.array([0, 1, 2, 0, 1, 2, 0, 1]), np.array([2, 2, 0])
    np.savez_compressed(tmp_path / "shapes.npz", X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
                        classes=np.array(["circle", "square", "star"]))
    data = load(tmp_path / "shapes.npz")
    np.testing.assert_array_equal(data.X_train, X_train)
    np.testing.assert_array_equal(data.y_test, y_test)
    assert data.classes == ["circle", "square", "star"] and data.image_shape == (4, 4) and data.name == "shapes"
    assert data.y_train.dtype == np.int64


def test_npz_features_can_be_shaped_as_images(tmp_path, rng):
    X = rng.standard_normal((5, 12)).astype(np.float32)
    np.savez(tmp_path / "f.npz", X_train=X, y_train=np.arange(5) % 2, X_test=X[:2], y_test=np.array([0, 1]))
    assert load(tmp_path / "f.npz").image_shape == (12,)
    shaped = load(tmp_path / "f.npz", image_size=(3, 4))
    np.testing.assert_array_equal(shaped.X_train, X.reshape(5, 3, 4))
    with pytest.raises(DataError, match=r"f\.npz: examples have 12 values, which cannot be shaped as "
                                        r"image_size=\(5, 5\)"):
        load(tmp_path / "f.npz", image_size=(5, 5))


def test_string_labels_become_sorted_class_names(tmp_path, rng):
    X = rng.integers(0, 256, (4, 3), dtype=np.uint8)
    np.savez(tmp_path / "s.npz", X_train=X, y_train=np.array(["dog", "cat", "dog", "emu"]), X_test=X[:1],
             y_test=np.array(["cat"]))
    data = load(tmp_path / "s.npz")
    assert data.classes == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(data.y_train, [1, 0, 1, 2])


def test_npz_without_an_array_names_it(tmp_path, rng):
    np.savez(tmp_path / "partial.npz", X_train=np.zeros((2, 3)), y_train=np.zeros(2))
    with pytest.raises(DataError, match=r"partial\.npz: no array 'X_test'"):
        load(tmp_path / "partial.npz")


def test_npz_with_more_labels_than_examples_is_refused(tmp_path):
    np.savez(tmp_path / "m.npz", X_train=np.zeros((3, 2)), y_train=np.zeros(4, int), X_test=np.zeros((1, 2)),
             y_test=np.zeros(1, int))
    with pytest.raises(DataError, match=r"m\.npz \(training set\): 3 examples but 4 labels"):
        load(tmp_path / "m.npz")


def test_npz_labels_beyond_its_class_names_are_refused(tmp_path):
    np.savez(tmp_path / "r.npz", X_train=np.zeros((3, 2)), y_train=np.array([0, 1, 2]), X_test=np.zeros((1, 2)),
             y_test=np.array([1]), classes=np.array(["a", "b"]))
    with pytest.raises(DataError, match=r"r\.npz: training label 2 is outside 0\.\.1 \(2 classes\)"):
        load(tmp_path / "r.npz")


def test_an_npz_holding_pickled_objects_is_refused(tmp_path):
    labels = np.zeros(1, dtype=np.int64)
    np.savez(tmp_path / "o.npz", X_train=np.array([{"a": 1}], dtype=object), y_train=labels,
             X_test=np.zeros((1, 1)), y_test=labels)
    with pytest.raises(DataError, match=r"o\.npz: X_train\.npy: holds Python objects"):
        load(tmp_path / "o.npz")


def test_a_saved_set_is_memory_mapped_back(tmp_path, rng):
    X_train = rng.integers(0, 256, (10, 3, 3, 3), dtype=np.uint8)
    npz = tmp_path / "c.npz"
    np.savez(npz, X_train=X_train, y_train=np.arange(10) % 3, X_test=X_train[:4], y_test=np.array([0, 1, 2, 0]),
             classes=np.array(["x", "y", "z"]))
    folder = save(load(npz), tmp_path / "saved")
    assert sorted(p.name for p in folder.iterdir()) == ["X_test.npy", "X_train.npy", "classes.txt", "y_test.npy",
                                                       "y_train.npy"]
    mapped = load(folder, mmap=True)
    assert isinstance(mapped.X_train, np.memmap) and not mapped.X_train.flags.writeable
    np.testing.assert_array_equal(mapped.X_train, X_train)
    assert mapped.classes == ["x", "y", "z"] and mapped.image_shape == (3, 3, 3) and mapped.name == "saved"
    assert not isinstance(load(folder).X_train, np.memmap)


def test_mmap_of_anything_but_npy_files_is_refused(tmp_path):
    np.savez(tmp_path / "c.npz", X_train=np.zeros((2, 1)), y_train=np.zeros(2, int), X_test=np.zeros((1, 1)),
             y_test=np.zeros(1, int))
    with pytest.raises(ValueError, match=r"mmap=True: .*c\.npz cannot be memory-mapped; convert it once"):
        load(tmp_path / "c.npz", mmap=True)


def test_csv_with_header_reads_back_as_uint8_pixels(tmp_path, rng):
    X = rng.integers(0, 256, (20, 4), dtype=np.uint8)
    y = np.arange(20) % 4
    lines = ["label,p0,p1,p2,p3"] + [",".join(map(str, [label, *row])) for label, row in zip(y, X, strict=True)]
    (tmp_path / "pix.csv").write_text("\n".join(lines) + "\n")
    data = load(tmp_path / "pix.csv", image_size=(2, 2))
    assert data.X_train.dtype == np.uint8 and data.image_shape == (2, 2) and len(data.X_test) == 4
    both = np.concatenate([data.X_train, data.X_test]).reshape(20, 4)
    labels = np.concatenate([data.y_train, data.y_test])
    assert {(int(label), row.tobytes()) for label, row in zip(labels, both, strict=True)} == \
           {(int(label), row.tobytes()) for label, row in zip(y, X, strict=True)}
    assert np.bincount(data.y_test).tolist() == [1, 1, 1, 1]


def test_csv_without_header_with_name_labels_and_float_values(tmp_path):
    rows = ["cat,0.5,1.25", "dog,2,3", "cat,-1,0", "dog,4.5,5", "cat,1,1", "dog,0,0"]
    (tmp_path / "f.csv").write_text("\n".join(rows))
    data = load(tmp_path / "f.csv")
    assert data.classes == ["cat", "dog"] and data.X_train.dtype == np.float32 and data.image_shape == (2,)
    table = {(data.classes[y], tuple(x)) for X, Y in ((data.X_train, data.y_train), (data.X_test, data.y_test))
             for x, y in zip(X, Y, strict=True)}
    assert ("cat", (0.5, 1.25)) in table and ("dog", (4.5, 5.0)) in table and len(table) == 6


def test_csv_train_file_takes_its_test_sibling(tmp_path):
    (tmp_path / "mnist_train.csv").write_text("label,a,b\n0,1,2\n1,3,4\n2,5,6\n")
    (tmp_path / "mnist_test.csv").write_text("label,a,b\n2,7,8\n")
    data = load(tmp_path / "mnist_train.csv")
    np.testing.assert_array_equal(data.X_train, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(data.X_test, [[7, 8]])
    np.testing.assert_array_equal(data.y_test, [2])
    assert data.name == "mnist" and data.classes == ["0", "1", "2"]


def test_ragged_csv_is_refused_naming_the_file_and_row(tmp_path):
    (tmp_path / "bad.csv").write_text("0,1,2\n1,3\n0,4,5\n")
    with pytest.raises(DataError, match=r"bad\.csv: row 2 has 2 values, but row 1 has 3"):
        load(tmp_path / "bad.csv")


def test_csv_of_one_column_is_refused(tmp_path):
    (tmp_path / "one.csv").write_text("1\n2\n")
    with pytest.raises(DataError, match=r"one\.csv: needs a label column and at least one value column"):
        arrays.read_csv(tmp_path / "one.csv")


def test_arbitrary_integer_labels_become_classes_in_numeric_order(tmp_path):
    X = np.zeros((4, 2))
    np.savez(tmp_path / "i.npz", X_train=X, y_train=np.array([10, -1, 3, 10]), X_test=X[:1], y_test=np.array([3]))
    data = load(tmp_path / "i.npz")
    assert data.classes == ["-1", "3", "10"]
    np.testing.assert_array_equal(data.y_train, [2, 0, 1, 2])
