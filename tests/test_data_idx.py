"""IDX files (MNIST, Fashion-MNIST): written here from the format's description, read back exactly."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linclass.data import idx
from linclass.errors import DataError

# The format's type codes (big-endian values), as on the MNIST page.
CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
         np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: 0, 0, type code, number of dimensions, sizes as big-endian uint32, values."""
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    code = CODES[np.dtype(big.dtype)]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + big.tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    content = idx_bytes(array)
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
    return path


def write_idx_set(folder: Path, rng, n_train=12, n_test=5, n_classes=10, suffix=".gz") -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, n_classes, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, n_classes, n_test, dtype=np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(folder / f"{stem}{suffix}", array)
    return arrays


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_images_and_labels_read_back_exactly(tmp_path, rng, suffix):
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7, dtype=np.uint8)
    read_images = idx.read_idx(write_idx(tmp_path / f"images{suffix}", images))
    read_labels = idx.read_idx(write_idx(tmp_path / f"labels{suffix}", labels))
    assert read_images.dtype == np.uint8 and read_images.shape == (7, 28, 28)
    np.testing.assert_array_equal(read_images, images)
    np.testing.assert_array_equal(read_labels, labels)


@pytest.mark.parametrize("dtype", [np.int8, ">i2", ">i4", ">f4", ">f8"])
def test_every_type_code_is_read_in_native_byte_order(tmp_path, rng, dtype):
    array = (rng.standard_normal((3, 4)) * 100).astype(dtype)
    read = idx.read_idx(write_idx(tmp_path / "values.gz", array))
    assert read.dtype.isnative and read.dtype.kind == np.dtype(dtype).kind
    np.testing.assert_array_equal(read, array)


def test_a_set_of_four_gz_files_becomes_a_dataset(tmp_path, rng):
    arrays = write_idx_set(tmp_path, rng)
    data = idx.read_idx_dataset(tmp_path, "tiny", [str(k) for k in range(10)])
    np.testing.assert_array_equal(data.X_train, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.y_train, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(data.X_test, arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert data.y_train.dtype == np.int64 and data.image_shape == (28, 28)


def test_raw_files_with_the_original_sites_dotted_names(tmp_path, rng):
    arrays = write_idx_set(tmp_path, rng, suffix="")
    for stem in arrays:
        (tmp_path / stem).rename(tmp_path / stem.replace("-idx", ".idx"))
    data = idx.read_idx_dataset(tmp_path, "tiny", [str(k) for k in range(10)])
    np.testing.assert_array_equal(data.X_test, arrays["t10k-images-idx3-ubyte"])


def test_truncated_gz_is_refused_naming_the_file(tmp_path, rng):
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: truncated"):
        idx.read_idx(path)


def test_truncated_raw_values_are_refused(tmp_path, rng):
    path = write_idx(tmp_path / "images", rng.integers(0, 256, (5, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"images: .*truncated"):
        idx.read_idx(path)


def test_gz_whose_values_end_early_is_refused(tmp_path, rng):
    content = idx_bytes(rng.integers(0, 256, (5, 28, 28), dtype=np.uint8))
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(content[:-10]))  # a complete gzip stream of too few values
    with pytest.raises(DataError, match=r"images\.gz: truncated; the header declares 3920 bytes"):
        idx.read_idx(path)


def test_extra_bytes_after_the_values_are_refused(tmp_path, rng):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(5, dtype=np.uint8)) + b"\x00"))
    with pytest.raises(DataError, match=r"labels\.gz: more bytes than the header"):
        idx.read_idx(path)


def test_wrong_magic_number_is_refused(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x07\x01" + struct.pack(">I", 3) + b"\x01\x02\x03")
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: wrong magic number 00000701"):
        idx.read_idx(path)


def test_a_header_declaring_more_than_the_file_holds_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**31, 2**31, 2**31)))
    with pytest.raises(DataError, match=r"huge\.gz: claims an array of shape \(2147483648, "):
        idx.read_idx(path)


def test_a_file_that_is_not_gzip_is_refused(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(b"this is not gzip data at all")
    with pytest.raises(DataError, match=r"labels\.gz: truncated or corrupt gzip data"):
        idx.read_idx(path)


def test_label_and_image_counts_must_match(tmp_path, rng):
    write_idx_set(tmp_path, rng, n_train=12)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, dtype=np.uint8))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz \+ .*train-labels-idx1-ubyte\.gz: "
                                        r"12 examples but 11 labels"):
        idx.read_idx_dataset(tmp_path, "tiny", [str(k) for k in range(10)])


def test_labels_out_of_range_are_refused(tmp_path, rng):
    write_idx_set(tmp_path, rng, n_test=5)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 10, 2, 3], dtype=np.uint8))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: label 10 is outside 0\.\.9"):
        idx.read_idx_dataset(tmp_path, "tiny", [str(k) for k in range(10)])


def test_images_must_be_three_dimensional_bytes(tmp_path, rng):
    write_idx_set(tmp_path, rng)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (12, 784), dtype=np.uint8))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: holds a 2-D uint8 array, expected 3-D"):
        idx.read_idx_dataset(tmp_path, "tiny", [str(k) for k in range(10)])


def test_a_missing_file_of_the_set_is_named(tmp_path, rng):
    write_idx_set(tmp_path, rng)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz \(or t10k-labels-idx1-ubyte\) is missing"):
        idx.read_idx_dataset(tmp_path, "tiny", [str(k) for k in range(10)])


FUZZ = settings(max_examples=150, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
VALID = idx_bytes(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))


def read_or_refuse(path: Path) -> None:
    """The reader's whole contract on any input: an array whose size the header declared, or DataError."""
    try:
        array = idx.read_idx(path)
    except DataError:
        return
    assert isinstance(array, np.ndarray) and array.ndim >= 1


@FUZZ
@given(content=st.binary(max_size=64), compress=st.booleans())
def test_fuzzed_bytes_load_or_raise_data_error(tmp_path, content, compress):
    path = tmp_path / ("fuzz.gz" if compress else "fuzz")
    path.write_bytes(gzip.compress(content) if compress else content)
    read_or_refuse(path)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=4),
       cut=st.integers(0, len(VALID)), compress=st.booleans(), cut_gzip=st.booleans())
def test_mutated_idx_files_load_or_raise_data_error(tmp_path, edits, cut, compress, cut_gzip):
    content = bytearray(VALID)
    for position, value in edits:
        content[position] = value
    content = bytes(content) if cut_gzip else bytes(content[:cut])
    if compress:
        content = gzip.compress(content)
        content = content[:cut] if cut_gzip else content
    path = tmp_path / ("fuzz.gz" if compress else "fuzz")
    path.write_bytes(content)
    read_or_refuse(path)


def test_a_gz_of_several_members_reads_as_its_members_one_after_another(tmp_path, rng):
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    content = idx_bytes(images)
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(content[:100]) + gzip.compress(content[100:2000]) + gzip.compress(content[2000:]))
    assert gzip.decompress(path.read_bytes()) == content  # what gzip itself reads
    np.testing.assert_array_equal(idx.read_idx(path), images)


def test_a_gz_whose_checksum_does_not_match_is_refused(tmp_path, rng):
    path = write_idx(tmp_path / "images.gz", rng.integers(0, 256, (5, 28, 28), dtype=np.uint8))
    damaged = bytearray(path.read_bytes())
    damaged[-8] ^= 0xFF  # the CRC-32 of the uncompressed bytes, in the gzip trailer
    path.write_bytes(bytes(damaged))
    with pytest.raises(DataError, match=r"images\.gz: truncated or corrupt gzip data"):
        idx.read_idx(path)


def test_a_gz_cut_inside_its_compressed_values_is_refused(tmp_path, rng):
    path = write_idx(tmp_path / "images.gz", rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    with pytest.raises(DataError, match=r"images\.gz: truncated"):
        idx.read_idx(path)


def test_zero_padding_after_a_member_is_skipped_as_gzip_skips_it(tmp_path, rng):
    images = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(images)[:50]) + bytes(700) + gzip.compress(idx_bytes(images)[50:])
                     + bytes(300))
    assert gzip.decompress(path.read_bytes()) == idx_bytes(images)
    np.testing.assert_array_equal(idx.read_idx(path), images)


def test_an_empty_gz_is_refused_as_an_empty_file(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"labels\.gz: wrong magic number \(empty file\)"):
        idx.read_idx(path)


def test_a_gz_is_inflated_in_bounded_pieces_into_its_array(tmp_path, rng, monkeypatch):
    """Reading takes the array and two temporaries of the pieces' sizes, however large the file."""
    import tracemalloc

    monkeypatch.setattr(idx, "INFLATE_INPUT", 2**16)
    monkeypatch.setattr(idx, "INFLATE_OUTPUT", 2**17)
    images = rng.integers(0, 4, (2000, 28, 28), dtype=np.uint8)  # 1.5 MiB that compress well
    path = write_idx(tmp_path / "images.gz", images)
    tracemalloc.start()
    try:
        read = idx.read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(read, images)
    assert peak < images.nbytes + 4 * 2**17, (peak, images.nbytes)
