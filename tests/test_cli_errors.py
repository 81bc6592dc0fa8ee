"""Every user mistake: one line on stderr saying what is wrong and what to do, a non-zero exit, no traceback."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from linclass.data.shards import write_shards
from test_cli_predict import save_digits_model
from test_cli_train import assert_one_line_error, linclass
from test_data_idx import write_idx_set


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A good model, models that are not, an image that is not, a run folder, a 28×28 dataset."""
    root = tmp_path_factory.mktemp("errors")
    model = save_digits_model(root / "run")
    (root / "run" / "config.json").write_text('{"data": "digits", "epochs": 5, "lr": 0.1}')
    (root / "run" / "report.html").write_text("a finished run's report")
    for name, config in EDITED_CONFIGS.items():
        (root / name).mkdir()
        (root / name / "model.linclass").write_bytes(model.read_bytes())
        (root / name / "config.json").write_text(config)
    (root / "folder.onnx").mkdir()
    Image.new("RGB", (4, 4)).save(root / "picture.png")
    (root / "picture.png").rename(root / "png.linclass")
    (root / "truncated.linclass").write_bytes(model.read_bytes()[:-100])
    (root / "text.png").write_text("not an image\n")
    Image.new("L", (8, 8)).save(root / "digit.png")
    save_digits_model(root / "bare", metadata=False)
    write_idx_set(root / "tiny", np.random.default_rng(0), n_train=20, n_test=10)
    write_shards(np.zeros((20, 4), np.uint8), np.arange(20) % 2, root / "no_validation")
    write_shards(np.zeros((20, 4), np.uint8), np.arange(20) % 2, root / "shards",
                 validation=(np.zeros((4, 4), np.uint8), [0, 1] * 2))
    (root / "bad_manifest").mkdir()
    (root / "bad_manifest" / "manifest.json").write_text('{"format": "linclass-shards", "version": 1}')
    return root


# Hand-edited config.json files of a run trained with softmax and lr 0.1 for 5 epochs.
EDITED_CONFIGS = {"epochs_text": '{"data": "digits", "epochs": "50", "lr": 0.1}',
                  "val_fraction_5": '{"data": "digits", "epochs": 50, "val_fraction": 5, "lr": 0.1}',
                  "lr_changed": '{"data": "digits", "epochs": 50, "lr": 0.5}',
                  "loss_changed": '{"data": "digits", "epochs": 50, "loss": "svm", "lr": 0.1}',
                  "unknown_optimizer": '{"data": "digits", "epochs": 50, "optimizer": "rmsprop", "lr": 0.1}'}

CASES = {
    "unknown dataset": (["train", "--data", "nosuch"], "nosuch: no such file or folder, and not a known dataset"),
    "a dataset name with a typo": (["train", "--data", "fashion-mnsit"],
                                   "fashion-mnsit: no such file or folder, and not a known dataset; did you mean "
                                   "fashion-mnist?"),
    "datasets: a dataset name with a typo": (["datasets", "digit"], "did you mean digits?"),
    "negative learning rate": (["train", "--lr", "-0.1"],
                               "argument --lr: -0.1 is not valid: expected a number > 0, e.g. 0.01"),
    "batch size 0": (["train", "--batch-size", "0"], "argument --batch-size: 0 is not valid: expected an integer >= 1"),
    "optimizer without momentum": (["train", "--optimizer", "nesterov", "--momentum", "0"],
                                   "momentum=0 with optimizer='nesterov': it needs momentum > 0"),
    "val fraction 1.5": (["train", "--val-fraction", "1.5"],
                         "argument --val-fraction: 1.5 is not valid: expected a number in (0, 1)"),
    "val fraction too small": (["train", "--val-fraction", "0.0001"], "--val-fraction 0.0001: "),
    "unknown loss": (["train", "--loss", "hinge"], "argument --loss: invalid choice: 'hinge'"),
    "hidden layer of a linear model": (["train", "--hidden", "50"], "--hidden applies to --model mlp only"),
    "solver of a network": (["train", "--model", "mlp", "--solver", "fused"],
                            "--solver applies to --model linear only: a network's steps always run on the autograd"),
    "tune: hidden sizes of a linear model": (["tune", "--hidden", "50"], "--hidden applies to --model mlp only"),
    "unknown option": (["train", "--learning-rate", "0.1"], "unrecognized arguments: --learning-rate"),
    "image size not HxW": (["train", "--image-size", "32"], "argument --image-size: '32' is not HxW"),
    "image size too large to hold": (["train", "--image-size", "100000x100000"],
                                     "100000x100000: 10000000000 pixels an image is more than the 67108864"),
    "tune: a billion trials": (["tune", "--search", "random", "--trials", "1000000000"],
                               "argument --trials: 1000000000 must be at most 10000"),
    "tune: image size of 0": (["tune", "--image-size", "0x3"], "argument --image-size: 0x3: height and width"),
    "image size of a set of fixed size": (["train", "--image-size", "8x8"],
                                          "digits has images of a fixed size; leave image_size (--image-size) out"),
    "a root that does not exist": (["train", "--data", "fashion-mnist", "--root", "{root}/nowhere"],
                                   "root {root}/nowhere: no such folder; give the folder that holds the dataset"),
    "evaluate: a root that does not exist": (["evaluate", "{root}/run", "--root", "{root}/nowhere"],
                                             "root {root}/nowhere: no such folder"),
    "tune: a bad learning rate in the list": (["tune", "--lr", "0.1,-1"],
                                              "argument --lr: -1 is not valid: expected a number > 0"),
    "tune: unknown loss in the list": (["tune", "--loss", "softmax,hinge"],
                                       "argument --loss: hinge is not valid: expected one of 'softmax', 'svm'"),
    "evaluate: missing model": (["evaluate", "{root}/missing.linclass"],
                                "missing.linclass: no such run folder or model file; give the path of a "
                                "model.linclass or of its run folder, or train one with linclass train"),
    "evaluate: a PNG as a model": (["evaluate", "{root}/png.linclass"],
                                   "not a linclass model file (it looks like a PNG image)"),
    "evaluate: a truncated model": (["evaluate", "{root}/truncated.linclass"], "truncated"),
    "evaluate: a model without its dataset": (["evaluate", "{root}/bare"], "give --data NAME|PATH"),
    "evaluate: data of another shape": (["evaluate", "{root}/run", "--data", "{root}/tiny"],
                                        "was trained on 8×8 examples but tiny has 28×28"),
    "evaluate: --out not a PNG": (["evaluate", "{root}/run", "--out", "{root}/cm.jpg"], "give a file ending in .png"),
    "predict: missing image": (["predict", "{root}/run", "{root}/missing.png"], "missing.png: file not found"),
    "predict: an image that cannot be read": (["predict", "{root}/run", "{root}/digit.png", "{root}/text.png"],
                                              "text.png: not an image Pillow can read"),
    "export: missing model": (["export", "{root}/missing.linclass", "--onnx", "{root}/model.onnx"],
                              "missing.linclass: no such run folder or model file"),
    "export: --onnx not an .onnx file": (["export", "{root}/run", "--onnx", "{root}/model.txt"],
                                         "--onnx {root}/model.txt: give a file ending in .onnx"),
    "export: --onnx a folder": (["export", "{root}/run", "--onnx", "{root}/folder.onnx"],
                                "--onnx {root}/folder.onnx: is a folder; give the name of the file to write"),
    "export: --onnx in a folder that does not exist": (["export", "{root}/run", "--onnx", "{root}/nowhere/m.onnx"],
                                                       "the folder {root}/nowhere does not exist; create it first"),
    "export: no --onnx": (["export", "{root}/run"], "the following arguments are required: --onnx"),
    "resume: a changed setting": (["train", "--resume", "{root}/run", "--lr", "0.5"],
                                  "--lr: --resume continues a run with its own settings"),
    "resume: nothing left to do": (["train", "--resume", "{root}/run"], "already trained for 5 of 5 epochs"),
    "resume: epochs as text in config.json": (["train", "--resume", "{root}/epochs_text"],
                                              'epochs_text/config.json: "epochs": "50" is not a whole number'),
    "resume: val_fraction 5 in config.json": (["train", "--resume", "{root}/val_fraction_5"],
                                              '"val_fraction": 5 is not valid: expected a number in (0, 1)'),
    "resume: a learning rate the model was not trained with": (
        ["train", "--resume", "{root}/lr_changed"], "lr is 0.5, but {root}/lr_changed/model.linclass was trained "
                                                     "with lr=0.1; put it back, or start a new run"),
    "resume: a loss the model was not trained with": (["train", "--resume", "{root}/loss_changed"],
                                                      "loss is 'svm', but"),
    "resume: an unknown optimizer in config.json": (["train", "--resume", "{root}/unknown_optimizer"],
                                                    "\"optimizer\": invalid choice: 'rmsprop'"),
    "resume: not a run": (["train", "--resume", "{root}/bare"],
                          "config.json: not found; is this the folder of a linclass run?"),
    "out: a folder holding a run": (["train", "--out", "{root}/run"], "already holds a run"),
    "block size for data read into memory": (["train", "--block-size", "64M"],
                                             "--block-size applies to a shards folder, which is streamed from disk"),
    "block size too small": (["train", "--block-size", "1K"], "argument --block-size: 1K is not valid: expected a "
                                                              "size in bytes >= 65536"),
    "block size not a size": (["train", "--block-size", "lots"], "argument --block-size: 'lots' is not valid"),
    "shards without a validation split": (["train", "--data", "{root}/no_validation"],
                                          "no_validation: has no validation split"),
    "shards and a validation fraction": (["train", "--data", "{root}/shards", "--val-fraction", "0.2"],
                                         "--val-fraction: {root}/shards is a shards folder"),
    "shards with a damaged manifest": (["train", "--data", "{root}/bad_manifest"],
                                       "bad_manifest/manifest.json: \"classes\" is missing or not a list"),
    "shards: into a folder that holds files": (["shards", "digits", "{root}/run"],
                                               "{root}/run: already exists and is not an empty folder"),
    "shards: an unknown dataset": (["shards", "nosuch", "{root}/out"], "nosuch: no such file or folder"),
    "shards: --test without a test split": (["train", "--data", "{root}/shards", "--test", "--epochs", "1",
                                             "--out", "{root}/shards_run"], "has no test split"),
}


@pytest.fixture(scope="module")
def results(files):
    """Every case's outcome; the commands run two at a time, since each spends its second starting up."""
    def run(case):
        return case, linclass(*(argument.format(root=files) for argument in CASES[case][0]))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, CASES))


@pytest.mark.parametrize("case", CASES)
def test_user_error_is_one_line(files, results, case):
    arguments, fragment = CASES[case]
    result = results[case]
    assert result.returncode == 2
    assert result.stdout == ""
    assert_one_line_error(result, arguments[0], fragment.format(root=files))


def test_debug_shows_the_traceback():
    result = linclass("train", "--data", "nosuch", "--debug")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "DataError: nosuch: no such file or folder" in result.stderr


def test_a_reader_that_goes_away_is_no_error():
    """``linclass ... --json | head``: the pipe closes before the summary is written; nothing is said."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "linclass.cli", "datasets", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # long before the command has started up and printed
    _, stderr = process.communicate(timeout=60)
    assert stderr == b"" and process.returncode == 128 + 13  # the code of a process that SIGPIPE ended
