"""``linclass tune``: search learning rate × regularization (× loss) on the validation split.

One classifier is trained per setting, two at a time by default (``--jobs``), and the settings are
ranked by validation accuracy; the test set plays no part (``--test`` measures the chosen model on it
once, at the end). The run folder holds the best model, the table of trials, the heat map of
validation accuracy over learning rate × regularization on log axes, and ``report.html``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from linclass.cli import run_folder
from linclass.cli.common import (MODELS, add_hyperparameter_option, check_model_options, classifier_parameters,
                                 common_options,
                                 constraint_type, data_options, fill_defaults, list_of, model_class,
                                 optimization_options, option_type, option_value, output_options, percent,
                                 positive_int, print_json, training_defaults)
from linclass.cli.pipeline import (PreparedData, accuracy, check_parameters, model_metadata, prepare_data,
                                   write_run_report)
from linclass.cli.drawing import finish_importing_drawing, start_importing_drawing
from linclass.cli.progress import progress_display
from linclass.constraints import Integer
from linclass.errors import LinclassError
from linclass.nn.network import NETWORK_PARAMETERS
from linclass.train import HYPERPARAMETERS

if TYPE_CHECKING:
    from linclass.tune import SearchResult

TUNE_DEFAULTS: dict[str, Any] = {"search": "grid", "trials": 10, "jobs": 2, "lr": [0.01, 0.03, 0.1, 0.3],
                                 "reg": [1e-5, 1e-4, 1e-3, 1e-2], "loss": [HYPERPARAMETERS["loss"].default],
                                 "cv": None,
                                 "hidden": [option_value(NETWORK_PARAMETERS["hidden_layer_sizes"],
                                                         NETWORK_PARAMETERS["hidden_layer_sizes"].default)]}
MAX_TRIALS = 10_000
"""The most settings ``--trials`` may ask for: every trial and its model are kept until the search ranks them."""
TRIAL_COLUMNS = ("rank", "loss", "lr", "reg", "val_accuracy", "train_accuracy", "epochs", "seconds", "status")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune", parents=[common_options(), data_options(), optimization_options(), output_options()],
        help="search learning rate × regularization (× loss) on the validation split",
        description="Train one classifier per setting of learning rate × regularization (and loss), in "
                    "parallel, rank them by validation accuracy, keep the best model, and write a run folder "
                    "with the table of trials, a heat map of validation accuracy and report.html.",
    )
    group = parser.add_argument_group("search")
    group.add_argument("--search", choices=("grid", "random"),
                       help="every combination of the values (grid), or --trials settings drawn log-uniformly "
                            "between the smallest and largest value of each list (random) (default grid)")
    for name in ("lr", "reg", "loss"):
        declaration = HYPERPARAMETERS[name]
        group.add_argument(f"--{name}", type=list_of(option_type(declaration)), metavar="LIST",
                           help=f"values of {name}, comma-separated, each {declaration.constraint.describe()}: "
                                f"{declaration.help} (default {','.join(map(str, TUNE_DEFAULTS[name]))})")
    group.add_argument("--model", choices=tuple(MODELS), help="what each trial trains: " + "; ".join(
        f"{name}: {what}" for name, (_, _, what) in MODELS.items()) + " (default linear)")
    hidden = NETWORK_PARAMETERS["hidden_layer_sizes"]
    group.add_argument("--hidden", action="append", type=option_type(hidden), metavar="N[,N...]",
                       help=f"with --model mlp, {hidden.help}, to try: once per choice, e.g. --hidden 50 --hidden "
                            f"100,50 (default {TUNE_DEFAULTS['hidden'][0]})")
    add_hyperparameter_option(group, NETWORK_PARAMETERS["activation"])
    group.add_argument("--cv", type=constraint_type(Integer(2)), metavar="K",
                       help="rank the settings by stratified K-fold cross-validation on the training data (its "
                            "training and validation parts together) instead of on the validation part; the best "
                            "setting is then trained on all of it")
    group.add_argument("--trials", type=trial_count, metavar="N",
                       help=f"settings drawn by --search random (default 10, at most {MAX_TRIALS})")
    group.add_argument("--jobs", type=positive_int, metavar="N", help="trials trained at the same time (default 2)")
    parser.add_argument("--test", action="store_true", help="at the end, measure the best model on the test set (once)")
    parser.set_defaults(run=run)


def trial_count(text: str) -> int:
    """``--trials``: a whole number from 1 to :data:`MAX_TRIALS`."""
    count = positive_int(text)
    if count > MAX_TRIALS:
        raise argparse.ArgumentTypeError(f"{text} must be at most {MAX_TRIALS}: every trial is trained and kept "
                                         "until the search ranks them")
    return count


def run(args: argparse.Namespace) -> int:
    from linclass import tune

    check_model_options(args)
    options = fill_defaults(args, {**training_defaults(args.model or "linear"), **TUNE_DEFAULTS})
    if options["search"] == "random" and 0 in options["reg"]:
        raise LinclassError("--reg: a random search draws λ log-uniformly, which cannot reach 0; give positive "
                            "values, or use --search grid")
    network = options["model"] == "mlp"
    shared = {key: value for key, value in classifier_parameters(options).items()
              if key not in ("loss", "lr", "reg", "hidden_layer_sizes")}
    layer_choices = [NETWORK_PARAMETERS["hidden_layer_sizes"].constraint.parse(text) for text in options["hidden"]]
    check_parameters({**shared, "loss": options["loss"][0], "lr": options["lr"][0], "reg": options["reg"][0]})
    if options["out"] is not None:
        run_folder.check_new_run_dir(options["out"])
    start_importing_drawing()  # for the heat map at the end, while the data load
    prepared = prepare_data(options)
    finish_importing_drawing()  # before the search forks its workers
    run_dir, made = run_folder.create_run_dir(options["out"], prepared.dataset.name, "tune")
    n_trials = options["trials"] if options["search"] == "random" else \
        len(options["loss"]) * len(options["lr"]) * len(options["reg"])
    n_trials *= len(layer_choices) if network else 1
    progress = progress_display(n_trials, "trial", options["quiet"])
    finished: list[dict] = []

    def on_trial_end(trial: dict) -> None:
        finished.append(trial)
        best = max((t["val_accuracy"] for t in finished if t["val_accuracy"] is not None), default=None)
        progress.update(len(finished), f"best validation accuracy {percent(best)}")

    train, val = prepared.train, prepared.val
    data: tuple[np.ndarray, ...]
    if options["cv"] is None:
        data = (train.features, train.labels, val.features, val.labels)
    else:  # every labelled example the search may use: the folds are cut from all of them
        data = (np.concatenate([train.features, val.features]), np.concatenate([train.labels, val.labels]))
    start = time.perf_counter()
    try:
        result = tune.search(*data, method=options["search"], cv=options["cv"],
                             lr=options["lr"], reg=options["reg"], loss=options["loss"],
                             n_trials=options["trials"], params=shared, n_jobs=options["jobs"],
                             seed=options["seed"], on_trial_end=on_trial_end, estimator=model_class(options["model"]),
                             hidden_layer_sizes=layer_choices if network else None)
    except BaseException:  # a search stopped before its end saved nothing: leave no empty folder
        if made:
            run_folder.remove_if_empty(run_dir)
        raise
    finally:
        progress.close()
    seconds = {**prepared.seconds, "search": time.perf_counter() - start}
    summary = finish(run_dir, options, prepared, result, seconds)
    if options["json"]:
        print_json(summary)
    else:
        print(tune.format_table(result.trials, style="text"))
        best = summary["best"]
        layers = f" hidden={','.join(map(str, best['hidden_layer_sizes']))}" if "hidden_layer_sizes" in best else ""
        print(f"\nbest: {best['loss']}{layers} lr={best['lr']:g} reg={best['reg']:g}: validation accuracy "
              f"{percent(best['val_accuracy'])}" + (f", test accuracy {percent(summary['test_accuracy'])}"
                                                     if "test_accuracy" in summary else ""))
        print(f"  model:  {summary['model']}")
        print(f"  report: {summary['report']}")
    return 0


def finish(run_dir: Path, options: dict[str, Any], prepared: PreparedData, result: SearchResult,
           seconds: dict[str, float]) -> dict[str, Any]:
    """Save the best model, the trials and the heat map; write the report; the summary of the search."""
    from linclass import report

    best_trial, clf = result.trials[0], result.best_model
    run_folder.write_config(run_dir, {**{k: v for k, v in options.items() if k not in ("run", "debug")},
                                      "out": str(run_dir)})
    model_path = clf.save(run_dir / run_folder.MODEL_NAME, preprocessor=prepared.preprocessor,
                          metadata=model_metadata(prepared))
    run_folder.write_metrics(run_dir, clf.history_)
    ranked = [{"rank": rank, **trial} for rank, trial in enumerate(result.trials, start=1)]
    columns: tuple[str, ...] = TRIAL_COLUMNS[:2] + ("hidden_layer_sizes",) + TRIAL_COLUMNS[2:] \
        if options["model"] == "mlp" else TRIAL_COLUMNS
    if options["cv"] is not None:
        columns = columns[:columns.index("val_accuracy") + 1] + ("val_accuracy_std",) + \
            columns[columns.index("val_accuracy") + 1:]
    run_folder.write_table(run_dir / run_folder.TRIALS_NAME, columns, ranked)
    heat_map = run_dir / "tune.png"
    report.plot_tune_heatmap(result.trials, path=heat_map)
    metrics = {"val_accuracy": best_trial["val_accuracy"], "train_accuracy": accuracy(clf, prepared.train)}
    shown = prepared.val if options["cv"] is None else prepared.train  # with --cv the model trained on both
    if options["test"]:
        shown = prepared.test_split()
        metrics["test_accuracy"] = accuracy(clf, shown)
    metrics["trials"] = len(result.trials)
    for trial in ranked[:5]:
        metrics[f"rank {trial['rank']}: {trial['loss']}, lr {trial['lr']:.3g}, λ {trial['reg']:.3g}"] = \
            "diverged" if trial["status"] != "ok" else f"validation {percent(trial['val_accuracy'])}"
    search_space = {"search": options["search"], "losses": options["loss"], "learning rates": options["lr"],
                    "regularization strengths": options["reg"], "jobs": options["jobs"],
                    **{key: value for key, value in options.items()
                       if key in ("penalty", "regularize_bias", "optimizer", "momentum", "schedule", "batch_size",
                                  "epochs", "early_stopping", "val_fraction", "center", "seed")}}
    if options["search"] == "random":
        search_space["trials"] = options["trials"]
    best = {key: best_trial[key] for key in ("loss", "hidden_layer_sizes", "lr", "reg", "val_accuracy",
                                             "val_accuracy_std", "train_accuracy") if key in best_trial}
    report_path = write_run_report(
        run_dir, title=f"linclass tune on {prepared.dataset.name}", clf=clf, prepared=prepared, shown=shown,
        hyperparameters={**search_space, "best": f"{best['loss']}, lr {best['lr']:g}, λ {best['reg']:g}"},
        metrics=metrics, timings=seconds, extra_images={"tune": heat_map},
        notes=[f"The pictures of the model are those of the best trial ({best['loss']}, lr {best['lr']:g}, "
               f"λ {best['reg']:g}); every trial is listed in {run_folder.TRIALS_NAME}."])
    summary = {"best": best, "trials": result.trials, "model": str(model_path), "run_dir": str(run_dir),
               "report": str(report_path), "seconds": round(seconds["search"] + seconds["loading data"], 3)}
    if "test_accuracy" in metrics:
        summary["test_accuracy"] = metrics["test_accuracy"]
    return summary
