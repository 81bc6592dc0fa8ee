"""A run's own folder: the model, the options it was made with, its metrics, pictures and report.

::

    runs/digits-softmax-20250101-120000/
        model.linclass   the trained classifier with its preprocessing (``linclass.load``)
        config.json      every option, the data, the versions of Python, NumPy and linclass
        metrics.csv      one row per epoch: loss, training and validation accuracy, learning rate, time
        *.png            the pictures
        report.html      everything above on one self-contained page

Every file is written to a temporary file in the folder and then moved into place, so a run that is
interrupted leaves complete files (or none), never half of one.
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
from linclass.persist import write_atomically

MODEL_NAME = "model.linclass"
CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.csv"
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
    """Refuse ``path`` as a new run's folder if it is a file or already holds a run."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise LinclassError(f"--out {path}: is a file, not a folder; give a new folder name")
    if (path / CONFIG_NAME).exists() or (path / MODEL_NAME).exists():
        raise LinclassError(f"--out {path}: already holds a run; choose another folder, or continue that run "
                            f"with --resume {path}")


def create_run_dir(out: str | Path | None, data_name: str, loss: str) -> Path:
    """Make the run's folder: ``out``, or :func:`default_run_dir` when ``out`` is None."""
    path = default_run_dir(data_name, loss) if out is None else Path(out)
    check_new_run_dir(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, content: Mapping[str, Any]) -> Path:
    """Write ``content`` as indented JSON, atomically."""
    text = json.dumps(content, indent=2, default=json_value) + "\n"
    return write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))


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


def write_table(path: Path, columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """A CSV file with a header line, one row per mapping (missing or None values left empty)."""
    columns = list(columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in columns})
    return write_atomically(path, lambda stream: stream.write(buffer.getvalue().encode("utf-8")))


def write_metrics(run_dir: Path, history: Mapping[str, Any]) -> Path:
    """``metrics.csv``: one row per epoch of ``history["epochs"]``, rewritten whole after every epoch."""
    return write_table(run_dir / METRICS_NAME, METRIC_COLUMNS, history.get("epochs", []))


def find_model(path: str | Path) -> tuple[Path, Path]:
    """The model file and the run folder named by ``path``: a run folder or the model file in one."""
    path = Path(path)
    if path.is_dir():
        model = path / MODEL_NAME
        if not model.exists():
            raise LinclassError(f"{path}: holds no {MODEL_NAME}; give a run folder written by linclass train "
                                "or its model file")
        return model, path
    if not path.exists():
        raise LinclassError(f"{path}: no such run folder or model file")
    return path, path.parent


def _slug(text: str) -> str:
    """``text`` reduced to letters, digits, ``.``, ``_`` and ``-``, for a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "data"

