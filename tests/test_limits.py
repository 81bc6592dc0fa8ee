"""The memory budget and the claimed-size checks every reader shares."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from linclass import limits
from linclass.data import idx
from linclass.data.catalog import load
from linclass.errors import DataError, LinclassError, ModelFileError


@pytest.mark.parametrize("text, expected", [("800000000", 800_000_000), ("500M", 500 * 2**20), ("4G", 4 * 2**30),
                                            ("1.5GiB", 3 * 2**29), ("64 kB", 64 * 2**10)])
def test_the_environment_variable_takes_bytes_or_a_suffix(monkeypatch, text, expected):
    monkeypatch.setenv("LINCLASS_MAX_MEMORY", text)
    assert limits.memory_budget() == expected


def test_an_argument_wins_over_the_environment_and_the_default(monkeypatch):
    monkeypatch.setenv("LINCLASS_MAX_MEMORY", "1G")
    assert limits.memory_budget(1234) == 1234
    monkeypatch.delenv("LINCLASS_MAX_MEMORY")
    assert limits.memory_budget() == limits.DEFAULT_MAX_MEMORY


def test_the_default_is_half_the_memory_at_most_8_gib():
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert limits.DEFAULT_MAX_MEMORY == min(8 * 2**30, physical // 2)


def test_a_size_that_is_not_one_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("LINCLASS_MAX_MEMORY", "lots")
    with pytest.raises(LinclassError, match=r"LINCLASS_MAX_MEMORY='lots': not a size; give bytes or e\.g\. 500M"):
        limits.memory_budget()


def test_load_takes_the_budget_as_an_argument(tmp_path):
    np.savez(tmp_path / "set.npz", X_train=np.zeros((100, 50)), y_train=np.arange(100) % 2,
             X_test=np.zeros((10, 50)), y_test=np.arange(10) % 2)
    assert load(tmp_path / "set.npz").X_train.shape == (100, 50)
    with pytest.raises(DataError, match=r"set\.npz: X_train\.npy: claims an array of shape \(100, 50\) "
                                         r"\(39\.1 KiB\), more than the memory budget of 1\.0 KiB"):
        load(tmp_path / "set.npz", max_memory=1024)


def test_a_claim_beyond_the_file_is_refused_as_truncated(tmp_path):
    path = tmp_path / "short-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 1000) + bytes(10))
    with pytest.raises(DataError, match=r"short-idx1-ubyte: the header's shape \(1000,\) claims 1000 bytes, but "
                                         r"the file is only 18 bytes; it is truncated or damaged"):
        idx.read_idx(path)


def test_a_gzip_claim_may_reach_the_deflate_ratio_and_no_further(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"\0" * 100)
    limits.check_claim(path, 100 * limits.MAX_DEFLATE_RATIO, "values", compressed=True)
    with pytest.raises(DataError, match=r"x\.gz: values claims 100\.8 KiB, but the compressed file is only 100 bytes"):
        limits.check_claim(path, 100 * limits.MAX_DEFLATE_RATIO + 1, "values", compressed=True)


def test_the_error_class_is_the_callers(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ModelFileError, match=r"pipe: not a regular file"):
        limits.check_regular_file(tmp_path / "pipe", ModelFileError)
    with pytest.raises(DataError, match=r"is a folder, not a file"):
        limits.file_size(tmp_path)


@pytest.mark.parametrize("count, words", [(0, "0 bytes"), (1023, "1023 bytes"), (1024, "1.0 KiB"),
                                          (29_000_000_000, "27.0 GiB"), (2**80, "1.21e+24 bytes")])
def test_sizes_are_described_in_binary_units(count, words):
    assert limits.describe_bytes(count) == words
