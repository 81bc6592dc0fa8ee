"""A run's own folder: the model, the options it was made with, its metrics, pictures and report.

::

    runs/digits-softmax-20250101-120000/
        model.linclass   the trained classifier with its preprocessing (``linclass.load``)
        config.json      every option, the data, the versions of Python, NumPy and linclass
        metrics.csv      one row per epoch: loss, training and validation accuracy, learning rate, time
        summary.json     the final accuracies and paths (what ``--json`` prints), saved before the pictures
        history.jsonl    one JSON line per epoch: its record and the loss of each of its iterations
        *.png            the pictures
        report.html      everything above on one self-contained page

A checkpoint after every epoch must cost what the model costs, not what the run's history costs: the
history grows with every iteration. So ``metrics.csv`` and ``history.jsonl`` are appended to, one line
an epoch, and the model file of a run keeps only the size of its history (:func:`compact_history`);
:func:`load_model` puts the history back together from ``history.jsonl``. Model files that hold their
whole history (those of older runs, or saved from Python) load as they are.

Every other file is written to a temporary file in the folder and then moved into place, so a run that
is interrupted leaves complete files (or none), never half of one.
"""

from __future__ import annotations

import csv
import io
import json
import platform
import re
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from linclass.cli.common import json_value
from linclass.errors import LinclassError
from linclass.files import write_atomically
from linclass.saved_model import SavedModel

MODEL_NAME = "model.linclass"
CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.csv"
SUMMARY_NAME = "summary.json"
HISTORY_NAME = "history.jsonl"
TRIALS_NAME = "trials.csv"
METRIC_COLUMNS = ("epoch", "loss", "train_accuracy", "val_accuracy", "learning_rate", "seconds")
RUNS_FOLDER = "runs"


def default_run_dir(data_name: str, loss: str, when: float | None = None) -> Path:
    """``runs/<data>-<loss>-<YYYYmmdd-HHMMSS>``; a suffix ``-2``, ``-3``... when that folder exists."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    base = Path(RUNS_FOLDER) / f"{_slug(data_name)}-{_slug(loss)}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def check_new_run_dir(path: str | Path) -> None:
    """Refuse ``path`` as a new run's folder if it is a file, holds a model, or a config.json not linclass's.

    A folder whose run saved no model (it diverged or was stopped before its first epoch ended) may be
    reused: its ``config.json``, if any, describes nothing that exists, and the new run rewrites it.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise LinclassError(f"--out {path}: is a file, not a folder; give a new folder name")
    if (path / MODEL_NAME).exists():
        raise LinclassError(f"--out {path}: already holds a run and its {MODEL_NAME}; choose another folder, or "
                            f"continue that run with --resume {path}")
    config = path / CONFIG_NAME
    if config.exists() and not _written_by_linclass(config):
        raise LinclassError(f"--out {path}: holds a {CONFIG_NAME} that linclass did not write; choose another "
                            "folder")


def _written_by_linclass(config: Path) -> bool:
    """Whether ``config`` is a run's ``config.json`` (it names the linclass version it was written by)."""
    try:
        versions_seen = read_json(config).get("versions")
    except LinclassError:
        return False
    return isinstance(versions_seen, dict) and "linclass" in versions_seen


def create_run_dir(out: str | Path | None, data_name: str, loss: str) -> tuple[Path, bool]:
    """Make the run's folder: ``out``, or :func:`default_run_dir` when ``out`` is None.

    Returns the folder and whether it was made now (so that a run that saves nothing can take it away).
    """
    path = new_run_dir(out, data_name, loss)
    made = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    return path, made


def new_run_dir(out: str | Path | None, data_name: str, loss: str) -> Path:
    """The folder a new run will write to (``out`` or :func:`default_run_dir`), checked but not made yet."""
    path = default_run_dir(data_name, loss) if out is None else Path(out)
    check_new_run_dir(path)
    return path


def remove_if_empty(path: Path) -> None:
    """Remove the folder ``path`` if nothing was written into it (a run that saved nothing)."""
    try:
        path.rmdir()  # refuses a folder that holds anything
    except OSError:
        pass


def write_json(path: Path, content: Mapping[str, Any]) -> Path:
    """Write ``content`` as indented JSON, atomically."""
    text = json.dumps(content, indent=2, default=json_value) + "\n"
    return write_atomically(path, text.encode("utf-8"))


def read_json(path: Path) -> dict:
    """Read a JSON object written by :func:`write_json`; a one-line error when it cannot be."""
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LinclassError(f"{path}: not found; is this the folder of a linclass run?") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise LinclassError(f"{path}: not a JSON file linclass wrote ({error})") from None
    if not isinstance(content, dict):
        raise LinclassError(f"{path}: expected a JSON object of options")
    return content


def versions() -> dict[str, str]:
    """The versions a run depends on, for its ``config.json``."""
    import linclass

    return {"linclass": linclass.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "platform": platform.platform()}


def write_config(run_dir: Path, options: Mapping[str, Any]) -> Path:
    """``config.json``: the run's options and the versions of what it ran on."""
    return write_json(run_dir / CONFIG_NAME, {**options, "versions": versions()})


def write_summary(run_dir: Path, summary: Mapping[str, Any]) -> Path:
    """``summary.json``: the run's final numbers and paths."""
    return write_json(run_dir / SUMMARY_NAME, summary)


def write_table(path: Path, columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """A CSV file with a header line, one row per mapping (missing or None values left empty)."""
    columns = list(columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in columns})
    return write_atomically(path, buffer.getvalue().encode("utf-8"))


def write_metrics(run_dir: Path, history: Mapping[str, Any]) -> Path:
    """``metrics.csv``: one row per epoch of ``history["epochs"]``, written whole."""
    return write_table(run_dir / METRICS_NAME, METRIC_COLUMNS, history.get("epochs", []))


# -- the history of a run, one line an epoch ------------------------------------------------------------


def write_history(run_dir: Path, history: Mapping[str, Any], loss_ends: list[int], start: int = 0) -> None:
    """Write the epochs ``start...`` of ``history`` to ``history.jsonl`` and ``metrics.csv``.

    ``loss_ends[i]`` is where epoch ``i + 1``'s iterations end in ``history["loss"]``. With ``start=0``
    both files are written whole (atomically); otherwise the epochs from ``start`` on are appended, so
    that a checkpoint costs one line, however long the run.
    """
    epochs = history["epochs"]
    lines = "".join(json.dumps({**epochs[i], "losses": history["loss"][loss_ends[i - 1] if i else 0:loss_ends[i]]},
                               default=json_value) + "\n" for i in range(start, len(epochs)))
    if start == 0:
        write_atomically(run_dir / HISTORY_NAME, lambda stream: stream.write(lines.encode("utf-8")))
        write_metrics(run_dir, history)
        return
    with open(run_dir / HISTORY_NAME, "a", encoding="utf-8") as stream:
        stream.write(lines)
    with open(run_dir / METRICS_NAME, "a", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writerows({key: "" if record.get(key) is None else record[key] for key in METRIC_COLUMNS}
                         for record in epochs[start:])


def compact_history(history: Mapping[str, Any]) -> dict[str, Any]:
    """What a run's model file keeps of ``history``: how it ended and how long it is; the rest is in
    ``history.jsonl`` (:func:`load_model` reads it back)."""
    facts = {key: value for key, value in history.items() if key not in ("loss", "epochs")}
    return {**facts, "loss": [], "epochs": [],
            "stored_in": {"file": HISTORY_NAME, "epochs": len(history["epochs"]),
                          "iterations": len(history["loss"])}}


def read_history(run_dir: Path, history: Mapping[str, Any]) -> dict[str, Any]:
    """The whole history a model file's :func:`compact_history` stands for, read from ``history.jsonl``.

    Only the epochs the model has are read: lines written after it (a run killed between the two) are
    left out. A history that holds its epochs already is returned as it is.
    """
    stored = history.get("stored_in")
    if not isinstance(stored, dict):
        return dict(history)
    path = run_dir / HISTORY_NAME
    wanted = stored.get("epochs")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()[:wanted]
        entries = [json.loads(line) for line in lines]
    except FileNotFoundError:
        raise LinclassError(f"{path}: not found, but {MODEL_NAME} keeps its history there; copy the whole run "
                            "folder, not the model alone") from None
    except (ValueError, TypeError) as error:
        raise LinclassError(f"{path}: is damaged ({error}); the model still works, but its run cannot go on") \
            from None
    losses = [loss for entry in entries for loss in entry.pop("losses")]
    if len(entries) != wanted or len(losses) != stored.get("iterations"):
        raise LinclassError(f"{path}: holds {len(entries)} epochs and {len(losses)} iterations, but the model "
                            f"has {wanted} and {stored.get('iterations')}; the run folder is damaged")
    facts = {key: value for key, value in history.items() if key != "stored_in"}
    return {**facts, "loss": losses, "epochs": entries}


def load_model(path: Path) -> Any:
    """:func:`linclass.load` with the whole history, also for a run's model that keeps it beside itself; a
    history of model format version 1 gets the kept epoch it did not record."""
    from linclass.estimator import load
    from linclass.train import kept_epoch_of

    clf = load(path)
    if clf.history_:
        clf.history_ = read_history(Path(path).parent, clf.history_)
        if clf.history_.get("kept_epoch") is None:  # a history of model format version 1 does not record it
            clf.history_["kept_epoch"] = kept_epoch_of(clf.history_, clf.early_stopping)
        clf.n_iter_ = len(clf.history_["epochs"])
    return clf


def open_model(path: str | Path) -> SavedModel:
    """The model at ``path``: a model file, or a run folder holding ``model.linclass``."""
    model_path, _ = find_model(path)
    return SavedModel.load(model_path)


def find_model(path: str | Path) -> tuple[Path, Path]:
    """The model file and the run folder named by ``path``: a run folder or the model file in one."""
    path = Path(path)
    if path.is_dir():
        model = path / MODEL_NAME
        if not model.exists():
            raise LinclassError(_no_model(path))
        return model, path
    if not path.exists():
        raise LinclassError(f"{path}: no such run folder or model file; give the path of a {MODEL_NAME} or of "
                            "its run folder, or train one with linclass train")
    return path, path.parent


def _no_model(folder: Path) -> str:
    """Why ``folder`` has no model to use, and what to do: a run that never finished an epoch, or no run."""
    if (folder / CONFIG_NAME).exists():
        return (f"{folder}: holds no {MODEL_NAME}, since its run finished no epoch; start it again with "
                f"linclass train --out {folder}")
    return f"{folder}: holds no {MODEL_NAME}; give a run folder written by linclass train or its model file"


def _slug(text: str) -> str:
    """``text`` reduced to letters, digits, ``.``, ``_`` and ``-``, for a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "data"

