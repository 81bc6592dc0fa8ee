"""Training on data larger than memory: ``.npy`` files and shards read a block at a time (linclass.distributed)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import linclass as lc
from linclass.data.preprocess import Preprocessor
from linclass.data.shards import MANIFEST, read_manifest, write_dataset_shards, write_shards
from linclass.distributed import NpyArrays, Shards
from linclass.errors import DataError
from linclass.model import init_weights
from linclass.train import BLOCK_ORDER_STREAM, ROW_ORDER_STREAM, TrainConfig, Trainer

from conftest import need_fashion_mnist, need_file

SRC = Path(__file__).parents[1] / "src"


@pytest.fixture(scope="module")
def digits():
    data = lc.datasets.load("digits")
    return data.X_train, data.y_train


def fresh_trainer(n_features: int, config: TrainConfig, n_classes: int = 10) -> Trainer:
    rng = np.random.default_rng(config.seed)
    W, b = init_weights(n_classes, n_features, rng)
    return Trainer(W, b, config, rng)


def one_line_error(error: pytest.ExceptionInfo, *names: object) -> str:
    """The message of a refusal, checked to be one line naming each of ``names``."""
    message = str(error.value)
    assert "\n" not in message
    for name in names:
        assert str(name) in message, message
    return message


# -- the stream trains as fit trains ----------------------------------------------------------------------

@pytest.mark.parametrize("sampling", ["shuffle", "replacement"])
def test_a_stream_of_one_block_in_fits_row_order_trains_the_weights_of_fit_bit_for_bit(digits, tmp_path, sampling):
    """Shards holding the rows in the order fit puts them in (raw uint8 pixels, spread over several files),
    read as one block without permuting and preprocessed on the way, give fit's weights and losses exactly:
    the block's rows, labels, float32 conversion, preprocessing and mini-batch steps all match."""
    images, y = digits
    config = TrainConfig(epochs=3, batch_size=64, sampling=sampling, seed=3)
    order = np.random.default_rng((config.seed, ROW_ORDER_STREAM)).permutation(len(y))
    if sampling == "replacement":  # fit draws rows from the stored order
        order = np.arange(len(y))
    write_shards(images[order], y[order], tmp_path / "shards", rows_per_shard=100, shuffle=False)
    pre = Preprocessor(center="standardize").fit(images)

    in_memory = fresh_trainer(64, config)
    in_memory.fit(pre.transform(images), y)
    stream = Shards(tmp_path / "shards", block_rows=len(y), shuffle=False, preprocessor=pre)
    streamed = fresh_trainer(64, config)
    history = streamed.fit_stream(stream)

    assert np.array_equal(streamed.W.data, in_memory.W.data) and np.array_equal(streamed.b.data, in_memory.b.data)
    assert history["loss"] == in_memory.history["loss"]
    assert [record["train_accuracy"] for record in history["epochs"]] == \
        [record["train_accuracy"] for record in in_memory.history["epochs"]]


def test_a_stream_of_many_blocks_trains_each_block_as_fit_trains_rows_in_memory(digits, tmp_path):
    """Each block is trained on as fit trains the block's rows: the same steps, block after block, in the
    order BLOCK_ORDER_STREAM draws (checked by replaying the epoch with the trainer's own fit on each block)."""
    images, y = digits
    X = Preprocessor().fit_transform(images)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    config = TrainConfig(epochs=1, batch_size=32, lr=0.01, seed=5)
    source = NpyArrays(tmp_path / "X.npy", tmp_path / "y.npy", block_rows=200)
    streamed = fresh_trainer(64, config)
    streamed.fit_stream(source)

    replay = fresh_trainer(64, config)
    order = np.random.default_rng((config.seed, BLOCK_ORDER_STREAM, 1))
    starts = order.permutation(np.arange(0, len(y), 192))  # blocks of whole batches: 200 rows make 6 of 32
    losses = []
    for start in starts:
        rows = start + order.permutation(min(192, len(y) - start))
        replay.history, replay._features = lc.train.new_history(), X[rows]
        replay._run_epoch(X[rows], y[rows], None, None, max_steps=None)
        losses += replay.history["loss"]
    assert np.array_equal(streamed.W.data, replay.W.data) and streamed.history["loss"] == losses
    assert len(streamed.history["epochs"]) == 1 and len(losses) == int(np.ceil(len(y) / 32))


def test_every_epoch_reads_every_row_once_in_contiguous_blocks_in_a_new_seeded_order(tmp_path):
    n = 1000
    X = np.repeat(np.arange(n, dtype=np.float32)[:, None], 3, axis=1)  # each row holds its own index
    write_shards(X, np.arange(n) % 4, tmp_path / "shards", rows_per_shard=300, shuffle=False)
    source = Shards(tmp_path / "shards", block_rows=128)

    def epoch(seed):
        blocks = [(features[:, 0].astype(int), labels.copy())
                  for features, labels in source.blocks(np.random.default_rng(seed))]
        return blocks

    first, again, second = epoch(1), epoch(1), epoch(2)
    for blocks in (first, second):
        rows = np.concatenate([index for index, _ in blocks])
        assert np.array_equal(np.sort(rows), np.arange(n))  # every row once
        for index, labels in blocks:
            assert index.max() - index.min() == len(index) - 1  # a contiguous range of rows ...
            assert not np.array_equal(index, np.sort(index)) and np.array_equal(labels, index % 4)  # ... permuted
        assert [len(index) for index, _ in blocks if len(index) != 128] == [n % 128]
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(first, again, strict=True))
    assert [index.min() for index, _ in first] != [index.min() for index, _ in second]
    ordered = np.concatenate([features[:, 0].copy() for features, _ in source.blocks()])  # blocks reuse a buffer
    assert np.array_equal(ordered, np.arange(n))  # no generator: the stored order


def test_a_block_holds_whole_batches_and_its_buffers_fit_in_the_block_size(tmp_path):
    write_shards(np.zeros((5000, 28, 28), np.uint8), np.arange(5000) % 10, tmp_path / "shards")
    source = Shards(tmp_path / "shards", block_size=2**20)
    rows = source.block_rows(multiple=64)
    per_row = 2 * 784 + 4 * 784  # read twice (for the permutation) and as float32
    assert rows % 64 == 0 and rows * per_row <= 2**20 < (rows + 64) * (per_row + 24)
    assert source.block_rows(multiple=2**14) == 5000  # at least a batch, at most every row
    with pytest.raises(ValueError, match="block_size=100 is not valid"):
        Shards(tmp_path / "shards", block_size=100)


def test_the_preprocessing_fitted_in_a_streaming_pass_matches_the_one_fitted_in_memory(digits, tmp_path, rng):
    images, y = digits
    floats = rng.normal(5.0, 3.0, size=(900, 7)).astype(np.float32)
    for X, labels in ((images, y), (floats, np.arange(900) % 3)):
        write_shards(X, labels, tmp_path / str(X.dtype), rows_per_shard=250)
        for center in ("mean", "standardize"):
            streamed = Shards(tmp_path / str(X.dtype), block_rows=96).fit_preprocessor(Preprocessor(center=center))
            whole = Preprocessor(center=center).fit(X)
            assert (streamed.low, streamed.high) == (whole.low, whole.high)
            np.testing.assert_allclose(streamed.mean, whole.mean, rtol=1e-6, atol=1e-7)
            if center == "standardize":
                np.testing.assert_allclose(streamed.std, whole.std, rtol=1e-5)
            np.testing.assert_allclose(streamed.transform(X), whole.transform(X), rtol=1e-4, atol=1e-5)


def test_a_classifier_fitted_on_shards_is_accurate_and_goes_on_with_a_warm_start_exactly(digits, tmp_path):
    data = lc.datasets.load("digits")
    write_dataset_shards(data, tmp_path / "shards", rows_per_shard=400)
    train = Shards(tmp_path / "shards", block_rows=300)
    pre = train.fit_preprocessor(Preprocessor())
    X_val, y_val = train.for_split("validation").read()
    X_test, y_test = train.for_split("test").read()
    clf = lc.LinearClassifier(epochs=30, batch_size=32, lr=0.01)
    clf.fit(train, X_val=pre.transform(X_val), y_val=y_val)
    assert clf.score(pre.transform(X_test), y_test) > 0.93
    assert np.array_equal(clf.classes_, np.arange(10)) and clf.n_features_in_ == 64
    assert len(clf.history_["epochs"]) == 30 and clf.history_["epochs"][-1]["val_accuracy"] > 0.93

    whole = lc.LinearClassifier(epochs=6, batch_size=32).fit(train)
    half = lc.LinearClassifier(epochs=3, batch_size=32).fit(train)
    half.set_params(epochs=6, warm_start=True).fit(train)
    assert np.array_equal(half.W_, whole.W_) and half.history_["loss"] == whole.history_["loss"]


def test_a_stream_refuses_labels_beside_it_and_early_stopping_without_a_validation_set(digits, tmp_path):
    images, y = digits
    write_shards(images, y, tmp_path / "shards")
    with pytest.raises(ValueError, match="its labels come with its blocks"):
        lc.LinearClassifier().fit(Shards(tmp_path / "shards"), y)
    with pytest.raises(ValueError, match="needs a validation set in memory"):
        lc.LinearClassifier(early_stopping=True).fit(Shards(tmp_path / "shards"))


@pytest.mark.slow
def test_fashion_mnist_streamed_from_shards_is_learned(tmp_path):
    """The real set in its own format (IDX), written as shards and trained on a block of 8 MiB at a time."""
    folder = need_fashion_mnist()
    data = lc.datasets.load(folder)
    write_dataset_shards(data, tmp_path / "shards")
    train = Shards(tmp_path / "shards", block_size=8 * 2**20)
    pre = train.fit_preprocessor(Preprocessor())
    X_test, y_test = train.for_split("test").read()
    clf = lc.LinearClassifier(epochs=3, lr=0.01).fit(train)
    assert len(train) == 54000 and train.block_rows(256) < 54000 / 4
    assert clf.score(pre.transform(X_test), y_test) > 0.8


# -- memory: the point of it all --------------------------------------------------------------------------

MEASURE = textwrap.dedent("""
    import json, sys
    import numpy as np
    from linclass.distributed.blocks import NpyArrays
    from linclass.data.preprocess import Preprocessor
    from linclass.model import init_weights
    from linclass.train import TrainConfig, Trainer

    source = NpyArrays(sys.argv[1], sys.argv[2], block_size=8 * 2**20)
    source.fit_preprocessor(Preprocessor(scale=False))
    config = TrainConfig(epochs=2, threads=1)
    rng = np.random.default_rng(0)
    W, b = init_weights(len(source.classes), source.shape[1], rng)
    history = Trainer(W, b, config, rng).fit_stream(source)
    peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print(json.dumps({"peak": peak, "accuracy": history["epochs"][-1]["train_accuracy"]}))
""")


def test_a_fit_on_a_file_four_times_its_peak_memory_streams_it(tmp_path):
    """A 320 MB float32 file is trained on (a streaming preprocessing pass and two epochs) in a process whose
    peak resident memory (VmHWM, which counts the pages of memory maps too) is under a quarter of it."""
    need_file("/proc/self/status", "the peak memory (VmHWM) is read from Linux's /proc")
    n, d, k = 80_000, 1000, 10
    rng = np.random.default_rng(0)
    labels = rng.integers(0, k, n)
    centers = rng.normal(size=(k, d)).astype(np.float32)
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, d))
    for start in range(0, n, 8000):
        X[start:start + 8000] = centers[labels[start:start + 8000]] + 3 * rng.standard_normal((8000, d), np.float32)
    X.flush()
    del X
    np.save(tmp_path / "y.npy", labels)
    result = subprocess.run([sys.executable, "-c", MEASURE, str(tmp_path / "X.npy"), str(tmp_path / "y.npy")],
                            capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    size = (tmp_path / "X.npy").stat().st_size
    assert size >= 4 * measured["peak"], f"file {size / 2**20:.0f} MiB, peak {measured['peak'] / 2**20:.0f} MiB"
    assert measured["accuracy"] > 0.9  # it did learn from the rows it read


# -- writing shards ----------------------------------------------------------------------------------------

def test_write_shards_round_trips_the_users_arrays_and_labels(tmp_path, rng):
    X = rng.integers(0, 256, size=(53, 4, 3), dtype=np.uint8)
    y = np.array(["cat", "dog", "emu"])[np.arange(53) % 3]
    X_val, y_val = X[:5], y[:5]
    X_test, y_test = X[5:12], y[5:12]
    folder = write_shards(X, y, tmp_path / "mine", rows_per_shard=10, validation=(X_val, y_val),
                          test=(X_test, y_test), seed=4)
    manifest = read_manifest(folder)
    assert manifest.classes == ["cat", "dog", "emu"] and manifest.feature_shape == (4, 3)
    assert [entry.rows for entry in manifest.splits["train"]] == [10] * 5 + [3] and manifest.rows("test") == 7
    order = np.random.default_rng(4).permutation(53)  # the training rows, in the seeded order they were written
    train_X, train_y = Shards(folder).read()
    assert np.array_equal(train_X, X[order]) and np.array_equal(np.array(manifest.classes)[train_y], y[order])
    val_X, val_y = Shards(folder, "validation").read()
    assert np.array_equal(val_X, X_val) and np.array_equal(np.array(manifest.classes)[val_y], y_val)
    loaded = lc.datasets.load(folder)  # a shards folder read whole: training and validation shards together
    assert loaded.X_train.shape == (58, 4, 3) and np.array_equal(loaded.X_test, X_test)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mine"]  # no temporary folder left


def test_the_dataset_writer_holds_out_the_rows_linclass_train_would(digits, tmp_path):
    data = lc.datasets.load("digits")
    write_dataset_shards(data, tmp_path / "shards", val_fraction=0.1, seed=7, shuffle=False)
    _, _, X_val, y_val = lc.datasets.train_val_split(data.X_train, data.y_train, 0.1, seed=7)
    val_X, val_y = Shards(tmp_path / "shards", "validation").read()
    assert np.array_equal(val_X, X_val) and np.array_equal(val_y, y_val)


def test_an_interrupted_write_leaves_no_folder_and_an_existing_one_is_refused(tmp_path, monkeypatch):
    import linclass.data.shards as shards_module

    calls = []

    def failing_save(stream, arr):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        np.save(stream, arr)

    monkeypatch.setattr(shards_module.np, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        write_shards(np.zeros((30, 2)), np.arange(30) % 2, tmp_path / "out", rows_per_shard=10)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(DataError) as error:
        write_shards(np.zeros((3, 2)), np.arange(3) % 2, tmp_path / "full")
    one_line_error(error, tmp_path / "full", "not an empty folder")


# -- bad input: one line naming the file -----------------------------------------------------------------

@pytest.fixture
def shards(tmp_path):
    X = np.arange(60, dtype=np.float32).reshape(20, 3)
    return write_shards(X, np.arange(20) % 2, tmp_path / "shards", rows_per_shard=10, shuffle=False)


def edit_manifest(folder: Path, change) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    change(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))


def test_a_missing_or_damaged_manifest_is_named(shards, tmp_path):
    with pytest.raises(DataError) as error:
        Shards(tmp_path)
    one_line_error(error, tmp_path / MANIFEST, "missing")
    (shards / MANIFEST).write_text('{"format": "linclass-shards", "version": 1, "classes": [')
    with pytest.raises(DataError) as error:
        Shards(shards)
    one_line_error(error, shards / MANIFEST, "not valid JSON")
    (shards / MANIFEST).write_text('{"format": "something else"}')
    with pytest.raises(DataError) as error:
        Shards(shards)
    one_line_error(error, shards / MANIFEST, "not a linclass shards manifest")


@pytest.mark.parametrize("change, words", [
    (lambda m: m["splits"]["train"][1].update(rows=11), "holds 10 rows, but the manifest says 11"),
    (lambda m: m.update(dtype="uint8"), "float32 examples of shape (3,), but the manifest says uint8"),
    (lambda m: m.update(feature_shape=[4]), "of shape (3,), but the manifest says float32 of shape (4,)"),
    (lambda m: m["splits"]["train"][0].update(features="../elsewhere.npy"), "must be {\"features\": file name"),
    (lambda m: m["splits"]["train"][0].update(labels="train-00001-X.npy"), "holds float32 of shape (10, 3)"),
    (lambda m: m.update(version=2), "manifest version 2"),
])
def test_a_manifest_that_lies_about_its_shards_is_refused_naming_the_file(shards, change, words):
    edit_manifest(shards, change)
    with pytest.raises(DataError) as error:
        Shards(shards)
    message = one_line_error(error, words)
    assert str(shards) in message


def test_a_missing_truncated_or_foreign_shard_is_named(shards):
    (shards / "train-00001-y.npy").unlink()
    with pytest.raises(DataError) as error:
        Shards(shards)
    one_line_error(error, shards / "train-00001-y.npy", "file not found")
    path = shards / "train-00001-X.npy"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(DataError) as error:
        Shards(shards, "train")
    one_line_error(error, path, "not a readable .npy file")
    path.write_bytes(b"not an array at all")
    with pytest.raises(DataError) as error:
        Shards(shards)
    one_line_error(error, path, "not a readable .npy file")


def test_labels_out_of_range_and_non_finite_values_are_named_with_their_row(shards):
    labels = np.load(shards / "train-00001-y.npy")
    labels[4] = 7
    np.save(shards / "train-00001-y.npy", labels)
    with pytest.raises(DataError) as error:
        list(Shards(shards).blocks())
    one_line_error(error, shards / "train-00001-y.npy", "row 4 has the label 7, outside 0..1")
    np.save(shards / "train-00001-y.npy", labels % 2)
    features = np.load(shards / "train-00000-X.npy")
    features[6, 1] = np.nan
    np.save(shards / "train-00000-X.npy", features)
    with pytest.raises(DataError) as error:
        list(Shards(shards).blocks(np.random.default_rng(0)))
    one_line_error(error, shards / "train-00000-X.npy", "row 6 holds a NaN")


def test_arrays_that_cannot_be_streamed_are_refused_naming_the_file(tmp_path):
    np.save(tmp_path / "y.npy", np.arange(6) % 2)
    np.save(tmp_path / "fortran.npy", np.asfortranarray(np.ones((6, 2), np.float32)))
    np.save(tmp_path / "floats.npy", np.ones(6))
    np.save(tmp_path / "short.npy", np.arange(5) % 2)
    np.save(tmp_path / "X.npy", np.ones((6, 2), np.float32))
    cases = [(("fortran.npy", "y.npy"), "Fortran order"), (("X.npy", "floats.npy"), "one integer class index"),
             (("X.npy", "short.npy"), "5 labels, but"), (("X.npy", "nowhere.npy"), "file not found")]
    for (features, labels), words in cases:
        with pytest.raises(DataError) as error:
            NpyArrays(tmp_path / features, tmp_path / labels)
        one_line_error(error, words)
    source = NpyArrays(tmp_path / "X.npy", tmp_path / "y.npy")
    assert source.classes == ["0", "1"] and source.shape == (6, 2)
