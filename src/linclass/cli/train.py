"""``linclass train``: train a linear classifier and write its run folder, from data to report.

The pipeline: load the dataset → split its training set into training and validation parts (stratified,
seeded) → fit the preprocessing on the training part only → train, watching validation accuracy →
save the model with its preprocessing → pictures and ``report.html``. The test set is used only with
``--test``, once, at the end.

``--data`` may name a shards folder (``linclass shards`` writes one): data larger than memory. Its
training split is then streamed from disk in blocks of ``--block-size`` bytes, never loaded whole; its
own validation split (``linclass shards --val-fraction``) takes the place of ``--val-fraction``'s.

After every epoch the model is saved (atomically) into the run folder, so Ctrl-C leaves a model to use
and ``--resume`` continues the run where it stopped: the model file holds the state of its training, so
the resumed run ends with the weights the uninterrupted one would have, bit for bit.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from linclass.cli import run_folder, signals
from linclass.cli.drawing import finish_importing_drawing, start_importing_drawing
from linclass.cli.common import (DATA_DEFAULTS, check_model_options, classifier_parameters, cluster_options,
                                 common_options, data_options, epoch_details, fill_defaults, model_class,
                                 model_options, network_options, optimization_options, option_hyperparameters,
                                 output_options, percent, print_json, stream_options, training_defaults)
from linclass.cli.pipeline import (PreparedData, accuracy, check_parameters, data_argument, model_metadata,
                                   prepare_data, streams, write_run_report)
from linclass.cli.progress import progress_display
from linclass.constraints import Integer, OptionalOf, Real
from linclass.errors import LinclassError
from linclass.losses import get_loss
from linclass.report.html import REPORT_NAME
from linclass.threads import CpuMeter

# What ``--resume`` may change: everything else is the run's own setting, read from its config.json.
RESUMABLE = ("epochs", "json", "quiet", "test", "no_report", "debug", "resume", "root", "command", "run", "threads",
             "cluster")


def option_parents() -> list[argparse.ArgumentParser]:
    """The options of ``train`` that set up a run: what ``config.json`` keeps and ``--resume`` reads back."""
    return [common_options(), data_options(), stream_options(), model_options(), network_options(),
            optimization_options(), cluster_options(), output_options()]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", parents=option_parents(),
        help="train a linear classifier; write its model, metrics, pictures and report.html",
        description="Train a linear classifier (softmax or SVM) on a dataset's training set, keeping part of "
                    "it for validation, and write a run folder: model.linclass, config.json, metrics.csv, "
                    "pictures and a self-contained report.html. Ctrl-C saves the model so far; --resume "
                    "continues it. A shards folder (linclass shards writes one) is streamed from disk in blocks "
                    "of --block-size, for data larger than memory: only its validation and test splits, held out, "
                    "are read into memory.",
    )
    parser.add_argument("--test", action="store_true",
                        help="at the end, measure accuracy on the test set (once)")
    parser.add_argument("--no-report", action="store_true",
                        help="leave out the pictures and report.html, which take longer than a short training; "
                             "draw them later with linclass train --resume RUN_DIR")
    parser.add_argument("--resume", metavar="RUN_DIR|MODEL",
                        help="continue an interrupted run for its remaining epochs, in its own folder")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options, run_dir, clf = resume_options(args) if args.resume is not None else (new_run_options(args), None, None)
    if not options["no_report"]:
        start_importing_drawing()  # for the pictures at the end, while the data load
    prepared = prepare_data(options, preprocessor=None if clf is None else clf.preprocessor_, stream=True)
    finish_importing_drawing()
    if run_dir is None:  # made by the first checkpoint: a run stopped before it leaves no folder
        run_dir = run_folder.new_run_dir(options["out"], prepared.dataset.name, options["loss"])
    training = TrainingRun(run_dir, options, prepared, clf)
    try:
        training.train()
        summary = training.finish()
        if options["json"]:
            print_json(summary)
        else:
            print_summary(summary)
        if not options["no_report"]:
            training.draw_report()  # after the summary: the pictures take longer than training
    except KeyboardInterrupt as stop:
        training.progress.close()
        print(f"linclass train: {signals.how_stopped(stop)}; {training.saved_where()}", file=sys.stderr)
        return signals.exit_code(stop)
    return 0


def new_run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of a new run, checked before any data is loaded (``--out`` must not hold a trained run)."""
    check_model_options(args)
    check_stream_options(args)
    options = fill_defaults(args)
    check_parameters(classifier_parameters(options))
    if options["out"] is not None:
        run_folder.check_new_run_dir(options["out"])
    return options


def check_stream_options(args: argparse.Namespace) -> None:
    """Refuse ``--block-size`` for data read into memory, and the options a streamed shards folder has no use for."""
    if streams(args.data or DATA_DEFAULTS["data"]):
        for flag, why in (("val_fraction", "its own validation split (linclass shards --val-fraction) is used"),
                          ("image_size", "its examples have the shape they were written with")):
            if getattr(args, flag) is not None:
                raise LinclassError(f"--{flag.replace('_', '-')}: {args.data} is a shards folder: {why}")
    elif args.block_size is not None:
        raise LinclassError(f"--block-size applies to a shards folder, which is streamed from disk; "
                            f"{args.data or DATA_DEFAULTS['data']} is read into memory (write it as shards with "
                            "linclass shards DATA OUT to stream it)")


def resume_options(args: argparse.Namespace) -> tuple[dict[str, Any], Path, Any]:
    """The options of the run to continue, its folder and its model (with the epochs it has done).

    ``config.json`` is read back through the command line's own option types and checks, and must agree
    with the model it describes: a hand-edited learning rate that training would not use is refused.
    """
    given = [name for name, value in vars(args).items() if value not in (None, False) and name not in RESUMABLE]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise LinclassError(f"{flag}: --resume continues a run with its own settings; only --epochs (the new "
                            "total) may change")
    model_path, run_dir = run_folder.find_model(args.resume)
    config_path = run_dir / run_folder.CONFIG_NAME
    options = {**checked_config(config_path), **{key: value for key, value in vars(args).items()
                                                 if key in RESUMABLE and value is not None}}
    clf = run_folder.load_model(model_path)
    check_agrees_with_model(options, clf, config_path, model_path)
    options["out"] = str(run_dir)
    done = len(clf.history_["epochs"]) if clf.history_ else 0
    if not trains_on(options, clf.history_) and (run_dir / REPORT_NAME).exists():
        planned = "epochs, until converged" if options["epochs"] is None else f"of {options['epochs']} epochs"
        raise LinclassError(f"{run_dir}: already trained for {done} {planned}; give "
                            f"--epochs N with N > {done} to train longer")
    return options, run_dir, clf


def trains_on(options: dict[str, Any], history: dict | None) -> bool:
    """Whether a run with these options and this history has epochs left: fewer than ``--epochs``, or, when
    training until converged, not yet converged or at ``--max-epochs``."""
    if not history:
        return True
    done = len(history["epochs"])
    if options["epochs"] is None:
        return history.get("converged") is None and done < options["max_epochs"]
    return done < options["epochs"]


class _ConfigParser(argparse.ArgumentParser):
    """Parses a run's ``config.json`` as command-line options; a refusal names the file and the setting."""

    def __init__(self, config_path: Path) -> None:
        super().__init__(add_help=False, parents=option_parents())
        self.config_path = config_path

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"^argument --([\w-]+)(/[\w-]+)?: ", lambda m: f'"{m[1].replace("-", "_")}": ', message)
        raise LinclassError(f"{self.config_path}: {message}; put back what linclass wrote, or start a new run")


def checked_config(config_path: Path) -> dict[str, Any]:
    """The options a run's ``config.json`` holds, checked as ``linclass train`` checks its command line."""
    config = run_folder.read_json(config_path)
    arguments = []
    defaults = training_defaults()
    for key, default in defaults.items():
        value = config.get(key)
        if value is None or value is False:
            continue
        default = _typed_default(key, default)
        if not _has_type_of(value, default, key):
            raise LinclassError(f'{config_path}: "{key}": {json.dumps(value)} is not {_kind(default, key)}; '
                                "put back what linclass wrote, or start a new run")
        flag = "--" + key.replace("_", "-")
        if value is True:
            arguments.append(flag)
        else:
            text = "x".join(str(n) for n in value) if key == "image_size" else str(value)
            arguments.append(f"{flag}={text}")
    options = fill_defaults(_ConfigParser(config_path).parse_args(arguments))
    try:
        check_parameters(classifier_parameters(options))
    except LinclassError as error:
        raise LinclassError(f"{config_path}: {error}") from None
    return {key: options[key] for key in defaults} | {"json": False, "quiet": False, "test": False, "no_report": False}


def _typed_default(key: str, default: Any) -> Any:
    """A value of the type option ``key`` takes: its default, or, for a default of None (``--lr``: from the
    data), a value of its declared rule's type."""
    if default is not None:
        return default
    declared = {str(item.flag): item.constraint for item in option_hyperparameters()}
    constraint = declared.get(key)
    if isinstance(constraint, OptionalOf):
        constraint = constraint.inner
    return 0.0 if isinstance(constraint, Real) else 0 if isinstance(constraint, Integer) else None


def _has_type_of(value: Any, default: Any, key: str) -> bool:
    """Whether a JSON value has the type of the option's default (a whole number is a fine float)."""
    if key == "image_size":
        return isinstance(value, list) and len(value) == 2 and all(type(n) is int for n in value)
    if isinstance(default, bool):
        return value is True
    if isinstance(default, float):
        return type(value) in (int, float)
    if isinstance(default, int):
        return type(value) is int
    return isinstance(value, str)


def _kind(default: Any, key: str) -> str:  # default: from _typed_default
    if key == "image_size":
        return "[height, width]"
    return {bool: "true or false", float: "a number", int: "a whole number"}.get(type(default), "a string")


def check_agrees_with_model(options: dict[str, Any], clf: Any, config_path: Path, model_path: Path) -> None:
    """Refuse a ``config.json`` whose settings (all but the epochs) differ from those the model was trained with."""
    trained_with = clf.get_params(deep=False)
    for key, value in classifier_parameters(options).items():
        if key != "epochs" and trained_with.get(key) != value:
            raise LinclassError(f"{config_path}: {key} is {value!r}, but {model_path} was trained with "
                                f"{key}={trained_with.get(key)!r}; put it back, or start a new run")
    metadata = getattr(clf, "metadata_", None) or {}
    size = None if options["image_size"] is None else list(options["image_size"])
    for key, value in (("data", data_argument(options["data"])), ("image_size", size)):
        if key in metadata and value != metadata[key]:
            raise LinclassError(f"{config_path}: {key} is {value!r}, but {model_path} was trained on "
                                f"{metadata[key]!r}; put it back, or start a new run")


def config_of(options: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The options worth keeping in ``config.json`` (not the command's own plumbing)."""
    kept = {key: value for key, value in options.items() if key not in ("run", "debug", "resume", "command")}
    return {**kept, "out": str(run_dir), "command": "train"}


class TrainingRun:
    """One training run: the classifier, its progress bar, and its checkpoint after every epoch.

    The checkpoint is the model ``fit`` would keep if it stopped after the epoch (what the classifier's
    ``save`` saves from ``on_epoch_end``): with early stopping the weights of the best validation epoch
    so far, otherwise those of the epoch just done, with the state of the training that goes on from
    there. It is what Ctrl-C or ``kill`` leaves behind and what ``--resume`` continues from. A
    checkpoint appends the epoch to ``metrics.csv`` and ``history.jsonl``, writes ``config.json`` (with
    the epochs trained) and then the model, which keeps only the size of the history; signals wait
    until all three agree.
    The run's folder is made by the first checkpoint, so that a run that saves no model leaves nothing.
    """

    def __init__(self, run_dir: Path, options: dict[str, Any], prepared: PreparedData, clf: Any = None) -> None:
        self.run_dir, self.options, self.prepared = run_dir, options, prepared
        self.model_path = run_dir / run_folder.MODEL_NAME
        self.resumed = clf is not None
        self.clf = clf if clf is not None else model_class(options["model"])(**classifier_parameters(options))
        self.progress = progress_display(options["epochs"] or options["max_epochs"], "epoch", options["quiet"],
                                         open_ended=options["epochs"] is None)
        self.saved_epoch: int | None = self.clf.history_["kept_epoch"] if self.resumed else None  # the model file's
        self.seconds: dict[str, float] = dict(prepared.seconds)
        self.cpu_meter: CpuMeter | None = None
        history = self.clf.history_ if self.resumed else {"loss": [], "epochs": []}
        done, iterations = len(history["epochs"]), len(history["loss"])
        # Where each epoch's iterations end in the loss list (those of earlier runs shared out evenly:
        # only their order matters), and how many epochs history.jsonl holds (None: rewrite it whole).
        self.loss_ends = [iterations * (epoch + 1) // done for epoch in range(done)]
        self.epochs_written: int | None = None
        self.trained = False  # every epoch is done; only the report is left

    def train(self) -> None:
        """Fit the classifier, or continue a loaded one, on the training part."""
        start = time.perf_counter()
        self.cpu_meter = CpuMeter()  # what other processes do meanwhile, for drawing the pictures after
        val = self.prepared.val
        if trains_on(self.options, self.clf.history_ if self.resumed else None):
            # A resumed model continues its weights, history and learning-rate schedule (warm start) until
            # its history holds the run's epochs.
            self.clf.set_params(on_epoch_end=self.checkpoint, warm_start=self.resumed,
                                epochs=self.options["epochs"], threads=self.options["threads"])
            if self.options.get("cluster"):
                self.fit_on_cluster()
            else:
                self.clf.fit(*self.prepared.training_data(), val.features, val.labels)
            self.clf.set_params(on_epoch_end=None, warm_start=False)
        self.progress.close()
        self.seconds["training"] = time.perf_counter() - start

    def fit_on_cluster(self) -> None:
        """Fit on the training part as the workers of ``--cluster`` load it (the validation part stays here);
        a cluster that fails ends the run with one line saying which checkpoint is left."""
        from linclass.cli.cluster_rows import training_arrays
        from linclass.distributed.cluster import connected, failures

        with connected(self.options["cluster"]) as client:
            X, y = training_arrays(self.options, self.prepared, client)
            try:
                self.clf.fit(X, y, self.prepared.val.features, self.prepared.val.labels)
            except failures() as error:
                self.progress.close()
                what = str(error).strip().splitlines()[0] if str(error).strip() else "no details"
                raise LinclassError(f"--cluster {self.options['cluster']}: the cluster failed "
                                    f"({type(error).__name__}: {what}); {self.saved_where()}") from None

    def checkpoint(self, clf: Any, record: dict[str, Any]) -> None:
        """After each epoch: redraw the progress bar, save the model fit would keep now and the metrics."""
        self.progress.update(int(record["epoch"]), epoch_details(record))
        self.save(clf)

    def save(self, clf: Any) -> None:
        """Append the new epochs to the history files, write ``config.json``, then the model; uninterrupted."""
        history = clf.history_
        with signals.deferred():
            if self.epochs_written is None:  # the first save of this run: start the folder's files afresh
                self.run_dir.mkdir(parents=True, exist_ok=True)
                (self.run_dir / REPORT_NAME).unlink(missing_ok=True)  # it describes an older model
            self.loss_ends += [len(history["loss"])] * (len(history["epochs"]) - len(self.loss_ends))
            if self.epochs_written != len(history["epochs"]):
                run_folder.write_history(self.run_dir, history, self.loss_ends, start=self.epochs_written or 0)
            self.epochs_written = len(history["epochs"])
            run_folder.write_config(self.run_dir, {**config_of(self.options, self.run_dir),
                                                   "trained_epochs": self.epochs_written})
            copy_with(clf, history_=run_folder.compact_history(history)).save(
                self.model_path, preprocessor=self.prepared.preprocessor, metadata=model_metadata(self.prepared))
            self.saved_epoch = history["kept_epoch"]

    def saved_where(self) -> str:
        """A sentence for an interrupted run: what was saved, and how to go on."""
        if self.saved_epoch is None:
            return "no epoch had finished, so nothing was saved; run the same command again to start over"
        if self.trained:
            return (f"the trained model is saved in {self.model_path}, but its report was not written; write it "
                    f"with: linclass train --resume {self.run_dir}")
        which = (f"the model of epoch {self.saved_epoch}, the best on validation so far (as early stopping keeps),"
                 if self.options["early_stopping"] else f"the model after epoch {self.saved_epoch}, the latest,")
        return f"{which} is saved in {self.model_path}; continue with: linclass train --resume {self.run_dir}"

    def finish(self) -> dict[str, Any]:
        """Save the final model, measure it (the test set only with ``--test``) and save the summary."""
        clf, prepared = self.clf, self.prepared
        self.save(clf)
        self.trained = True
        metrics: dict[str, Any] = {"train_accuracy": prepared.training_accuracy(clf),
                                   "val_accuracy": accuracy(clf, prepared.val)}
        self.shown = prepared.val
        if self.options["test"]:
            self.shown = prepared.test_split()
            metrics["test_accuracy"] = accuracy(clf, self.shown)
        history = clf.history_
        metrics.update(epochs=len(history["epochs"]), best_epoch=history.get("best_epoch"),
                       kept_epoch=history["kept_epoch"], stopped_early=bool(history.get("stopped_early")))
        self.metrics = metrics
        summary = {**metrics, "seconds": round(sum(self.seconds.values()), 3),
                   "training_seconds": round(self.seconds["training"], 3), "model": str(self.model_path),
                   "run_dir": str(self.run_dir),
                   "report": None if self.options["no_report"] else str(self.run_dir / REPORT_NAME),
                   "resumed": self.resumed}
        run_folder.write_summary(self.run_dir, summary)
        return summary

    def draw_report(self) -> None:
        """The pictures and ``report.html``, after :meth:`finish` (the model and the summary are on disk)."""
        start = time.perf_counter()
        title = f"linclass train: {get_loss(self.options['loss']).title} classifier on {self.prepared.dataset.name}"
        write_run_report(self.run_dir, title=title, clf=self.clf, prepared=self.prepared, shown=self.shown,
                         hyperparameters=hyperparameters(self.options), metrics=self.metrics, timings=self.seconds,
                         cpu_meter=self.cpu_meter)
        self.seconds["pictures and report"] = time.perf_counter() - start


def hyperparameters(options: dict[str, Any]) -> dict[str, Any]:
    """The settings a report shows under "Hyperparameters": every hyperparameter option, then the data's."""
    keys = [str(item.flag) for item in option_hyperparameters() if options.get("cluster") or item.group != "cluster"]
    shown = {key: options[key] for key in [*keys, "val_fraction", "center"]}
    return {**shown, "cluster": options["cluster"]} if options.get("cluster") else shown


def copy_with(clf: Any, **attributes: Any) -> Any:
    """A shallow copy of ``clf`` with some fitted attributes replaced (the live ones are left to training)."""
    kept = copy.copy(clf)
    kept.__dict__.update(attributes)
    return kept


def print_summary(summary: dict[str, Any]) -> None:
    """The few lines a person wants at the end of a run."""
    print(f"trained for {summary['epochs']} epochs in {summary['training_seconds']:.2f} s{kept_note(summary)}")
    line = f"  training accuracy {percent(summary['train_accuracy'])}, validation accuracy " \
           f"{percent(summary['val_accuracy'])}"
    if "test_accuracy" in summary:
        line += f", test accuracy {percent(summary['test_accuracy'])}"
    print(line)
    print(f"  model:  {summary['model']}")
    if summary["report"] is None:
        again = f"linclass train --resume {summary['run_dir']}" + (" --test" if "test_accuracy" in summary else "")
        print(f"  report: not drawn (--no-report); draw it with: {again}", flush=True)
    else:
        print(f"  report: {summary['report']}", flush=True)


def kept_note(summary: dict[str, Any]) -> str:
    """Which epoch's model was kept, and the best validation epoch when that is another one."""
    best, kept = summary.get("best_epoch"), summary.get("kept_epoch")
    if kept is None:
        return ""
    if kept == best:
        return f" (kept epoch {kept}, the best on validation)"
    note = f" (kept the last epoch, {kept}" if kept == summary["epochs"] else f" (kept epoch {kept}"
    return note + ("" if best is None else f"; validation accuracy was best at epoch {best}") + ")"
