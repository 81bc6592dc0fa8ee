"""``linclass train`` stopped by Ctrl-C or ``kill``, and checkpoints that cost the model's size, not the run's.

Each stop is sent to a real ``linclass train`` process at a known point (after an epoch was saved, while
the report is drawn, before anything was saved). Afterwards the run folder must be one ``--resume``
continues: no temporary file, and metrics.csv, history.jsonl, config.json and the model agreeing on the
epoch.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import linclass as lc
from linclass.cli import main, run_folder
from linclass.cli.train import TrainingRun
from test_cli_train import linclass

# ``linclass train`` that sends itself SIGINT at the second step of epoch 3: a Ctrl-C in the middle of an
# epoch, at a point fixed in the run rather than in time.
INTERRUPTED_IN_EPOCH_3 = """
import os, signal, sys
from linclass.cli import main
from linclass.train import Trainer

record_loss, steps_of_epoch_3 = Trainer._record_loss, []

def record_then_interrupt(self, loss):
    record_loss(self, loss)
    if len(self.history["epochs"]) == 2:
        steps_of_epoch_3.append(loss)
        if len(steps_of_epoch_3) == 2:
            os.kill(os.getpid(), signal.SIGINT)

Trainer._record_loss = record_then_interrupt
sys.exit(main(sys.argv[1:]))
"""


def start_training(run_dir: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "linclass.cli", "train", "--quiet", "--out", str(run_dir),
                             *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(process: subprocess.Popen, ready, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)


def assert_consistent(run_dir: Path) -> int:
    """No temporary file; the model, metrics.csv, history.jsonl and config.json name the same epoch."""
    assert not [name for name in os.listdir(run_dir) if name.endswith(".tmp")], os.listdir(run_dir)
    clf = run_folder.load_model(run_dir / "model.linclass")
    done = len(clf.history_["epochs"])
    with open(run_dir / "metrics.csv", newline="") as stream:
        epochs = [int(row["epoch"]) for row in csv.DictReader(stream)]
    assert epochs == list(range(1, done + 1))
    assert len((run_dir / "history.jsonl").read_text().splitlines()) == done
    assert json.loads((run_dir / "config.json").read_text())["trained_epochs"] == done
    return done


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_after_an_epoch_keeps_a_consistent_run_that_resume_continues(tmp_path, signum):
    run_dir = tmp_path / "run"
    process = start_training(run_dir, "--epochs", "100000", "--batch-size", "2")
    wait_for(process, lambda: (run_dir / "model.linclass").exists())
    time.sleep(0.3)  # a few epochs later, most likely in the middle of one or of its checkpoint
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    word = "terminated" if signum == signal.SIGTERM else "interrupted"
    assert stderr.startswith(f"linclass train: {word}; the model after epoch ")
    assert f"is saved in {run_dir / 'model.linclass'}; continue with: linclass train --resume {run_dir}" in stderr
    done = assert_consistent(run_dir)

    resumed = linclass("train", "--resume", str(run_dir), "--epochs", str(done + 2), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert assert_consistent(run_dir) == done + 2 == json.loads(resumed.stdout)["epochs"]


def test_a_stop_while_the_report_is_drawn_leaves_a_run_that_resume_finishes(tmp_path):
    for attempt in range(3):  # the report may, on a fast machine, be done before the signal arrives
        run_dir = tmp_path / f"run{attempt}"
        process = start_training(run_dir, "--epochs", "3")
        wait_for(process, (run_dir / "history.png").exists)  # the first picture of the report
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        if process.returncode == 130:
            break
    assert process.returncode == 130 and "Traceback" not in stderr
    assert stderr.strip() == (f"linclass train: interrupted; the trained model is saved in {run_dir / 'model.linclass'}"
                              f", but its report was not written; write it with: linclass train --resume {run_dir}")
    assert not (run_dir / "report.html").exists()
    assert assert_consistent(run_dir) == 3

    resumed = linclass("train", "--resume", str(run_dir), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["epochs"] == 3 and (run_dir / "report.html").exists()
    page = (run_dir / "report.html").read_text(encoding="utf-8")  # without --test, it shows validation images
    assert "how many validation images of true class" in page and "Validation images drawn at random" in page
    assert "test images" not in page.lower()
    assert assert_consistent(run_dir) == 3
    again = linclass("train", "--resume", str(run_dir))
    assert again.returncode == 2 and "already trained for 3 of 3 epochs" in again.stderr


def test_a_stop_before_the_first_epoch_ends_leaves_no_folder(tmp_path):
    run_dir = tmp_path / "run"
    process = start_training(run_dir, "--data", "digits", "--epochs", "5", "--batch-size", "1")
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode != 0
    assert not run_dir.exists()


def checkpoint_sizes(tmp_path: Path, monkeypatch, epochs: int) -> dict[int, int]:
    """Bytes each checkpoint of a ``linclass train`` writes, by epoch (one step an epoch, fsync skipped):
    what it appends to metrics.csv and history.jsonl, and the whole of config.json and the model."""
    run_dir = tmp_path / "long"
    written: dict[int, int] = {}
    save = TrainingRun.save

    def appended_to() -> int:
        return sum((run_dir / name).stat().st_size for name in ("metrics.csv", "history.jsonl")
                   if (run_dir / name).exists())

    def measured(self, clf) -> None:
        before = appended_to()
        save(self, clf)
        rewritten = sum((run_dir / name).stat().st_size for name in ("config.json", "model.linclass"))
        written[len(clf.history_["epochs"])] = appended_to() - before + rewritten

    monkeypatch.setattr(TrainingRun, "save", measured)
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    monkeypatch.setattr(TrainingRun, "finish", lambda self: {})
    monkeypatch.setattr(TrainingRun, "draw_report", lambda self: None)
    assert main(["train", "--epochs", str(epochs), "--batch-size", "4096", "--quiet", "--json", "--out",
                 str(run_dir)]) == 0
    return written


def test_a_checkpoint_costs_the_same_at_epoch_10_and_epoch_2000(tmp_path, monkeypatch, capsys):
    """The history grows with the run; what a checkpoint writes must not."""
    written = checkpoint_sizes(tmp_path, monkeypatch, 2000)
    early, late = written[10], written[2000]
    assert late <= early * 1.02 + 64, (early, late)
    assert len(run_folder.load_model(tmp_path / "long" / "model.linclass").history_["epochs"]) == 2000


def test_a_run_whose_model_holds_its_whole_history_still_resumes(tmp_path, monkeypatch, capsys):
    """Runs saved before the history moved beside the model: the model file holds every epoch."""
    run_dir = tmp_path / "old"
    monkeypatch.setattr(TrainingRun, "finish", lambda self: {})  # no report: it is not what this is about
    monkeypatch.setattr(TrainingRun, "draw_report", lambda self: None)
    assert main(["train", "--epochs", "2", "--quiet", "--json", "--out", str(run_dir)]) == 0
    clf = run_folder.load_model(run_dir / "model.linclass")
    clf.save(run_dir / "model.linclass")  # Python's save: the whole history inside, as older runs had it
    (run_dir / "history.jsonl").unlink()
    assert len(lc.load(run_dir / "model.linclass").history_["epochs"]) == 2

    resumed = linclass("train", "--resume", str(run_dir), "--epochs", "4", "--json")
    assert resumed.returncode == 0, resumed.stderr
    history = run_folder.load_model(run_dir / "model.linclass").history_
    assert [record["epoch"] for record in history["epochs"]] == [1, 2, 3, 4]
    assert history["loss"][:len(clf.history_["loss"])] == clf.history_["loss"]
    assert assert_consistent(run_dir) == 4


@pytest.mark.parametrize("options", [(), ("--optimizer", "adam", "--schedule", "cosine"),
                                     ("--early-stopping", "--patience", "3", "--schedule", "step")],
                         ids=["momentum", "adam-cosine", "early-stopping"])
def test_a_run_interrupted_in_epoch_3_and_resumed_ends_as_the_uninterrupted_run(tmp_path, monkeypatch, capsys,
                                                                                options):
    """The resumed run goes on with the optimizer's momentum, the batch order and the best epoch so far as
    the interrupted one left them: its model is the uninterrupted run's, bit for bit."""
    settings = ["--epochs", "6", "--batch-size", "64", "--lr", "0.5", "--quiet", *options]
    run_dir = tmp_path / "interrupted"
    interrupted = subprocess.run([sys.executable, "-c", INTERRUPTED_IN_EPOCH_3, "train", "--out", str(run_dir),
                                  *settings], capture_output=True, text=True, timeout=120)
    assert interrupted.returncode == 130, interrupted.stderr
    assert interrupted.stderr.startswith("linclass train: interrupted; the model ")
    assert assert_consistent(run_dir) == 2  # the checkpoint of epoch 2: epoch 3 was cut in the middle

    monkeypatch.setattr(TrainingRun, "draw_report", lambda self: None)  # the report is not what this is about
    assert main(["train", "--resume", str(run_dir), "--json"]) == 0
    assert main(["train", "--out", str(tmp_path / "whole"), *settings, "--json"]) == 0
    resumed = run_folder.load_model(run_dir / "model.linclass")
    whole = run_folder.load_model(tmp_path / "whole" / "model.linclass")
    assert np.array_equal(resumed.W_, whole.W_) and np.array_equal(resumed.b_, whole.b_)
    assert resumed.history_["loss"] == whole.history_["loss"] and len(whole.history_["epochs"]) == 6
    assert resumed.history_["kept_epoch"] == whole.history_["kept_epoch"]
