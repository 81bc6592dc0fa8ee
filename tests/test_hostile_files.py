"""Hostile and damaged files on the command line: one line, a non-zero exit, no traceback, bounded memory.

Each command runs in a subprocess that reports its peak memory (``VmHWM`` of ``/proc/self/status``),
so that a header claiming gigabytes is shown to be refused before it is allocated, not after.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from linclass import persist
from linclass.data import cifar
from test_cli_predict import save_digits_model
from test_cli_train import assert_one_line_error
from test_data_cifar import CIFAR10_NAMES, batch_dict, write_pickle
from test_data_idx import write_idx_set

PEAK_LIMIT_MB = 500
MEASURE = """
import sys
from linclass.cli import main
try:
    code = main(sys.argv[1:])
finally:
    peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print(f"VmHWM {peak}", flush=True)
sys.exit(code)
"""


def measured(*args: str, env: dict | None = None, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``linclass ARGS``; its result and its peak resident memory in MB."""
    result = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    peak_kb = int(result.stdout.strip().splitlines()[-1].split()[1])
    return result, peak_kb / 1024


def assert_refused(command: str, *args: str, fragments: tuple[str, ...] = (), env: dict | None = None) -> str:
    """The command fails with one line holding ``fragments``, and peaks below :data:`PEAK_LIMIT_MB`."""
    result, peak = measured(command, *args, env=env)
    line = assert_one_line_error(result, command, *fragments)
    assert peak < PEAK_LIMIT_MB, f"peak memory {peak:.0f} MB: {line}"
    return line


def rewrite_header(model: Path, edit) -> Path:
    """Change a model file's header with ``edit(header)`` and recompute its checksum, as a hand edit would."""
    content = model.read_bytes()[:-persist.DIGEST_SIZE]
    magic, version, size = persist.PREAMBLE.unpack_from(content)
    header = json.loads(content[persist.PREAMBLE.size:persist.PREAMBLE.size + size])
    edit(header)
    raw = json.dumps(header).encode()
    body = persist.PREAMBLE.pack(magic, version, len(raw)) + raw + content[persist.PREAMBLE.size + size:]
    model.write_bytes(body + hashlib.sha256(body).digest())
    return model


def idx_folder(folder: Path, images: bytes) -> Path:
    """An IDX set whose training images are the file ``images``; the other three files are good."""
    write_idx_set(folder, np.random.default_rng(0), n_train=2, n_test=2)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(images)
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    Image.new("L", (8, 8)).save(root / "digit.png")
    save_digits_model(root / "good")
    return root


def test_a_cifar_pickle_of_nested_shared_lists_is_refused_without_growing(folder):
    """Case 1: a 25 kB batch whose labels are a list nested 9 deep (10⁹ ints once expanded)."""
    cifar = folder / "cifar"
    cifar.mkdir()
    labels = [0] * 10
    for _ in range(8):
        labels = [labels] * 10
    pixels = np.zeros((8, 3072), dtype=np.uint8)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        write_pickle(cifar / name, batch_dict(pixels, labels))
    write_pickle(cifar / "batches.meta", {b"label_names": [name.encode() for name in CIFAR10_NAMES]})
    assert (cifar / "data_batch_1").stat().st_size < 30_000
    assert_refused("datasets", str(cifar), fragments=("data_batch_1: nested more than 3 deep",))


def test_one_nan_cell_names_the_one_value_and_its_place(folder):
    """Case 2: one ``nan`` in a csv: its count (1, not every feature) and its row and column in the file."""
    lines = ["label,a,b,c,d"] + [f"{k % 2},{k},1,2,3" for k in range(20)]
    lines[3] = "0,7,1,nan,3"
    (folder / "x.csv").write_text("\n".join(lines) + "\n")
    assert_refused("train", "--data", str(folder / "x.csv"), "--out", str(folder / "x-run"),
                   fragments=("x.csv: 1 NaN/inf value, first at row 4, column 4",))
    assert not (folder / "x-run").exists()


def test_a_csv_row_with_a_value_too_many_is_named(folder):
    """Case 3: a ragged row (of names as labels, where values used to be dropped) is refused, not cut."""
    lines = [f"{'cat' if k % 2 else 'dog'},{k},1,2" for k in range(20)]
    lines[6] += ",9"
    (folder / "ragged.csv").write_text("\n".join(lines) + "\n")
    assert_refused("datasets", str(folder / "ragged.csv"),
                   fragments=("ragged.csv: row 7 has 5 values, but row 1 has 4",))


def test_a_folder_of_one_class_is_one_line(folder):
    """Case 4."""
    for i in range(4):
        (folder / "one" / "shoe").mkdir(parents=True, exist_ok=True)
        Image.new("L", (4, 4), i).save(folder / "one" / "shoe" / f"{i}.png")
    assert_refused("train", "--data", str(folder / "one"), "--out", str(folder / "one-run"),
                   fragments=("the training set holds only class 'shoe'", "at least two classes"))
    assert not (folder / "one-run").exists()


def test_a_30_mb_idx_gz_claiming_29_gb_is_refused_before_allocating(folder):
    """Case 6: the claim is within what deflate could expand 30 MB to, but over the memory budget."""
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 37_000_000, 28, 28)
    body = np.random.default_rng(0).integers(0, 256, 30 * 2**20, dtype=np.uint8).tobytes()
    idx = idx_folder(folder / "huge-idx", gzip.compress(header + body, compresslevel=0))
    assert_refused("datasets", str(idx), fragments=("train-images-idx3-ubyte.gz: claims an array of shape "
                                                    "(37000000, 28, 28) (27.0 GiB), more than the memory budget",
                                                    "LINCLASS_MAX_MEMORY"))


def test_an_npz_member_claiming_a_terabyte_is_refused(folder):
    """Case 6: an ``.npy`` member header claims 1 TiB of float64."""
    path = folder / "tib.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**20, 2**17)})
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("X_train", "y_train", "X_test", "y_test"):
            archive.writestr(f"{name}.npy", header.getvalue() + b"\0" * 64)
    assert_refused("datasets", str(path),
                   fragments=("tib.npz: X_train.npy: claims an array of shape (1048576, 131072)",))


@pytest.mark.parametrize("edit, fragment", [
    (lambda header: header["metadata"].update(image_shape=[60000, 60000]), "metadata.image_shape is [60000, 60000]"),
    (lambda header: header["arrays"][0].update(shape=[10, 2**40]), "arrays.W.nbytes"),
    (lambda header: header.update(n_features_in="64"), "n_features_in is '64'"),
    (lambda header: header["hyperparameters"].update(lr=-1), "lr=-1 is not valid"),
    (lambda header: header["metadata"].update(classes=["a", "b"]), "metadata.classes is ['a', 'b']"),
    (lambda header: header["preprocessor"].update(input_shape=[9, 9]), "preprocessor.input_shape is [9, 9]"),
    (lambda header: header["history"].update(epochs=[{"epoch": "one"}]), "history.epochs"),
    (lambda header: header["history"].update(kept_epoch=0), "history.kept_epoch is 0"),
    (lambda header: header["trainer"].update(optimizer="lbfgs"), "trainer.optimizer is 'lbfgs'"),
    (lambda header: header["trainer"]["rng"]["state"].update(state=2**200), "trainer.rng.state.state is 1606"),
    (lambda header: header["trainer"]["rng"].update(bit_generator="MT19937"), "trainer.rng is {"),
    (lambda header: header["trainer"]["optimizer_state"]["state"]["0"].update(momentum_buffer={"$array": "b"}),
     "trainer.optimizer_state.state.0.momentum_buffer's shape is [10], expected [10, 64]"),
    (lambda header: header["trainer"]["optimizer_state"]["state"]["1"].update(momentum_buffer=-1.5),
     "trainer.optimizer_state.state.1.momentum_buffer is -1.5, expected a reference to an array or a count"),
    (lambda header: header["trainer"]["optimizer_state"]["state"].update({"7": {}}), "trainer.optimizer_state is"),
    (lambda header: header["trainer"].update(best={"epoch": 3, "accuracy": 2.0, "epochs_without_gain": 0}),
     "trainer.best.accuracy is 2.0, expected an accuracy in [0, 1]"),
    (lambda header: header["trainer"].update(weights={"W": {"$array": "W"}, "b": {"$array": "nowhere"}}),
     "trainer.weights.b is {'$array': 'nowhere'}, expected a reference to an array"),
], ids=["image shape 60000²", "W claims 2^40 columns", "features as text", "negative lr",
        "2 class names for 10 classes", "preprocessor of 81 inputs", "epoch as text", "kept epoch 0",
        "unknown optimizer",
        "generator state of 200 bits", "another generator", "momentum of b's shape for W", "momentum as a number",
        "state of a third parameter", "accuracy of 200%", "weights referring to no array"])
def test_a_hand_edited_model_with_its_checksum_recomputed_is_one_line(folder, tmp_path, edit, fragment):
    """Case 7: the checksum passes, the header's schema does not."""
    model = tmp_path / "model.linclass"
    model.write_bytes((folder / "good" / "model.linclass").read_bytes())
    rewrite_header(model, edit)
    assert_refused("predict", str(model), str(folder / "digit.png"), fragments=("model.linclass: ", fragment))


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_a_model_that_is_not_a_regular_file_fails_fast(folder, kind):
    """Case 7: /dev/zero would be read forever, a FIFO would block the open."""
    path = kind
    if kind == "fifo":
        path = str(folder / "fifo.linclass")
        os.mkfifo(path)
    assert_refused("predict", path, str(folder / "digit.png"), fragments=("not a regular file",))


@pytest.mark.parametrize("dims, fragment", [
    ((0, 2**32 - 1, 2**32 - 1), "claims an array of shape (0, 4294967295, 4294967295)"),
    ((1,) * 65, "claims 65 dimensions"),
], ids=["0×(2³²−1)×(2³²−1)", "65 dimensions"])
def test_an_idx_header_of_absurd_dimensions_is_one_line(folder, tmp_path, dims, fragment):
    """Case 8: a 16-byte IDX file."""
    idx = idx_folder(tmp_path, gzip.compress(bytes([0, 0, 8, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)))
    assert_refused("datasets", str(idx), fragments=("train-images-idx3-ubyte.gz: ", fragment))


def test_an_npz_nan_label_is_refused_not_made_a_class(folder):
    """Case 12: a NaN label used to become a class named ``nan``, the others ``0.0``, ``1.0``..."""
    labels = np.array([0.0, 1.0, np.nan, 1.0])
    np.savez(folder / "nan.npz", X_train=np.ones((4, 3)), y_train=labels, X_test=np.ones((2, 3)),
             y_test=np.array([0.0, 1.0]))
    assert_refused("datasets", str(folder / "nan.npz"), fragments=("nan.npz: y_train holds 1 NaN/inf value, first at "
                                                                   "y_train[2]",))


def test_a_small_gz_claiming_3_gb_is_refused_under_the_budget(folder):
    """Case 12: a 2.9 MB .gz whose header claims 3 GB (which deflate could hold), under a budget of 1 GiB."""
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 3_000_000_000 // 784, 28, 28)
    body = np.random.default_rng(1).integers(0, 256, 2_900_000, dtype=np.uint8).tobytes()
    idx = idx_folder(folder / "bomb", gzip.compress(header + body, compresslevel=0))
    assert_refused("datasets", str(idx), env={"LINCLASS_MAX_MEMORY": "1G"},
                   fragments=("more than the memory budget of 1.0 GiB",))


def test_a_gz_holding_more_than_its_claim_is_decompressed_no_further(folder):
    """Case 12: 100 kB that expands to 100 MB, with a header claiming 32 MB: read in chunks, then refused."""
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 32 * 2**20 // 784, 28, 28)
    idx = idx_folder(folder / "longer", gzip.compress(header + bytes(100 * 2**20), compresslevel=1))
    assert (idx / "train-images-idx3-ubyte.gz").stat().st_size < 2**20
    result, peak = measured("datasets", str(idx), env={"LINCLASS_MAX_MEMORY": "64M"})
    assert_one_line_error(result, "datasets", "more bytes than the header's shape")
    assert peak < 250, f"peak memory {peak:.0f} MB"


def test_a_png_of_13000_squared_pixels_is_refused_before_decoding(folder):
    """Case 12: a small PNG that would take 0.8 GB decoded (169 million pixels)."""
    big = folder / "big"
    for name in ("a", "b"):
        (big / name).mkdir(parents=True)
        Image.new("L", (4, 4)).save(big / name / "small.png")
    Image.new("1", (13000, 13000)).save(big / "a" / "huge.png")
    assert (big / "a" / "huge.png").stat().st_size < 2**20
    assert_refused("datasets", str(big), fragments=("huge.png: image is 13000×13000, more than the 67108864 pixels",))


def test_a_class_folder_named_with_an_escape_sequence_is_printed_escaped(folder):
    """Case 12: the terminal sees ``\\x1b[2J``, not a cleared screen."""
    escaped = folder / "escape"
    for name in ("plain", "\x1b[2Jclear"):
        (escaped / name).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (4, 4), i).save(escaped / name / f"{i}.png")
    line = assert_refused("datasets", str(escaped), fragments=("\\x1b[2Jclear", "control characters"))
    assert "\x1b" not in line


def test_a_good_model_still_predicts(folder):
    result, peak = measured("predict", str(folder / "good"), str(folder / "digit.png"))
    assert result.returncode == 0, result.stderr
    assert peak < PEAK_LIMIT_MB


def test_a_list_of_labels_referred_to_twice_is_still_read(tmp_path):
    """The bound on repeated references leaves a real batch's sharing (one list under two keys) alone."""
    labels = [k % 10 for k in range(8)]
    batch = batch_dict(np.zeros((8, 3072), dtype=np.uint8), labels, extra={b"coarse_labels": labels})
    read = cifar.read_python_batch(write_pickle(tmp_path / "batch", batch))
    assert read["labels"] == labels and read["coarse_labels"] == labels


def shards_folder(folder: Path, name: str) -> Path:
    """A small good shards folder (training and validation splits) to damage."""
    from linclass.data.shards import write_shards

    X = np.zeros((20, 4), np.uint8)
    return write_shards(X, np.arange(20) % 2, folder / name, validation=(X[:4], np.arange(4) % 2))


def test_a_shards_manifest_claiming_a_trillion_rows_is_refused_before_reading(folder):
    shards = shards_folder(folder, "trillion")
    manifest = json.loads((shards / "manifest.json").read_text())
    manifest["splits"]["train"][0]["rows"] = 10**12
    (shards / "manifest.json").write_text(json.dumps(manifest))
    assert_refused("datasets", str(shards), fragments=("reading the train split would take", "memory budget"))


def test_a_shard_whose_header_claims_a_terabyte_is_refused_before_streaming(folder):
    shards = shards_folder(folder, "terabyte")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (2**38, 4)})
    (shards / "train-00000-X.npy").write_bytes(header.getvalue() + b"\0" * 64)
    assert_refused("train", "--data", str(shards),
                   fragments=(f"{shards / 'train-00000-X.npy'}: the array (shape (274877906944, 4), uint8) claims",
                              "truncated or damaged"))
