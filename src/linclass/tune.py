"""Hyperparameter search on the validation split: which learning rate, regularization and loss work best.

The lecture's protocol: train the parameters on the training set, choose the hyperparameters by their
accuracy on the validation set, and look at the test set only once, at the very end. The search
functions here therefore never take test data; :func:`evaluate` is the one explicit final evaluation.

Candidates come from a grid (every combination of the listed values) or at random, with learning rate and
regularization drawn log-uniformly (a rate of 1e-3 is as far from 1e-2 as 1e-2 from 1e-1, so each
decade gets the same share of trials, as in CS231n's validation grids).

Trials can run in parallel processes (``n_jobs``). Every trial, in a worker or not, runs with BLAS limited
to one thread, so the results do not depend on ``n_jobs``.

With ``cv=K`` there is no validation set: as the lecture says, "train parameters and (cross) validate
hyperparameters". The training data is cut into K stratified folds (scikit-learn's ``StratifiedKFold``,
shuffled with ``seed``); each candidate trains K times, on all folds but one, and is ranked by the mean
accuracy on the held-out folds (its ``val_accuracy``, with ``val_accuracy_std`` over the folds); the best
setting is then trained again on all the training data. Folds run in parallel like trials.

>>> result = search(X_train, y_train, X_val, y_val, lr=[1e-3, 1e-2], reg=[1e-4, 1e-3], loss=list(LOSSES))
>>> print(format_table(result.trials))
>>> test_accuracy = evaluate(result.best_model, X_test, y_test)      # once, at the end
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from linclass.errors import DivergenceError
from linclass.estimator import LinearClassifier, TrainedClassifier
from linclass.constraints import Integer, OneOf
from linclass.losses import DEFAULT_LOSS
from linclass.train import HYPERPARAMETERS

__all__ = ["SearchResult", "candidates", "search", "evaluate", "format_table", "METHODS"]

METHODS = ("grid", "random")
DEFAULT_LR = (1e-3, 1e-2, 1e-1)
DEFAULT_REG = (1e-5, 1e-4, 1e-3)

_worker_data: tuple[np.ndarray, ...] | None = None  # set in each worker process only, by _start_worker


class SearchResult(NamedTuple):
    """What a search found: ``trials, best_model = search(...)`` also works.

    Attributes
    ----------
    trials : list of dict
        One per candidate, best validation accuracy first: ``loss``, ``lr``, ``reg``, ``val_accuracy``,
        ``train_accuracy`` (on the whole training set at the end), ``seconds``, ``epochs`` (run),
        ``status`` ("ok" or "diverged") and ``error`` (the divergence message or None).
    best_model : LinearClassifier or MLPClassifier
        The model of the best trial (or, with ``refit=True``, one retrained with its hyperparameters on
        the training and validation sets together).
    """

    trials: list[dict]
    best_model: TrainedClassifier


def candidates(method: str = "grid", lr: Sequence[float] = DEFAULT_LR, reg: Sequence[float] = DEFAULT_REG,
               loss: Sequence[str] = (DEFAULT_LOSS,), n_trials: int = 10, seed: int = 0) -> list[dict]:
    """The hyperparameter settings to try.

    Parameters
    ----------
    method : {"grid", "random"}
        ``"grid"``: every combination of ``loss × lr × reg``. ``"random"``: ``n_trials`` settings with
        ``lr`` and ``reg`` drawn log-uniformly between the smallest and largest value given and ``loss``
        drawn uniformly from the list.
    lr, reg : sequences of float > 0
        Values (grid) or the range's ends (random).
    loss : sequence of str
        Loss names.
    n_trials : int
        Number of random settings.
    seed : int
        Seed of the random draws.

    Returns
    -------
    list of dict with keys ``loss``, ``lr``, ``reg``.
    """
    OneOf(METHODS).check("method", method)
    lr, loss = _values("lr", lr), _values("loss", loss)
    reg = _values("reg", reg, positive=method == "random")
    if method == "grid":
        return [{"loss": name, "lr": rate, "reg": strength}
                for name, rate, strength in itertools.product(loss, lr, reg)]
    Integer(1).check("n_trials", n_trials)
    rng = np.random.default_rng(seed)
    return [{"loss": loss[rng.integers(len(loss))], "lr": _log_uniform(rng, lr), "reg": _log_uniform(rng, reg)}
            for _ in range(n_trials)]


def search(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray | None = None,
           y_val: np.ndarray | None = None, *,
           method: str = "grid", lr: Sequence[float] = DEFAULT_LR, reg: Sequence[float] = DEFAULT_REG,
           loss: Sequence[str] = (DEFAULT_LOSS,), n_trials: int = 10, params: dict | None = None,
           n_jobs: int = 1, seed: int = 0, refit: bool = False,
           on_trial_end: Callable[[dict], Any] | None = None, estimator: type[TrainedClassifier] = LinearClassifier,
           hidden_layer_sizes: Sequence[Sequence[int]] | None = None, cv: int | None = None) -> SearchResult:
    """Train one classifier per candidate on the training set and rank them by validation accuracy.

    Parameters
    ----------
    X_train, y_train : arrays
        The training set (features, e.g. from a fitted Preprocessor).
    X_val, y_val : arrays, optional
        The validation set that ranks the candidates (leave them out with ``cv``). There is no test set
        argument, on purpose.
    method, lr, reg, loss, n_trials, seed
        The candidates, as :func:`candidates` makes them.
    params : dict, optional
        Other hyperparameters of ``estimator`` shared by every trial (e.g. ``{"epochs": 5}``).
    n_jobs : int
        Trials run at the same time, in worker processes when > 1.
    refit : bool
        Retrain the best setting on training + validation data instead of keeping its trial's model.
    on_trial_end : callable, optional
        Called with each trial's record as it finishes (in candidate order), e.g. for progress.
    estimator : class
        What each trial trains: :class:`LinearClassifier`, or :class:`linclass.nn.MLPClassifier`.
    hidden_layer_sizes : sequence of layer sizes, optional
        A network's hidden layers to try, e.g. ``[(50,), (100,), (100, 50)]``: every candidate is tried
        with each (``estimator`` must then be a network's).
    cv : int >= 2, optional
        Rank the candidates by stratified ``cv``-fold cross-validation on the training data instead of a
        validation set; the best setting is refit on all of it (see the module docstring).

    Returns
    -------
    SearchResult
        The trials sorted by validation accuracy (ties keep candidate order) and the best model.

    Raises
    ------
    DivergenceError
        When every trial diverged.
    """
    Integer(1).check("n_jobs", n_jobs)
    settings = candidates(method, lr, reg, loss, n_trials, seed)
    if hidden_layer_sizes is not None:
        settings = [{**setting, "hidden_layer_sizes": sizes} for setting in settings
                    for sizes in _layer_sizes(hidden_layer_sizes, estimator)]
    base = dict(params or {})
    _check_params(base, estimator)
    if (cv is None) == (X_val is None or y_val is None):
        raise ValueError("give a validation set (X_val, y_val) or cv=K folds of the training data, not both")
    X_train, y_train = np.ascontiguousarray(X_train, dtype=np.float32), np.asarray(y_train)
    folds: list[tuple[np.ndarray, np.ndarray] | None]
    data: tuple[np.ndarray, ...]
    if cv is None:
        data = (X_train, y_train, np.ascontiguousarray(X_val, dtype=np.float32), np.asarray(y_val))
        folds = [None]
    else:
        data = (X_train, y_train)
        folds = list(stratified_folds(y_train, Integer(2).check("cv", cv), seed))
    jobs: list[dict[str, Any]] = [{"estimator": estimator, "params": {**base, **setting}, "fold": fold}
                                  for setting in settings for fold in folds]
    trials, models = [], []
    results = iter(_run_all(jobs, data, n_jobs))
    for _ in settings:
        trial, model = _mean_over_folds([next(results) for _ in folds])
        if on_trial_end is not None:
            on_trial_end(trial)
        trials.append(trial)
        models.append(model)
    order = sorted(range(len(trials)), key=lambda i: -_rank_value(trials[i]))
    best_model = models[order[0]]
    if best_model is None:  # the best trial diverged, and so did every other
        smallest = min(setting["lr"] for setting in settings)
        raise DivergenceError(f"every trial diverged (the smallest learning rate was lr={smallest:g}): "
                              f"try smaller learning rates")
    if cv is not None:  # a fold's model saw part of the data: the best setting learns from all of it
        best_model = estimator(**jobs[order[0] * len(folds)]["params"]).fit(X_train, y_train)
    elif refit:
        X_all, y_all = (np.concatenate([part, data[i + 2]]) for i, part in enumerate(data[:2]))
        best_model = estimator(**jobs[order[0]]["params"]).fit(X_all, y_all)
    return SearchResult([trials[i] for i in order], best_model)


def evaluate(model: TrainedClassifier, X_test: np.ndarray, y_test: np.ndarray) -> float:
    """The test accuracy of the chosen model: the one look at the test set, after the search is over."""
    return float(model.score(X_test, y_test))


def format_table(trials: Iterable[dict], style: str = "markdown") -> str:
    """The trials as a table, one row each in the given order (best first after :func:`search`).

    ``style="markdown"`` gives a GitHub table; ``style="text"`` aligned plain columns.
    """
    OneOf(("markdown", "text")).check("style", style)
    trials = list(trials)
    layers = any("hidden_layer_sizes" in trial for trial in trials)  # a network's search shows its layers
    header = ["rank", "loss", *(["hidden"] * layers), "lr", "reg", "val accuracy", "train accuracy", "epochs",
              "seconds"]
    rows = [[str(rank), trial["loss"], *([",".join(map(str, trial.get("hidden_layer_sizes", ())))] * layers),
             f"{trial['lr']:.3g}", f"{trial['reg']:.3g}",
             _percent(trial["val_accuracy"]) + _spread(trial) if trial["status"] == "ok" else "diverged",
             _percent(trial["train_accuracy"]) if trial["status"] == "ok" else "-",
             "-" if trial["epochs"] is None else str(trial["epochs"]), f"{trial['seconds']:.1f}"]
            for rank, trial in enumerate(trials, start=1)]
    if style == "markdown":
        alignments = ["---" if name in ("loss", "hidden") else "---:" for name in header]  # numbers to the right
        return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, alignments, *rows])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
                     for row in [header, *rows])


def _spread(trial: dict) -> str:
    """`` ± 1.2`` points: the standard deviation of a cross-validated accuracy over its folds."""
    return f" ± {100 * trial['val_accuracy_std']:.1f}" if trial.get("val_accuracy_std") is not None else ""


# -- running trials -------------------------------------------------------------------------------------


def _run_all(jobs: list[dict], data: tuple[np.ndarray, ...],
             n_jobs: int) -> Iterable[tuple[dict, TrainedClassifier | None]]:
    """Each job's (trial, model), in job order: here, or in ``n_jobs`` worker processes."""
    if n_jobs == 1 or len(jobs) == 1:
        return (_run_trial(job, data) for job in jobs)
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    executor = ProcessPoolExecutor(max_workers=min(n_jobs, len(jobs)), mp_context=context,
                                   initializer=_start_worker, initargs=data)
    return _results_then_shutdown(executor, executor.map(_run_trial_in_worker, jobs))


def _results_then_shutdown(executor: ProcessPoolExecutor, results: Iterable) -> Iterable:
    with executor:
        yield from results


def _start_worker(*data: np.ndarray) -> None:
    """Keep the data in the worker once (not once per trial)."""
    global _worker_data
    _worker_data = data


def _run_trial_in_worker(job: dict) -> tuple[dict, TrainedClassifier | None]:
    assert _worker_data is not None, "_start_worker gives every worker its data first"
    return _run_trial(job, _worker_data)


def stratified_folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (training rows, held-out rows) of each of ``k`` stratified folds, shuffled by ``seed``: scikit-learn's
    ``StratifiedKFold(k, shuffle=True, random_state=seed)``, so that ``GridSearchCV`` can be given the same."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.unique(y, return_counts=True)[1]
    if counts.min() < k:
        raise ValueError(f"cv={k} is not valid: the rarest class has {counts.min()} examples, fewer than the folds")
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _mean_over_folds(results: list[tuple[dict, TrainedClassifier | None]]) -> tuple[dict, TrainedClassifier | None]:
    """One candidate's record over its folds: mean (and spread) of the accuracies; diverged if any fold did."""
    trials = [trial for trial, _ in results]
    if len(trials) == 1:
        return results[0]
    trial = dict(trials[0], folds=len(trials), seconds=sum(t["seconds"] for t in trials))
    diverged = [t for t in trials if t["status"] != "ok"]
    if diverged:
        trial.update(status="diverged", error=diverged[0]["error"], val_accuracy=None, train_accuracy=None,
                     val_accuracy_std=None, epochs=None)
        return trial, None
    accuracies = [t["val_accuracy"] for t in trials]
    trial.update(val_accuracy=float(np.mean(accuracies)), val_accuracy_std=float(np.std(accuracies)),
                 train_accuracy=float(np.mean([t["train_accuracy"] for t in trials])))
    return trial, results[0][1]


def _run_trial(job: dict, data: tuple[np.ndarray, ...]) -> tuple[dict, TrainedClassifier | None]:
    """Fit one candidate (on one fold) with one BLAS thread; its record and model (None if it diverged)."""
    if job.get("fold") is None:
        X_train, y_train, X_val, y_val = data
    else:
        X, y = data
        train, held_out = job["fold"]
        X_train, y_train, X_val, y_val = X[train], y[train], X[held_out], y[held_out]
    params = job["params"]
    clf = job["estimator"](**params)
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        try:
            clf.fit(X_train, y_train)
            status, error = "ok", None
        except DivergenceError as exc:
            status, error = "diverged", str(exc)
        fitted = status == "ok"
        trial = {"loss": params["loss"], "lr": params["lr"], "reg": params["reg"],
                 **({"hidden_layer_sizes": params["hidden_layer_sizes"]} if "hidden_layer_sizes" in params else {}),
                 "val_accuracy": clf.score(X_val, y_val) if fitted else None,
                 "train_accuracy": clf.score(X_train, y_train) if fitted else None,
                 "seconds": time.perf_counter() - started,
                 "epochs": clf.n_iter_ if fitted else None, "status": status, "error": error}
    return trial, clf if fitted else None


def _rank_value(trial: dict) -> float:
    return trial["val_accuracy"] if trial["status"] == "ok" else -1.0


def _check_params(params: dict, estimator: type[TrainedClassifier]) -> None:
    known = estimator.PARAMETERS
    for name in params:
        if name not in known:
            raise ValueError(f"params has {name!r}, which is not a {estimator.__name__} hyperparameter; "
                             f"use some of {', '.join(sorted(known))}")
        if name in ("lr", "reg", "loss"):
            raise ValueError(f"params has {name!r}, which the search itself varies; give it as {name}=[...]")


def _layer_sizes(choices: Sequence[Sequence[int]], estimator: type[TrainedClassifier]) -> list[tuple[int, ...]]:
    """The hidden layers to try, each checked by its declaration; only a network has them."""
    if "hidden_layer_sizes" not in estimator.PARAMETERS:
        raise ValueError(f"hidden_layer_sizes=... searches a network's layers, and a {estimator.__name__} has "
                         "none: pass estimator=linclass.MLPClassifier")
    declaration = estimator.PARAMETERS["hidden_layer_sizes"]
    sizes = [tuple(choice) if isinstance(choice, (list, tuple)) else choice for choice in choices]
    if not sizes:
        raise ValueError("hidden_layer_sizes=[] is not valid: expected at least one choice of layer sizes")
    return [declaration.check(choice) for choice in sizes]


def _values(name: str, values: Any, positive: bool = False) -> list:
    """The values of a grid, each checked by the hyperparameter's own rule (and > 0 when ``positive``:
    a log-uniform draw cannot reach 0)."""
    values = [v.item() if isinstance(v, np.generic) else v for v in np.atleast_1d(np.asarray(values, dtype=object))]
    if not values:
        raise ValueError(f"{name}=[] is not valid: expected at least one value, each "
                         f"{HYPERPARAMETERS[name].constraint.describe()}")
    for value in values:
        HYPERPARAMETERS[name].check(value)
        if positive and not value > 0:
            raise ValueError(f"{name}={value!r} is not valid: a random search draws it log-uniformly, which "
                             "needs values > 0")
    return values


def _log_uniform(rng: np.random.Generator, bounds: list[float]) -> float:
    low, high = np.log10(min(bounds)), np.log10(max(bounds))
    return float(10 ** rng.uniform(low, high))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"
