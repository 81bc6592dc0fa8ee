"""Structured fuzzing of every reader: any input is read, or refused with one of linclass's own errors.

The byte-level fuzzers live beside each reader's tests; these build inputs that are well-formed on the
outside and hostile inside (IDX headers of absurd dimensions, pickles of any nesting, ``.npy`` members
of any shape and dtype, ragged or non-numeric tables, images of any mode and size, model headers with
any field replaced and the checksum recomputed). Every search is derandomized and bounded, and runs
under a 64 MiB memory budget, so a claim the readers fail to check shows as a slow or failing example.
Anything raised but a ``LinclassError`` fails the test.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import math
import os
import pickle
import struct
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from linclass.cli import main
from linclass.data import cifar
from linclass.data.catalog import load
from linclass.errors import LinclassError
from test_cli_predict import save_digits_model
from test_data_cifar import write_cifar10_binary, write_cifar10_python
from test_data_idx import write_idx_set
from test_hostile_files import rewrite_header

FUZZ = settings(max_examples=250, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SIZES = st.sampled_from([0, 1, 2, 3, 28, 255, 3072, 2**16, 2**31 - 1, 2**31, 2**32 - 1])


@pytest.fixture(scope="module", autouse=True)
def small_budget():
    """A 64 MiB memory budget for the whole module: every large claim must be refused, not allocated."""
    before = os.environ.get("LINCLASS_MAX_MEMORY")
    os.environ["LINCLASS_MAX_MEMORY"] = "64M"
    yield
    if before is None:
        del os.environ["LINCLASS_MAX_MEMORY"]
    else:
        os.environ["LINCLASS_MAX_MEMORY"] = before


def read_or_refuse(read, *args):
    """``read(*args)``, or None when it is refused with a ``LinclassError``; any other exception, and any
    warning (which the command line would print as more lines), escapes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return read(*args)
    except LinclassError as error:
        assert "\n" not in str(error), str(error)
        return None


# -- IDX ------------------------------------------------------------------------------------------


@FUZZ
@given(type_code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07, 0xFF]),
       dims=st.lists(SIZES, min_size=0, max_size=70), body=st.integers(0, 4096), compress=st.booleans())
def test_idx_headers_of_any_dimensions(tmp_path, type_code, dims, body, compress):
    content = bytes([0, 0, type_code, len(dims) % 256]) + struct.pack(f">{len(dims)}I", *dims) + bytes(body)
    write_idx_set(tmp_path, np.random.default_rng(0), n_train=2, n_test=2)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(content) if compress else content)
    if not compress:
        (tmp_path / "train-images-idx3-ubyte.gz").rename(tmp_path / "train-images-idx3-ubyte")
    data = read_or_refuse(load, tmp_path)
    if data is not None:
        assert data.X_train.ndim == 3 and len(data.X_train) == len(data.y_train)
    (tmp_path / "train-images-idx3-ubyte").unlink(missing_ok=True)


# -- CIFAR ----------------------------------------------------------------------------------------

PICKLED = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.binary(max_size=8) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.binary(max_size=6), inner, max_size=4)
    | st.builds(lambda item, n: [item] * n, inner, st.integers(0, 200)),
    max_leaves=30)


@pytest.fixture(scope="module")
def python_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cifar-python")
    write_cifar10_python(folder, np.random.default_rng(0), per_batch=2)
    return folder


@FUZZ
@given(labels=PICKLED, data=st.sampled_from(["good", "wrong dtype", "object", "list"]), protocol=st.integers(2, 5))
def test_cifar_python_batches_of_any_structure(python_folder, labels, data, protocol):
    pixels = {"good": np.zeros((2, 3072), np.uint8), "wrong dtype": np.zeros((2, 3072), np.float64),
              "object": np.array([None, 1], dtype=object), "list": [[0] * 3072] * 2}[data]
    with open(python_folder / "data_batch_1", "wb") as stream:
        pickle.dump({b"batch_label": b"fuzz", b"labels": labels, b"data": pixels}, stream, protocol=protocol)
    data_set = read_or_refuse(cifar.read_cifar10, python_folder)
    if data_set is not None:
        assert data_set.y_train.min() >= 0 and data_set.y_train.max() < 10


@FUZZ
@given(records=st.integers(0, 4), extra=st.integers(0, 3073), labels=st.binary(min_size=4, max_size=4))
def test_cifar_binary_batches_of_any_length_and_labels(tmp_path, records, extra, labels):
    if not (tmp_path / "test_batch.bin").exists():
        write_cifar10_binary(tmp_path, np.random.default_rng(0), per_batch=1)
    content = b"".join(labels[i:i + 1] + bytes(3072) for i in range(records)) + bytes(extra)
    (tmp_path / "data_batch_1.bin").write_bytes(content)
    data_set = read_or_refuse(cifar.read_cifar10, tmp_path)
    if data_set is not None:
        assert data_set.y_train.max() < 10 and len(data_set.X_train) == len(data_set.y_train)


# -- .npz -----------------------------------------------------------------------------------------

DTYPES = st.sampled_from(["<f4", "<f8", "|u1", "<i8", "|b1", "<U3", "|S2", "<c8", "<f2", "<M8[s]"])


def npy_member(shape: tuple[int, ...], dtype: str, body: int) -> bytes:
    """An ``.npy`` file whose header says ``shape`` and ``dtype``, followed by ``body`` bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": shape})
    return header.getvalue() + bytes(body)


@FUZZ
@given(members=st.dictionaries(st.sampled_from(["X_train", "y_train", "X_test", "y_test", "classes", "other"]),
                               st.tuples(st.lists(SIZES, max_size=4).map(tuple), DTYPES, st.integers(0, 512)),
                               max_size=6),
       compressed=st.booleans(), nan=st.booleans())
def test_npz_members_of_any_shape_and_dtype(tmp_path, members, compressed, nan):
    path = tmp_path / "fuzz.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as archive:
        for name, (shape, dtype, body) in members.items():
            size = math.prod(shape) * np.dtype(dtype).itemsize
            if math.prod(max(n, 1) for n in shape) <= 4096 and body >= size:  # a member that really holds its array
                array = np.zeros(shape, dtype=dtype)
                if nan and array.dtype.kind == "f" and array.size:
                    array.flat[0] = np.nan
                stream = io.BytesIO()
                np.save(stream, array)
                archive.writestr(f"{name}.npy", stream.getvalue())
            else:
                archive.writestr(f"{name}.npy", npy_member(shape, dtype, body))
    read_or_refuse(load, path)


# -- CSV ------------------------------------------------------------------------------------------

CELLS = st.sampled_from(["0", "1", "2", "255", "3.5", "-1", "nan", "inf", "-inf", "1e40", "cat", "", " 7", "0x1",
                         "\x00", "é", '"1"', "#"])


@FUZZ
@given(rows=st.lists(st.lists(CELLS, min_size=1, max_size=5), min_size=0, max_size=12),
       header=st.booleans(), blank=st.integers(0, 12), ending=st.sampled_from(["\n", "\r\n"]))
def test_csv_tables_of_any_cells_and_widths(tmp_path, rows, header, blank, ending):
    lines = [",".join(row) for row in rows]
    if header and lines:
        lines.insert(0, ",".join(["label"] + [f"v{i}" for i in range(len(rows[0]) - 1)]))
    lines.insert(min(blank, len(lines)), "")
    (tmp_path / "fuzz.csv").write_text(ending.join(lines) + ending, encoding="utf-8")
    data = read_or_refuse(load, tmp_path / "fuzz.csv")
    if data is not None:
        assert np.isfinite(np.asarray(data.X_train, dtype=np.float64)).all()
        assert len(data.classes) >= 2


# -- folders of images ------------------------------------------------------------------------------


@FUZZ
@given(images=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]),
                                 st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I;16"]),
                                 st.tuples(st.integers(1, 12), st.integers(1, 12)), st.integers(-1, 200)),
                       min_size=1, max_size=6),
       image_size=st.none() | st.tuples(st.integers(1, 9), st.integers(1, 9)))
def test_image_folders_of_any_modes_sizes_and_damage(tmp_path_factory, images, image_size):
    folder = tmp_path_factory.mktemp("images")
    for i, (label, mode, size, cut) in enumerate(images):
        (folder / label).mkdir(exist_ok=True)
        stream = io.BytesIO()
        Image.new(mode, size).save(stream, format="PNG")
        content = stream.getvalue()
        (folder / label / f"{i}.png").write_bytes(content if cut < 0 else content[:cut])
    data = read_or_refuse(load, folder, None, image_size)
    if data is not None:
        assert data.X_train.dtype == np.uint8 and len(data.classes) >= 2


# -- model files ----------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=6)
    | st.sampled_from([0, 1, -1, 10, 64, 2**40, 60000, "<f4", "|u1", "str", "array", "W", "classes"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)


def header_paths(value, prefix=()) -> list[tuple]:
    """Every place in a JSON header (keys and list items, long lists cut to their first three)."""
    places = [prefix]
    items = value.items() if isinstance(value, dict) else enumerate(value[:3]) if isinstance(value, list) else ()
    for key, item in items:
        places += header_paths(item, prefix + (key,))
    return places


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A good model of the digits, the places of its header, and an image to predict."""
    folder = tmp_path_factory.mktemp("model")
    model = save_digits_model(folder / "good")
    Image.new("L", (8, 8)).save(folder / "digit.png")
    content = model.read_bytes()
    size = struct.unpack_from("<Q", content, 12)[0]
    header = json.loads(content[20:20 + size])
    return model, [path for path in header_paths(header) if path], folder / "digit.png"


@FUZZ
@given(data=st.data())
def test_model_headers_with_any_field_replaced_and_the_checksum_recomputed(model_files, tmp_path_factory, data):
    model, places, image = model_files
    place = data.draw(st.sampled_from(places))
    value = data.draw(JSON_VALUES)
    edited = tmp_path_factory.mktemp("edited") / "model.linclass"
    edited.write_bytes(model.read_bytes())

    def replace(header):
        target = header
        for key in place[:-1]:
            target = target[key]
        target[place[-1]] = value

    rewrite_header(edited, replace)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as errors:
        code = main(["predict", str(edited), str(image)])
    assert code in (0, 2) and "Traceback" not in errors.getvalue()
    assert len(errors.getvalue().strip().splitlines()) == (code != 0)
