"""CIFAR-10 and CIFAR-100, python and binary versions, written here as the real files are, read back.

The real python batches are Python 2 protocol-2 pickles of dicts with bytes keys, an N×3072 uint8
array built through ``numpy.core.multiarray._reconstruct`` and lists of labels and file names.
``py2_pickle`` writes exactly that, opcode by opcode; the other tests write the same dicts with
today's ``pickle.dump``.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linclass.data import cifar
from linclass.data.catalog import load
from linclass.errors import DataError

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def planes_to_image(row: np.ndarray) -> np.ndarray:
    """The format's description, pixel by pixel: 1024 red values row by row, then green, then blue."""
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    for channel in range(3):
        for r in range(32):
            for c in range(32):
                image[r, c, channel] = row[channel * 1024 + r * 32 + c]
    return image


def batch_dict(pixels: np.ndarray, labels: list[int], labels_key: bytes = b"labels", extra=None) -> dict:
    return {b"batch_label": b"training batch 1 of 5", labels_key: labels, b"data": pixels,
            b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))], **(extra or {})}


def write_pickle(path: Path, content, protocol: int = 2) -> Path:
    with open(path, "wb") as stream:
        pickle.dump(content, stream, protocol=protocol)
    return path


def write_cifar10_python(folder: Path, rng, per_batch=3, protocol=2) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    parts = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pixels = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [int(k) for k in rng.integers(0, 10, per_batch)]
        write_pickle(folder / name, batch_dict(pixels, labels), protocol)
        parts[name] = (pixels, labels)
    write_pickle(folder / "batches.meta", {b"num_cases_per_batch": per_batch, b"num_vis": 3072,
                                           b"label_names": [name.encode() for name in CIFAR10_NAMES]}, protocol)
    return parts


# Python 2's protocol 2, as cPickle wrote the CIFAR files.
def _str(value: bytes) -> bytes:
    return b"U" + bytes([len(value)]) + value if len(value) < 256 else b"T" + struct.pack("<i", len(value)) + value


def _int(n: int) -> bytes:
    return b"K" + bytes([n]) if 0 <= n < 256 else b"J" + struct.pack("<i", n)


def _uint8_array(array: np.ndarray) -> bytes:
    dtype = (b"cnumpy\ndtype\n" + _str(b"u1") + _int(0) + _int(1) + b"\x87R"
             + b"(" + _int(3) + _str(b"|") + b"NNN" + _int(-1) + _int(-1) + _int(0) + b"tb")
    return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + _int(0) + b"\x85" + _str(b"b") + b"\x87R"
            + b"(" + _int(1) + b"(" + b"".join(_int(n) for n in array.shape) + b"t" + dtype + b"\x89"
            + _str(array.tobytes()) + b"tb")


def py2_pickle(pixels: np.ndarray, labels: list[int]) -> bytes:
    return (b"\x80\x02}(" + _str(b"batch_label") + _str(b"training batch 1 of 5")
            + _str(b"labels") + b"](" + b"".join(_int(k) for k in labels) + b"e"
            + _str(b"data") + _uint8_array(pixels)
            + _str(b"filenames") + b"](" + b"".join(_str(b"img%d.png" % i) for i in range(len(labels))) + b"e"
            + b"u.")


def test_pixel_layout_follows_the_format_description(tmp_path, rng):
    parts = write_cifar10_python(tmp_path, rng, per_batch=2)
    data = cifar.read_cifar10(tmp_path)
    pixels, _ = parts["data_batch_2"]
    np.testing.assert_array_equal(data.X_train[2], planes_to_image(pixels[0]))
    np.testing.assert_array_equal(data.X_train[3], planes_to_image(pixels[1]))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_python_batches_read_back_exactly(tmp_path, rng, protocol):
    parts = write_cifar10_python(tmp_path, rng, per_batch=3, protocol=protocol)
    data = cifar.read_cifar10(tmp_path)
    train = [parts[f"data_batch_{i}"] for i in range(1, 6)]
    expected = np.concatenate([pixels for pixels, _ in train]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(data.X_train, expected)
    np.testing.assert_array_equal(data.y_train, np.concatenate([labels for _, labels in train]))
    np.testing.assert_array_equal(data.y_test, parts["test_batch"][1])
    assert data.X_train.shape == (15, 32, 32, 3) and data.X_train.dtype == np.uint8
    assert data.y_train.dtype == np.int64 and data.classes == CIFAR10_NAMES and data.image_shape == (32, 32, 3)


def test_python_2_pickles_as_distributed_are_read(tmp_path, rng):
    write_cifar10_python(tmp_path, rng)
    pixels = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    (tmp_path / "data_batch_3").write_bytes(py2_pickle(pixels, [9, 0, 300 % 10, 5]))
    batch = cifar.read_python_batch(tmp_path / "data_batch_3")
    assert batch["filenames"][1] == b"img1.png" and batch["labels"] == [9, 0, 0, 5]
    data = cifar.read_cifar10(tmp_path)
    np.testing.assert_array_equal(data.X_train[6:10], pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(data.y_train[6:10], [9, 0, 0, 5])


def test_cifar100_python_uses_fine_labels(tmp_path, rng):
    fine_names = [f"fine{k}" for k in range(100)]
    pixels = {part: rng.integers(0, 256, (n, 3072), dtype=np.uint8) for part, n in (("train", 6), ("test", 2))}
    fine = {"train": [0, 99, 5, 42, 7, 1], "test": [98, 3]}
    for part in ("train", "test"):
        write_pickle(tmp_path / part, batch_dict(pixels[part], fine[part], b"fine_labels",
                                                 {b"coarse_labels": [k // 5 for k in fine[part]]}))
    write_pickle(tmp_path / "meta", {b"fine_label_names": [n.encode() for n in fine_names],
                                     b"coarse_label_names": [f"coarse{k}".encode() for k in range(20)]})
    data = cifar.read_cifar100(tmp_path)
    np.testing.assert_array_equal(data.y_train, fine["train"])
    np.testing.assert_array_equal(data.y_test, fine["test"])
    np.testing.assert_array_equal(data.X_test[1], planes_to_image(pixels["test"][1]))
    assert data.classes == fine_names


def write_cifar10_binary(folder: Path, rng, per_batch=3) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    parts = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        pixels = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, per_batch, dtype=np.uint8)
        records = (bytes([label]) + row.tobytes() for label, row in zip(labels, pixels, strict=True))
        (folder / name).write_bytes(b"".join(records))
        parts[name] = (pixels, labels)
    (folder / "batches.meta.txt").write_text("\n".join(CIFAR10_NAMES) + "\n\n")
    return parts


def test_binary_batches_read_back_exactly(tmp_path, rng):
    parts = write_cifar10_binary(tmp_path, rng)
    data = cifar.read_cifar10(tmp_path)
    pixels, labels = parts["test_batch.bin"]
    np.testing.assert_array_equal(data.X_test, [planes_to_image(row) for row in pixels])
    np.testing.assert_array_equal(data.y_test, labels)
    np.testing.assert_array_equal(data.y_train[-3:], parts["data_batch_5.bin"][1])
    assert data.classes == CIFAR10_NAMES


def test_cifar100_binary_takes_the_fine_label_byte(tmp_path, rng):
    pixels = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    coarse, fine = [1, 19, 0, 7], [5, 99, 0, 36]
    records = b"".join(bytes([c, f]) + row.tobytes() for c, f, row in zip(coarse, fine, pixels, strict=True))
    (tmp_path / "train.bin").write_bytes(records)
    (tmp_path / "test.bin").write_bytes(records[:2 * 3074])
    (tmp_path / "fine_label_names.txt").write_text("\n".join(f"name{k}" for k in range(100)))
    data = cifar.read_cifar100(tmp_path)
    np.testing.assert_array_equal(data.y_train, fine)
    np.testing.assert_array_equal(data.y_test, fine[:2])
    np.testing.assert_array_equal(data.X_train[3], planes_to_image(pixels[3]))


def test_load_finds_cifar10_by_name_under_root(tmp_path, rng):
    write_cifar10_python(tmp_path / "cifar-10-batches-py", rng)
    data = load("cifar10", root=tmp_path)
    assert data.source == str(tmp_path / "cifar-10-batches-py") and len(data.X_test) == 3


class RunsCode:
    """Unpickling this calls ``exec``, which writes a marker file: what an attack would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",)


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path, rng):
    write_cifar10_python(tmp_path, rng)
    marker = tmp_path / "marker"
    write_pickle(tmp_path / "data_batch_2", batch_dict(RunsCode(marker), [1, 2, 3]))
    with pytest.raises(DataError, match=r"data_batch_2: not a CIFAR python batch: "
                                        r"refused to load (__builtin__|builtins)\.exec"):
        cifar.read_cifar10(tmp_path)
    assert not marker.exists()
    pickle.loads((tmp_path / "data_batch_2").read_bytes())  # the payload is real: plain pickle runs it
    assert marker.read_text() == "code ran"


@pytest.mark.parametrize("module, name", [("os", "system"), ("builtins", "eval"), ("numpy", "load"),
                                          ("subprocess", "Popen"), ("numpy.testing", "assert_"),
                                          ("__main__", "anything")])
def test_every_global_outside_the_array_helpers_is_refused(tmp_path, module, name):
    path = tmp_path / "batches.meta"
    path.write_bytes(b"\x80\x02c" + f"{module}\n{name}\n".encode() + _str(b"echo hi") + b"\x85R.")
    with pytest.raises(DataError, match=rf"batches\.meta: .*refused to load {module}\.{name}"):
        cifar.read_python_batch(path)


def test_codecs_encode_is_allowed_only_for_latin1(tmp_path):
    path = tmp_path / "batch"
    path.write_bytes(b"\x80\x02c_codecs\nencode\n" + b"X\x02\x00\x00\x00hiX\x05\x00\x00\x00rot13\x86R.")
    with pytest.raises(DataError, match=r"batch: not a CIFAR python batch: refused _codecs\.encode"):
        cifar.read_python_batch(path)


def test_count_mismatch_in_a_python_batch_is_refused(tmp_path, rng):
    write_cifar10_python(tmp_path, rng)
    write_pickle(tmp_path / "test_batch", batch_dict(rng.integers(0, 256, (3, 3072), dtype=np.uint8), [1, 2]))
    with pytest.raises(DataError, match=r"test_batch: 3 examples but 2 labels"):
        cifar.read_cifar10(tmp_path)


def test_python_labels_out_of_range_are_refused(tmp_path, rng):
    write_cifar10_python(tmp_path, rng)
    write_pickle(tmp_path / "data_batch_4", batch_dict(rng.integers(0, 256, (2, 3072), dtype=np.uint8), [3, 10]))
    with pytest.raises(DataError, match=r"data_batch_4: label 10 is outside 0\.\.9"):
        cifar.read_cifar10(tmp_path)


def test_data_of_the_wrong_shape_is_refused(tmp_path, rng):
    write_cifar10_python(tmp_path, rng)
    write_pickle(tmp_path / "data_batch_1", batch_dict(np.zeros((2, 3000), dtype=np.uint8), [1, 2]))
    with pytest.raises(DataError, match=r"data_batch_1: 'data' must be a uint8 array N×3072, found a uint8 "
                                        r"array of shape \(2, 3000\)"):
        cifar.read_cifar10(tmp_path)


def test_a_binary_batch_of_partial_records_is_refused(tmp_path, rng):
    write_cifar10_binary(tmp_path, rng)
    path = tmp_path / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataError, match=r"data_batch_3\.bin: 9218 bytes is not a whole number of 3073-byte records"):
        cifar.read_cifar10(tmp_path)


def test_binary_labels_out_of_range_are_refused(tmp_path, rng):
    write_cifar10_binary(tmp_path, rng)
    path = tmp_path / "test_batch.bin"
    content = bytearray(path.read_bytes())
    content[3073] = 12
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match=r"test_batch\.bin: label 12 is outside 0\.\.9"):
        cifar.read_cifar10(tmp_path)


def test_missing_batch_and_wrong_number_of_class_names(tmp_path, rng):
    write_cifar10_binary(tmp_path, rng)
    (tmp_path / "batches.meta.txt").write_text("\n".join(CIFAR10_NAMES[:9]))
    with pytest.raises(DataError, match=r"batches\.meta\.txt: 9 class names, expected 10"):
        cifar.read_cifar10(tmp_path)
    (tmp_path / "batches.meta.txt").write_text("\n".join(CIFAR10_NAMES))
    (tmp_path / "data_batch_5.bin").unlink()
    with pytest.raises(DataError, match=r"data_batch_5\.bin: file not found"):
        cifar.read_cifar10(tmp_path)


def test_a_file_that_is_not_a_pickle_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"PNG\x89 definitely not a pickle")
    with pytest.raises(DataError, match=r"data_batch_1: "):
        cifar.read_python_batch(path)


FUZZ = settings(max_examples=150, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
SMALL_BATCH = pickle.dumps(batch_dict(np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072) % 251, [1, 2]),
                           protocol=2)


def load_or_refuse(folder: Path) -> None:
    """The loader's whole contract on any input: a consistent dataset, or DataError."""
    try:
        data = cifar.read_cifar10(folder)
    except DataError:
        return
    assert data.X_train.shape[1:] == (32, 32, 3) and len(data.X_train) == len(data.y_train)
    assert data.y_train.min() >= 0 and data.y_train.max() < 10


@pytest.fixture
def python_folder(tmp_path):
    write_cifar10_python(tmp_path, np.random.default_rng(0), per_batch=2)
    return tmp_path


@FUZZ
@given(content=st.binary(max_size=200))
def test_fuzzed_python_batches_load_or_raise_data_error(python_folder, content):
    (python_folder / "data_batch_1").write_bytes(content)
    load_or_refuse(python_folder)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, len(SMALL_BATCH) - 1), st.integers(0, 255)), min_size=1,
                      max_size=3),
       cut=st.integers(1, len(SMALL_BATCH)))
def test_mutated_python_batches_load_or_raise_data_error(python_folder, edits, cut):
    content = bytearray(SMALL_BATCH)
    for position, value in edits:
        content[position] = value
    (python_folder / "data_batch_1").write_bytes(bytes(content[:cut]))
    load_or_refuse(python_folder)


@FUZZ
@given(content=st.binary(max_size=2 * 3073 + 3))
def test_fuzzed_binary_batches_load_or_raise_data_error(tmp_path, content):
    if not (tmp_path / "test_batch.bin").exists():
        write_cifar10_binary(tmp_path, np.random.default_rng(0), per_batch=1)
    (tmp_path / "data_batch_1.bin").write_bytes(content)
    load_or_refuse(tmp_path)
