"""``linclass train``, run as a user runs it: in a subprocess, on the built-in digits and a tiny IDX set."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import linclass as lc
from linclass.cli.common import ProgressBar, epoch_details
from linclass.cli.run_folder import load_model
from linclass.threads import CpuMeter
from test_data_idx import write_idx_set

# Pixel sizes of the run's pictures: the figure sizes linclass.report documents (inches) at 100 dpi,
# for 10 classes of 8×8 images.
DIGITS_PICTURES = {
    "history.png": (1200, 450),          # 12 × 4.5 in
    "templates.png": (850, 430),         # 5 columns × 1.7 in, 2 rows × 1.9 in + 0.5 in
    "confusion.png": (820, 700),         # side 0.45 × 10 + 2.5 = 7 in, plus 1.2 in for the colour bar
    "examples.png": (920, 1060),         # 4 × 4 panels of 2.3 in × (1.9 + 0.2 × 3) in, + 0.6 in
    "loss_comparison.png": (1500, 500),  # 1.3 × 10 + 2 = 15 in × 5 in
    "regions.png": (900, 700),           # 9 × 7 in
}


def linclass(*args: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the ``linclass`` command line as a user would, capturing its output."""
    return subprocess.run([sys.executable, "-m", "linclass.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, command: str, *fragments: str) -> str:
    """A user error: non-zero exit, exactly one line on stderr naming the command, no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"linclass {command}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def assert_self_contained(report: Path) -> None:
    """Every picture of the page is an embedded PNG; nothing else is fetched or linked."""
    page = report.read_text(encoding="utf-8")
    sources = re.findall(r'\ssrc="([^"]*)"', page)
    assert sources and all(source.startswith("data:image/png;base64,") for source in sources)
    for source in sources:
        Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).verify()
    assert all(link.startswith("#") for link in re.findall(r'\shref="([^"]*)"', page))
    assert not re.search(r"(?i)\b(src|href)\s*=\s*['\"]?(https?:|file:|//)", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One short training run on the built-in digits, with the final test evaluation."""
    run_dir = tmp_path_factory.mktemp("train") / "run"
    result = linclass("train", "--epochs", "4", "--seed", "3", "--out", str(run_dir), "--test", "--json")
    assert result.returncode == 0, result.stderr
    return run_dir, result


def test_json_summary_has_the_numbers_and_paths(digits_run):
    run_dir, result = digits_run
    # stderr is not a terminal: no progress bar, but one line per epoch, so that a slow run shows it is alive
    lines = result.stderr.splitlines()
    assert [line.split(" [")[0] for line in lines] == [f"epoch {n}/4" for n in (1, 2, 3, 4)]
    assert all("\r" not in line and re.search(r"loss \d+\.\d{4} train \d+\.\d% val \d+\.\d% \d+\.\d s$", line)
               for line in lines), result.stderr
    summary = json.loads(result.stdout)
    for key in ("train_accuracy", "val_accuracy", "test_accuracy"):
        assert 0.5 < summary[key] <= 1.0, (key, summary[key])
    assert summary["seconds"] > 0 and summary["epochs"] == 4
    assert summary["run_dir"] == str(run_dir) and summary["model"] == str(run_dir / "model.linclass")


def test_the_run_folder_holds_model_config_metrics_pictures_and_report(digits_run):
    run_dir, _ = digits_run
    expected = {"model.linclass", "config.json", "metrics.csv", "history.jsonl", "summary.json", "report.html",
                *DIGITS_PICTURES}
    assert {path.name for path in run_dir.iterdir()} == expected  # and no temporary files left behind
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["data"], config["loss"], config["epochs"], config["seed"], config["lr"]) == \
        ("digits", "softmax", 4, 3, lc.LinearClassifier().lr)  # the library's default: declared once
    assert config["regularize_bias"] is False  # the biases go unpenalized unless asked
    assert config["versions"]["linclass"] == lc.__version__ and config["versions"]["numpy"] == np.__version__
    with open(run_dir / "metrics.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3, 4]
    assert set(rows[0]) == {"epoch", "loss", "train_accuracy", "val_accuracy", "learning_rate", "seconds"}
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])


def test_the_summary_file_is_what_json_prints(digits_run):
    run_dir, result = digits_run
    assert json.loads((run_dir / "summary.json").read_text()) == json.loads(result.stdout)


def test_the_model_and_summary_are_on_disk_and_printed_before_the_pictures_start(tmp_path, monkeypatch, capsys):
    from linclass.cli import main, pipeline

    run_dir = tmp_path / "run"
    seen = {}
    draw_pictures = pipeline.draw_pictures

    def watched(pictures, processes=None, meter=None):
        seen["files"] = {path.name for path in run_dir.iterdir()}
        seen["stdout"] = capsys.readouterr().out
        seen["meter"] = meter
        return draw_pictures(pictures, processes, meter)

    monkeypatch.setattr(pipeline, "draw_pictures", watched)
    assert main(["train", "--epochs", "2", "--json", "--quiet", "--out", str(run_dir)]) == 0
    assert {"model.linclass", "summary.json", "config.json", "metrics.csv"} <= seen["files"]
    assert not {name for name in seen["files"] if name.endswith(".png")} and "report.html" not in seen["files"]
    assert isinstance(seen["meter"], CpuMeter)  # started with training: how busy the machine was meanwhile
    assert json.loads(seen["stdout"]) == json.loads((run_dir / "summary.json").read_text())
    assert (run_dir / "report.html").exists() and (run_dir / "regions.png").exists()


def test_no_report_leaves_out_the_pictures_and_resume_draws_them_later(tmp_path, digits_run):
    run_dir = tmp_path / "run"
    result = linclass("train", "--epochs", "4", "--seed", "3", "--out", str(run_dir), "--test", "--no-report")
    assert result.returncode == 0, result.stderr
    assert {path.name for path in run_dir.iterdir()} == \
        {"model.linclass", "config.json", "metrics.csv", "history.jsonl", "summary.json"}
    assert f"report: not drawn (--no-report); draw it with: linclass train --resume {run_dir} --test" in result.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["report"] is None and summary["test_accuracy"] == json.loads(digits_run[1].stdout)["test_accuracy"]
    later = linclass("train", "--resume", str(run_dir), "--test", "--json")
    assert later.returncode == 0, later.stderr
    assert {path.name for path in run_dir.iterdir()} == {path.name for path in digits_run[0].iterdir()}
    assert json.loads(later.stdout)["epochs"] == 4  # drawn for the model there is, not trained further
    assert_self_contained(run_dir / "report.html")


def test_regularize_bias_reaches_the_model_and_the_config(tmp_path):
    run_dir = tmp_path / "run"
    result = linclass("train", "--epochs", "2", "--regularize-bias", "--reg", "0.01", "--json", "--out", str(run_dir))
    assert result.returncode == 0, result.stderr
    assert json.loads((run_dir / "config.json").read_text())["regularize_bias"] is True
    assert lc.load(run_dir / "model.linclass").regularize_bias is True


@pytest.mark.parametrize("name", sorted(DIGITS_PICTURES))
def test_each_picture_is_a_png_of_the_documented_size(digits_run, name):
    run_dir, _ = digits_run
    with Image.open(run_dir / name) as image:
        assert image.format == "PNG"
        assert image.size == DIGITS_PICTURES[name]


def test_report_embeds_every_picture_and_links_nothing_outside(digits_run):
    run_dir, _ = digits_run
    assert_self_contained(run_dir / "report.html")
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert page.count("<img ") == len(DIGITS_PICTURES)
    assert "principal components" in page  # the geometric picture says what it is
    assert "how many test images of true class" in page and "Test images drawn at random" in page  # --test
    assert "training accuracy (during the epoch)" in page and "while the weights still move" in page


def test_the_saved_model_reproduces_the_reported_accuracies(digits_run):
    """The split is seeded and stratified, the preprocessing fitted on the training part only."""
    run_dir, result = digits_run
    summary = json.loads(result.stdout)
    clf = load_model(run_dir / "model.linclass")
    data = lc.datasets.load("digits")
    assert clf.metadata_["dataset"] == "digits" and clf.metadata_["classes"] == data.classes
    assert tuple(clf.metadata_["image_shape"]) == data.image_shape == (8, 8)
    X_train, y_train, X_val, y_val = lc.datasets.train_val_split(data.X_train, data.y_train, 0.1, seed=3)
    pre = clf.preprocessor_
    np.testing.assert_allclose(pre.mean, X_train.reshape(len(X_train), -1).mean(axis=0) / 255, atol=1e-6)
    assert not np.allclose(pre.mean, data.X_train.reshape(len(data.X_train), -1).mean(axis=0) / 255, atol=1e-4)
    assert clf.score(pre.transform(X_train), y_train) == pytest.approx(summary["train_accuracy"])
    assert clf.score(pre.transform(X_val), y_val) == pytest.approx(summary["val_accuracy"])
    assert clf.score(pre.transform(data.X_test), data.y_test) == pytest.approx(summary["test_accuracy"])
    assert len(clf.history_["epochs"]) == 4


def test_text_summary_and_default_run_folder_on_an_idx_folder(tmp_path, rng):
    write_idx_set(tmp_path / "tiny", rng, n_train=60, n_test=10)
    result = linclass("train", "--data", "tiny", "--epochs", "2", "--loss", "svm", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and re.fullmatch(r"tiny-svm-\d{8}-\d{6}", runs[0].name)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("trained for 2 epochs in ")
    assert re.fullmatch(r"  training accuracy \d+\.\d%, validation accuracy \d+\.\d%", lines[1])
    assert "test" not in result.stdout  # the test set is left alone without --test
    assert lines[2] == f"  model:  {Path('runs') / runs[0].name / 'model.linclass'}"
    assert lines[3] == f"  report: {Path('runs') / runs[0].name / 'report.html'}"
    with Image.open(runs[0] / "templates.png") as image:
        assert image.size == (850, 430)  # ten 28×28 templates, same grid
    assert_self_contained(runs[0] / "report.html")


def test_ctrl_c_saves_the_model_so_far_and_resume_continues_it(tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "linclass.cli", "train", "--epochs", "100000", "--batch-size",
                                "1", "--out", str(run_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (run_dir / "model.linclass").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    *epochs, last = stderr.strip().splitlines()
    assert all(line.startswith("epoch ") for line in epochs) and "Traceback" not in stderr
    assert last.startswith("linclass train: interrupted;")
    assert f"is saved in {run_dir / 'model.linclass'}" in stderr and f"--resume {run_dir}" in stderr
    assert not [name for name in os.listdir(run_dir) if name.endswith(".tmp")]
    done = len(load_model(run_dir / "model.linclass").history_["epochs"])
    assert done >= 1

    result = linclass("train", "--resume", str(run_dir), "--epochs", str(done + 2), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["resumed"] and summary["epochs"] == done + 2 and "test_accuracy" not in summary
    clf = load_model(run_dir / "model.linclass")
    assert [record["epoch"] for record in clf.history_["epochs"]] == list(range(1, done + 3))
    assert clf.history_["epochs"][-1]["seconds"] > clf.history_["epochs"][done - 1]["seconds"]
    with open(run_dir / "metrics.csv", newline="") as stream:
        assert len(list(csv.DictReader(stream))) == done + 2
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == done + 2
    assert_self_contained(run_dir / "report.html")


def wait_for_epochs(process: subprocess.Popen, metrics: Path, ready, timeout: float = 60) -> None:
    """Poll ``metrics.csv`` of a running ``train`` until ``ready(val_accuracies)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None and time.monotonic() < deadline, process.stderr
        try:
            with open(metrics, newline="") as stream:
                accuracies = [float(row["val_accuracy"]) for row in csv.DictReader(stream)]
        except FileNotFoundError:
            accuracies = []
        if ready(accuracies):
            return
        time.sleep(0.05)


def test_ctrl_c_with_early_stopping_saves_the_best_validation_epoch(tmp_path):
    """What fit would keep at that point: the best validation epoch's weights, not the last epoch's."""
    run_dir = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "linclass.cli", "train", "--epochs", "100000", "--batch-size",
                                "1", "--optimizer", "sgd", "--lr", "0.5", "--early-stopping", "--patience",
                                "100000", "--out", str(run_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    wait_for_epochs(process, run_dir / "metrics.csv", lambda val: len(val) >= 2 and val[-1] < max(val))
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr
    clf = load_model(run_dir / "model.linclass")
    best = clf.history_["best_epoch"]
    assert f"the model of epoch {best}, the best on validation so far" in stderr
    assert f"is saved in {run_dir / 'model.linclass'}" in stderr and f"--resume {run_dir}" in stderr
    data = lc.datasets.load("digits")
    _, _, X_val, y_val = lc.datasets.train_val_split(data.X_train, data.y_train, 0.1, seed=0)
    val_accuracy = clf.score(clf.preprocessor_.transform(X_val), y_val)
    assert val_accuracy == pytest.approx(clf.history_["epochs"][best - 1]["val_accuracy"])

    done = len(clf.history_["epochs"])
    result = linclass("train", "--resume", str(run_dir), "--epochs", str(done + 2), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["kept_epoch"] == summary["best_epoch"] and summary["best_epoch"] in (best, done + 1, done + 2)
    assert summary["val_accuracy"] == pytest.approx(
        load_model(run_dir / "model.linclass").history_["epochs"][summary["best_epoch"] - 1]["val_accuracy"])


def test_a_diverged_run_leaves_no_folder_and_a_run_without_a_model_may_be_reused(tmp_path):
    diverged = linclass("train", "--lr", "1e6", "--loss", "svm", "--optimizer", "sgd", "--out", "div1", cwd=tmp_path)
    assert_one_line_error(diverged, "train", "training diverged at epoch 1")
    assert not (tmp_path / "div1").exists()  # it saved nothing, and the folder was its own
    (tmp_path / "mine").mkdir()
    diverged = linclass("train", "--lr", "1e6", "--loss", "svm", "--optimizer", "sgd", "--out", "mine", cwd=tmp_path)
    assert diverged.returncode == 2 and (tmp_path / "mine").is_dir()  # the user's own folder stays

    # A folder whose run saved no model, with only its config.json (as earlier versions left one):
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / "config.json").write_text(json.dumps({"data": "digits", "versions": {"linclass": "0.0"}}))
    resumed = linclass("train", "--resume", "stale", cwd=tmp_path)
    assert_one_line_error(resumed, "train", "stale: holds no model.linclass, since its run finished no epoch; "
                                            "start it again with linclass train --out stale")
    again = linclass("train", "--out", "stale", "--epochs", "1", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads((stale / "config.json").read_text())["epochs"] == 1 and (stale / "model.linclass").exists()


def test_out_refuses_a_folder_with_a_config_json_linclass_did_not_write(tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "config.json").write_text('{"mine": true}\n')
    result = linclass("train", "--out", str(tmp_path / "project"))
    assert_one_line_error(result, "train", "holds a config.json that linclass did not write; choose another folder")
    assert (tmp_path / "project" / "config.json").read_text() == '{"mine": true}\n'


def test_the_summary_and_pictures_name_the_epoch_whose_model_was_kept(tmp_path):
    """Without early stopping the last epoch's model is kept, whichever epoch was best on validation."""
    from linclass import report

    results = {flag: linclass("train", "--epochs", "6", "--batch-size", "1", "--lr", "0.5", "--optimizer", "sgd",
                              *flag, "--patience", "100", "--out", str(tmp_path / str(len(flag))))
               for flag in ((), ("--early-stopping",))}
    for flag, result in results.items():
        assert result.returncode == 0, result.stderr
        clf = load_model(tmp_path / str(len(flag)) / "model.linclass")
        best, kept = clf.history_["best_epoch"], 6 if not flag else clf.history_["best_epoch"]
        assert clf.history_["kept_epoch"] == kept
        first_line = result.stdout.splitlines()[0]
        if kept == best:
            assert first_line.endswith(f" (kept epoch {kept}, the best on validation)")
        else:
            assert first_line.endswith(f" (kept the last epoch, 6; validation accuracy was best at epoch {best})")
        labels = [artist.get_label() for artist in
                  report.plot_history(clf.history_).axes[1].get_legend().legend_handles]
        assert f"model kept: epoch {kept}{' (the last)' if kept == 6 else ''}" in labels
        assert any(label.startswith(f"best epoch {best} on validation") for label in labels)
        page = (tmp_path / str(len(flag)) / "report.html").read_text(encoding="utf-8")
        assert f"the weights kept are those of epoch {kept}" in page


def test_progress_bar_draws_on_a_terminal_only():
    record = {"epoch": 3, "loss": 0.41234, "train_accuracy": 0.912, "val_accuracy": 0.898}
    stream = io.StringIO()
    bar = ProgressBar(20, "epoch", enabled=True, stream=stream)
    bar.update(3, epoch_details(record))
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\repoch  3/20 [####--------------------] loss 0.4123 train 91.2% val 89.8% ")
    assert text.endswith(" s\x1b[K\n")
    quiet = io.StringIO()  # not a terminal: nothing is drawn
    bar = ProgressBar(20, "epoch", stream=quiet)
    bar.update(3, epoch_details(record))
    bar.close()
    assert quiet.getvalue() == ""


def test_a_run_until_converged_counts_its_epochs_and_says_at_most_how_many(tmp_path):
    """No bar that would stay nearly empty: ``epoch 3 (until converged, at most 1000)``."""
    bar = ProgressBar(1000, "epoch", enabled=True, stream=io.StringIO(), open_ended=True)
    assert bar.line(3, "loss 0.4123").startswith("epoch 3 (until converged, at most 1000) loss 0.4123 ")
    finished = subprocess.run([sys.executable, "-m", "linclass", "train", "--data", "digits", "--out",
                               str(tmp_path / "run")], capture_output=True, text=True, check=True)
    lines = finished.stderr.splitlines()
    epochs = json.loads((tmp_path / "run" / "summary.json").read_text())["epochs"]
    assert len(lines) == epochs and lines[-1].startswith(f"epoch {epochs} (until converged, at most 1000) loss ")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_a_line_per_step_elsewhere_and_nothing_when_quiet():
    from linclass.cli.progress import progress_display

    record = {"epoch": 2, "loss": 0.5, "train_accuracy": 0.9, "val_accuracy": 0.8}
    outputs = {}
    for name, stream, quiet in (("terminal", _Terminal(), False), ("log", io.StringIO(), False),
                                ("quiet log", io.StringIO(), True), ("quiet terminal", _Terminal(), True)):
        display = progress_display(3, "epoch", quiet, stream=stream)
        for epoch in (1, 2, 3):
            display.update(epoch, epoch_details({**record, "epoch": epoch}))
        display.close()
        outputs[name] = stream.getvalue()
    assert outputs["terminal"].count("\r") == 3 and outputs["terminal"].count("\n") == 1
    lines = outputs["log"].splitlines(keepends=True)
    assert len(lines) == 3 and "\r" not in outputs["log"] and "\x1b" not in outputs["log"]
    assert lines[1].startswith("epoch 2/3 [################--------] loss 0.5000 train 90.0% val 80.0% ")
    assert outputs["quiet log"] == outputs["quiet terminal"] == ""


def test_data_of_one_feature_gets_its_report_without_a_plane(tmp_path):
    """One feature has no plane to draw regions in: the run reports the rest and says why it has no regions."""
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 2
    table = np.column_stack([labels, labels + rng.random(200)])
    np.savetxt(tmp_path / "one.csv", table, delimiter=",", fmt="%g", header="label,x", comments="")
    from linclass.cli import main

    assert main(["train", "--data", str(tmp_path / "one.csv"), "--quiet", "--out", str(tmp_path / "run")]) == 0
    assert not (tmp_path / "run" / "regions.png").exists() and (tmp_path / "run" / "confusion.png").exists()
    assert "No geometric picture: the data has a single feature" in (tmp_path / "run" / "report.html").read_text()


def test_the_geometric_picture_uses_the_two_principal_components():
    from sklearn.decomposition import PCA

    from linclass.cli.pictures import principal_plane

    data = lc.datasets.load("digits")
    features = lc.datasets.Preprocessor().fit_transform(data.X_train)
    mean, directions, share = principal_plane(features)
    exact = PCA(n_components=2, svd_solver="full").fit(features)
    np.testing.assert_allclose(mean, features.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(np.abs(np.sum(directions * exact.components_, axis=1)), [1, 1], atol=1e-4)
    np.testing.assert_allclose(share, exact.explained_variance_ratio_, rtol=1e-3)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_the_run_folder_files_follow_the_umask(tmp_path, umask, mode):
    """Everything a run writes, appended or replaced whole, is readable as the user's umask says."""
    run_dir = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "linclass.cli", "train", "--epochs", "2", "--quiet", "--out",
                             str(run_dir)], capture_output=True, text=True, preexec_fn=lambda: os.umask(umask))
    assert result.returncode == 0, result.stderr
    modes = {path.name: path.stat().st_mode & 0o777 for path in run_dir.iterdir()}
    assert {"model.linclass", "report.html", "history.jsonl", "metrics.csv"} <= set(modes)
    assert set(modes.values()) == {mode}, modes
