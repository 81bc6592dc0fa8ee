"""Mini-batch gradient descent: the lecture's loop, with a history, early stopping and a divergence guard.

::

    while True:
        data_batch = sample_data(training_data, 256)
        weights_grad = eval_grad(loss_fun, data_batch, weights)
        weights += - step_size * weights_grad

Each step takes a mini-batch, computes its scores ``X Wᵀ + b``, the regularized loss
``L = mean_i L_i + λ R(W)`` and its gradient, and lets the optimizer move ``W`` and ``b`` downhill.
Batches come from a shuffled pass over the data (``sampling="shuffle"``: every example once per epoch)
or are drawn with replacement as the lecture's ``sample_data`` does (``sampling="replacement"``).
A shuffled pass puts the rows in one random order (a copy, made once per :meth:`Trainer.fit`, by the
first epoch as it gathers each batch into its place: :mod:`linclass.shuffled_rows`), cuts it into
consecutive batches and visits those in a new random order every epoch: each batch is then a view of
contiguous rows, where gathering 256 rows from all over memory took half of an epoch's time.

The step is computed on one of two paths, which the tests hold equal:

``solver="fused"`` (the default)
    NumPy kernels only (each :class:`linclass.losses.Loss`'s ``kernel``,
    :func:`linclass.regularizers.penalty_and_grad`): ``dscores`` from the loss kernel, then
    ``dW = dscoresᵀ X_batch + λ dR/dW`` and ``db = Σ_i dscores_i``. No graph is built and every array
    is allocated once, so an epoch costs about what a hand-written NumPy loop costs.
``solver="autograd"``
    The lecture's formulas on Tensors: the loss composed of engine ops (the loss's ``composed``) plus the
    penalty, then ``backward()`` — slower, but every gradient comes from backpropagation.

Both use the optimizers and schedules of :mod:`linclass.optim` on Tensors wrapping ``W`` and ``b``,
and draw the batch order from one ``np.random.default_rng(seed)`` and the order of the rows from a
stream of their own (:data:`ROW_ORDER_STREAM`), so a seed fixes the result bit for bit.

The history (``Trainer.history``, a classifier's ``history_``) is a JSON-able dict::

    {"loss": [total loss of every iteration],
     "epochs": [{"epoch": 1, "loss": mean over the epoch, "train_accuracy": ..., "val_accuracy": ... or None,
                 "learning_rate": ..., "seconds": cumulative}, ...],
     "best_epoch": epoch of the best validation accuracy or None, "stopped_early": bool,
     "kept_epoch": the epoch whose weights fit keeps (see :attr:`Trainer.kept_epoch`) or None,
     "lr": the learning rate the run trains at (``lr=None``: the one derived from the data) or None,
     "converged": True or False when the last fit trained until converged (``epochs=None``), else None,
     "counting_from": the first epoch of the run that convergence is judged on}

With ``epochs=None`` (the default) a run trains until converged: until the epoch's training loss has
come within ``tol`` of its best for ``n_iter_no_change`` epochs in a row, or for ``max_epochs``
(``history["converged"]`` is then False and the estimator warns). L-BFGS (``solver="lbfgs"``,
:mod:`linclass.lbfgs`) records one epoch per iteration, with ``learning_rate`` None.

A run goes on exactly where it stopped from the weights it kept, its history and
:meth:`Trainer.state_dict` (the optimizer's buffers, the batch order's generator, the best epoch so far
and, when early stopping kept an earlier epoch's weights, those training goes on from): a fit stopped
after epoch 3 and continued to epoch 6 gives the weights of a fit of 6 epochs, bit for bit.

The training accuracy of an epoch is that of the mini-batch scores already computed during the epoch
(free, but measured while the weights still move); the validation accuracy is computed on the whole
validation set at the end of the epoch.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol, TypeAlias

import numpy as np

from linclass import losses
from linclass.constraints import Boolean, Integer, OneOf, OptionalOf, Real, declare, declared
from linclass.errors import DivergenceError
from linclass.fastsum import sum_axes
from linclass.lbfgs import Objective, minimize
from linclass.model import accuracy, init_weights, scores
from linclass.optim import LEARNING_RATE, MOMENTUM, OPTIMIZERS, SCHEDULES, schedule_for_run
from linclass.regularizers import L1_RATIO, PENALTIES, PENALTY_CHOICES, penalty, penalty_and_grad
from linclass.shuffled_rows import ShuffledRows
from linclass.step_size import default_step_size
from linclass.tensor import Tensor
from linclass.threads import BlasThreads, ThreadChoice, step_flops

__all__ = ["TrainConfig", "HYPERPARAMETERS", "Trainer", "BlockStream", "train", "new_history", "kept_epoch_of",
           "check_config", "SAMPLINGS", "SOLVERS", "EXPLOSION_FACTOR"]

SAMPLINGS = ("shuffle", "replacement")
SOLVERS = ("fused", "autograd", "lbfgs")
LBFGS_MAX_ROWS = 1000
"""The most training rows for which ``solver=None`` chooses L-BFGS: there a full pass costs less than a
few mini-batch steps would, and such small sets are often tables of raw features of unlike scales, which
a quasi-Newton method copes with and a single learning rate does not."""
EXPLOSION_FACTOR = 1e3
"""Training stops as diverged once a loss exceeds this many times the first loss (or this many, if the
first loss is below 1)."""
RowOrder: TypeAlias = "np.ndarray | ShuffledRows | None"
"""How an epoch's rows ``a:b`` of the shuffled order are found (:meth:`ShuffledRows.for_epoch`)."""
ROW_ORDER_STREAM = 1
"""``default_rng((seed, ROW_ORDER_STREAM))`` orders the rows for ``sampling="shuffle"``: a stream apart
from the one that draws the initial weights and the batch order, and the same for every epoch that
:meth:`Trainer.run_epoch` runs on its own (``partial_fit``) as for those of :meth:`Trainer.fit`."""

BLOCK_ORDER_STREAM = 2
"""``default_rng((seed, BLOCK_ORDER_STREAM, epoch))`` orders the blocks of a :class:`BlockStream` and the rows
within each in epoch ``epoch`` (:meth:`Trainer.fit_stream`): a new order every epoch, fixed by the seed and the
epoch alone, so that a resumed run reads the blocks as the uninterrupted one did."""

EpochCallback = Callable[[dict], Any]


class BlockStream(Protocol):
    """Training data that comes a block of rows at a time, for data larger than memory
    (:class:`linclass.distributed.blocks.BlockSource` is one): what :meth:`Trainer.fit_stream` needs."""

    @property
    def shape(self) -> tuple[int, int]:
        """``(N, D)``: every row of the stream, and its features."""

    def __len__(self) -> int:
        """N."""

    def blocks(self, rng: np.random.Generator | None = None,
               multiple: int = 1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One epoch: every row once, as blocks of float32 features ``(n, D)`` and class indices ``(n,)``, in
        an order drawn from ``rng``; each block but the last of a multiple of ``multiple`` rows."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how training runs, each setting declared once: default, rule and help.

    The estimator's parameters (:class:`linclass.LinearClassifier`), the command line's options, tune's
    grid checks and the playground's request checks all read these declarations
    (:data:`HYPERPARAMETERS`), so a rule broken anywhere is refused with the same message.
    """

    loss: str = declare(losses.DEFAULT_LOSS, OneOf(tuple(losses.LOSSES)),
                        "the data loss L_i; " + "; ".join(f"{name}: {loss.title}" for name, loss in
                                                          losses.LOSSES.items()), group="model")
    penalty: str | None = declare("l2", OneOf(PENALTY_CHOICES),
                                  "the regularizer R(W) (biases are not regularized unless regularize_bias); "
                                  + "; ".join(f"{name}: {item.formula}" for name, item in PENALTIES.items())
                                  + "; none: no regularization")
    reg: float = declare(1e-4, Real(0, note="0 turns regularization off", example="0.0001"),
                         "the regularization strength λ in L = mean_i L_i + λ R(W)", metavar="LAMBDA",
                         group="model")
    l1_ratio: float = declare(0.5, L1_RATIO, "the L1 share r of the elastic net", metavar="R")
    regularize_bias: bool = declare(False, Boolean(),
                                    "also add λ R(b); off as in the lecture: the biases do not control how "
                                    "strongly any input dimension sways the scores")
    delta: float = declare(1.0, Real(0, low_open=True, example="1"),
                           "the margin Δ of the hinge losses (" + ", ".join(
                               name for name, loss in losses.LOSSES.items() if "delta" in loss.options) + ")",
                           metavar="DELTA")
    optimizer: str = declare("adam", OneOf(tuple(OPTIMIZERS)),
                             "the update rule; " + "; ".join(f"{name}: {choice.title}" for name, choice in
                                                            OPTIMIZERS.items()))
    lr: float | None = declare(None, OptionalOf(LEARNING_RATE, "from the data"),
                               "the learning rate (step size); by default derived from the training features' "
                               "scale, the loss and the optimizer (linclass.step_size), so that raw pixels and "
                               "scaled features both train", metavar="RATE", group="model")
    momentum: float = declare(0.9, MOMENTUM, "the momentum of the " + " and ".join(
        name for name, choice in OPTIMIZERS.items() if choice.uses_momentum) + " optimizers", metavar="MU")
    lr_schedule: str = declare("constant", OneOf(tuple(SCHEDULES)),
                               "how the learning rate changes from epoch to epoch; " + "; ".join(
                                   f"{name}: {choice.title}" for name, choice in SCHEDULES.items()),
                               flag="schedule")
    batch_size: int = declare(256, Integer(1), "examples per mini-batch step", metavar="N")
    epochs: int | None = declare(None, OptionalOf(Integer(1), "until converged"),
                                 "passes over the training data; by default as many as it takes to converge "
                                 "(see tol), at most max_epochs", metavar="N")
    max_epochs: int = declare(1000, Integer(1), "the most passes a run that trains until converged takes; "
                              "reaching them gives a ConvergenceWarning", metavar="N")
    tol: float = declare(1e-3, Real(0, example="0.001"),
                         "converged: the epoch's training loss has come within tol of its best for "
                         "n_iter_no_change epochs in a row (scikit-learn's SGDClassifier meaning); for "
                         "solver lbfgs, the largest gradient component is below tol / 10 or an iteration "
                         "lowers the loss by less than tol / 100 of itself", metavar="TOL")
    n_iter_no_change: int = declare(5, Integer(1), "epochs without a gain of tol in the training loss before a "
                                    "run is converged", metavar="N")
    iterations: int | None = declare(None, OptionalOf(Integer(1), "train for epochs"),
                                     "mini-batch steps to take instead of epochs passes (the last epoch may be "
                                     "cut short)", flag=None)
    sampling: str = declare("shuffle", OneOf(SAMPLINGS),
                            "a shuffled pass over the data every epoch, or batches drawn with replacement (the "
                            "lecture's sample_data)")
    early_stopping: bool = declare(False, Boolean(),
                                   "stop when the validation accuracy has not improved for patience epochs, and "
                                   "keep the weights of the best epoch")
    patience: int = declare(5, Integer(1), "epochs without a gain in validation accuracy before early stopping",
                            metavar="N")
    solver: str | None = declare(None, OptionalOf(OneOf(SOLVERS), "lbfgs for small data, else fused"),
                                 "fused: mini-batch steps on NumPy kernels (fast); autograd: the same steps "
                                 "through the engine (the lecture's formulas and backprop), the same weights up "
                                 "to rounding; lbfgs: full-batch L-BFGS (linclass.lbfgs). By default lbfgs for a "
                                 f"linear model on at most {LBFGS_MAX_ROWS} rows with lr, epochs, iterations and "
                                 "early stopping unset and a smooth penalty (l2 or none), else fused")
    seed: int = declare(0, Integer(0), "seeds the initial weights and the batch order (and the command line's "
                        "split): the same seed and data give the same weights, bit for bit", metavar="N",
                        group="data")
    verbose: int = declare(0, Integer(0, bools=True), "print a line per epoch on stderr when > 0", flag=None)
    threads: int | None = declare(None, OptionalOf(Integer(1), "chosen for the step's size and the free CPUs"),
                                  "BLAS threads for training (by default chosen for the step's size and the CPUs "
                                  "other processes leave free, unless OMP_NUM_THREADS, OPENBLAS_NUM_THREADS or "
                                  "MKL_NUM_THREADS is set)", metavar="N")

    def __post_init__(self) -> None:
        check_config(self)

    @property
    def epoch_budget(self) -> int:
        """The epochs a run takes at most: ``epochs``, or ``max_epochs`` when training until converged."""
        return self.max_epochs if self.epochs is None else self.epochs

    @property
    def loss_options(self) -> dict[str, float]:
        """The keyword arguments of the loss, from its record (the margin Δ for the hinge losses)."""
        return losses.get_loss(self.loss).options_from(self)

    @property
    def regularized(self) -> bool:
        return self.penalty is not None and self.reg > 0


HYPERPARAMETERS = declared(TrainConfig)
"""The declarations of :class:`TrainConfig`'s settings by name: default, constraint, help, option."""


def check_config(config: TrainConfig) -> None:
    """Raise ValueError, naming the setting, its value and what is allowed, for the first bad setting."""
    for name, hyperparameter in HYPERPARAMETERS.items():
        hyperparameter.check(getattr(config, name))
    if OPTIMIZERS[config.optimizer].needs_momentum and config.momentum == 0:
        raise ValueError(f"momentum=0 with optimizer={config.optimizer!r}: it needs momentum > 0, e.g. 0.9")


def new_history() -> dict:
    """An empty training history (the format is in the module docstring)."""
    return {"loss": [], "epochs": [], "best_epoch": None, "stopped_early": False, "kept_epoch": None,
            "lr": None, "converged": None, "counting_from": 0}


def kept_epoch_of(history: dict, early_stopping: bool) -> int | None:
    """The epoch whose weights the fit that left ``history`` kept, for a history that does not record it
    (one saved in a model file of format version 1): the best on validation with early stopping, else the last."""
    if early_stopping and history.get("best_epoch") is not None:
        return int(history["best_epoch"])
    return len(history["epochs"]) or None


class Trainer:
    """Trains the weights ``W`` (K×D) and biases ``b`` (K,) in place, one epoch at a time.

    Parameters
    ----------
    W, b : float32 ndarrays
        The starting parameters; they are updated in place, so a caller holding them sees every step.
    config : TrainConfig
    rng : numpy Generator, optional
        The source of the batch order; ``np.random.default_rng(config.seed)`` when None. Pass the
        generator that drew ``W`` to make one seed decide everything.
    history : dict, optional
        The history of earlier training of ``W`` and ``b``, to continue: new epochs are appended, the
        learning-rate schedule resumes at its epoch and :meth:`fit` trains until the history holds
        ``config.epochs`` epochs (or ``config.iterations`` steps). Without :meth:`load_state_dict` the
        optimizer's buffers (momentum) start at 0; with it, the run goes on exactly.

    Attributes
    ----------
    history : dict
        The growing history; :meth:`fit` and :meth:`run_epoch` append to it.
    optimizer, schedule
        From :mod:`linclass.optim`, kept between calls so that :meth:`run_epoch` (``partial_fit``)
        continues where the last epoch stopped.
    kept_epoch : int or None
        The epoch whose weights :meth:`fit` keeps, with :meth:`kept_weights`.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, config: TrainConfig,
                 rng: np.random.Generator | None = None, history: dict | None = None) -> None:
        self.config = config
        self.W = Tensor(W, requires_grad=True)
        self.b = Tensor(b, requires_grad=True)
        self._start({"W": self.W, "b": self.b}, rng, history)

    def _start(self, parameters: dict[str, Tensor], rng: np.random.Generator | None, history: dict | None) -> None:
        """What every trainer sets up, whatever it trains: optimizer, schedule, generator, history."""
        config = self.config
        self.parameters = parameters
        self.rng = np.random.default_rng(config.seed) if rng is None else rng
        self.history = new_history() if history is None else history
        epochs_done = self.history["epochs"]
        self.seconds = epochs_done[-1]["seconds"] if epochs_done else 0.0
        self.optimizer = OPTIMIZERS[config.optimizer].build(list(parameters.values()), 1.0, config.momentum)
        self.learning_rate: float | None = None  # the rate the run trains at, once known (see _set_learning_rate)
        self._set_learning_rate(config.lr if config.lr is not None else self.history.get("lr"))
        losses_done = self.history["loss"]
        self._loss_limit = EXPLOSION_FACTOR * max(losses_done[0], 1.0) if losses_done else math.inf
        self._best: _BestWeights | None = None  # the best validation epoch so far, of fit with a validation set
        self._resume_weights: dict[str, np.ndarray] | None = None  # see _keep_best_weights
        self._buffers: dict[str, np.ndarray] = {}
        self._penalty_buffers: dict[tuple[int, ...], np.ndarray] = {}  # dR/dθ of each shape, written every step
        self.thread_choice: ThreadChoice | None = None
        self.solver_used: str | None = None  # what the last fit or epoch trained with (see solver_for)
        self._features = np.empty((0, 0), dtype=np.float32)  # the rows being trained on, for advice

    # -- the learning rate and the solver ----------------------------------------------------------------
    def _set_learning_rate(self, lr: float | None) -> None:
        """Train at ``lr`` (None: not known until the data are seen); the schedule resumes at its epoch."""
        if lr is None:
            return
        self.learning_rate = self.optimizer.lr = lr
        self.schedule = schedule_for_run(self.config.lr_schedule, self.optimizer, self.config.epoch_budget)
        for _ in self.history["epochs"]:
            self.schedule.step()

    def _learn_rate_from(self, X: np.ndarray | BlockStream) -> None:
        """With ``lr=None``, the rate :func:`linclass.step_size.default_step_size` derives from the first rows
        trained on (a stream's first block), kept in the history for the rest of the run."""
        if self.learning_rate is None:
            if not isinstance(X, np.ndarray):
                X = next(iter(X.blocks()))[0]
            lr = default_step_size(X, self.config, self.predict_scores(X[:1]).shape[1])
            self.history["lr"] = lr
            self._set_learning_rate(lr)

    def solver_for(self, rows: int) -> str:
        """The solver a fit on ``rows`` training rows uses: the configured one, or by default (the rule is in
        ``solver``'s help) L-BFGS for a small linear problem and fused steps otherwise."""
        config = self.config
        if config.solver is not None:
            return config.solver
        smooth = config.penalty is None or PENALTIES[config.penalty].smooth
        unset = config.lr is None and config.epochs is None and config.iterations is None
        if (self.FULL_BATCH and rows <= LBFGS_MAX_ROWS and unset and not config.early_stopping
                and not config.regularize_bias and smooth):
            return "lbfgs"
        return "fused"

    FULL_BATCH = True
    """Whether the model can train by full-batch L-BFGS (:mod:`linclass.lbfgs` knows linear scores only)."""

    # -- the whole run -------------------------------------------------------------------------------
    def fit(self, X: np.ndarray | BlockStream, y: np.ndarray | None, X_val: np.ndarray | None = None,
            y_val: np.ndarray | None = None, on_epoch_end: EpochCallback | None = None) -> dict:
        """Train until the history holds ``config.epochs`` epochs (or ``config.iterations`` steps); return it.

        Parameters
        ----------
        X : float32 ndarray (N, D), or a BlockStream
            The training features, or a stream of blocks of them and their labels (:meth:`fit_stream`).
        y : int ndarray (N,), or None with a stream
            Class indices in ``0..K-1``.
        X_val, y_val : optional
            A validation set, scored after every epoch; needed for early stopping.
        on_epoch_end : callable, optional
            Called with each epoch's record after the epoch; returning True stops training.

        With ``early_stopping``, the weights of the epoch with the best validation accuracy are restored at
        the end (when continuing a history without a state, the starting weights count as a candidate
        too); those of the last epoch are kept aside, for the next fit to go on from.

        Raises
        ------
        DivergenceError
            When a loss becomes NaN, infinite or explodes (see :data:`EXPLOSION_FACTOR`).
        """
        config = self.config
        if config.early_stopping and X_val is None:
            raise ValueError("early_stopping=True needs a validation set: pass X_val and y_val")
        self._start_counting()
        self.solver_used = self.solver_for(len(X)) if isinstance(X, np.ndarray) else self.config.solver or "fused"
        if self.solver_used == "lbfgs":
            self._fit_lbfgs(X, y, X_val, y_val, on_epoch_end)
            return self.history
        self._learn_rate_from(X)
        per_epoch = self._steps_per_epoch(X)
        epochs_done = len(self.history["epochs"])
        if config.iterations is not None:
            steps_left = config.iterations - len(self.history["loss"])
        else:
            steps_left = (config.epoch_budget - epochs_done) * per_epoch
        if X_val is None:
            self._best = None
        elif self._best is None:  # no best epoch so far to go on from (load_state_dict, an earlier fit)
            assert y_val is not None, "X_val comes with y_val"
            self._best = self._first_candidate(X_val, y_val)
        best = self._best
        if self._resume_weights is not None:  # train on from where training stopped, not from the kept weights
            _copy_arrays(self._resume_weights, self.parameter_arrays())
            self._resume_weights = None
        self._features = X if isinstance(X, np.ndarray) else self._features  # a stream's are its blocks
        threads = self._blas_threads(X)
        rows = self._epoch_rows(X, y, copy=steps_left > per_epoch)
        try:
            self._train_epochs(X, y, rows, X_val, y_val, steps_left, best, threads, on_epoch_end)
        finally:
            threads.release()
        if config.early_stopping:
            self._keep_best_weights()
        return self.history

    def _start_counting(self) -> None:
        """Where the epochs that decide convergence start: where the last run that ended (converged or at
        ``max_epochs``) left off; an interrupted run (``--resume``) goes on counting."""
        history = self.history
        if history.get("converged") is not None or "counting_from" not in history:
            history["counting_from"] = len(history["epochs"])
        history["converged"] = None

    def _converged(self) -> bool:
        """scikit-learn's ``SGDClassifier`` rule: none of the last ``n_iter_no_change`` epochs' training losses
        fell below the best loss before it less ``tol`` (a loss too large for ``tol`` to change, stalled, counts
        as no gain too)."""
        best, without_gain = math.inf, 0
        for record in self.history["epochs"][self.history["counting_from"]:]:
            without_gain = 0 if record["loss"] < best - self.config.tol else without_gain + 1
            best = min(best, record["loss"])
        return without_gain >= self.config.n_iter_no_change

    def _fit_lbfgs(self, X: np.ndarray | BlockStream, y: np.ndarray | None, X_val: np.ndarray | None,
                   y_val: np.ndarray | None, on_epoch_end: EpochCallback | None) -> None:
        """:meth:`fit` by full-batch L-BFGS (:mod:`linclass.lbfgs`), one iteration an epoch."""
        config = self.config
        for setting, refused in (("early_stopping", config.early_stopping), ("regularize_bias", config.regularize_bias),
                                 ("a network", not self.FULL_BATCH), ("data read a block at a time", y is None)):
            if refused:
                raise ValueError(f"solver='lbfgs' cannot train with {setting}: choose solver='fused'")
        assert isinstance(X, np.ndarray) and y is not None, "rows in memory"
        objective = Objective(X, y, len(self.b.data), config.loss, config.loss_options,
                              config.penalty if config.regularized else None, config.reg, config.l1_ratio)
        W, b = self.W.data.astype(np.float64), self.b.data.astype(np.float64)

        iteration_started = time.perf_counter()

        def on_iteration(loss: float) -> bool:
            nonlocal iteration_started
            self.W.data[...], self.b.data[...] = W, b
            self._record_loss(loss)
            record = self._append_epoch(loss, accuracy(self.predict_scores(X), y), X_val, y_val, None,
                                        iteration_started)
            iteration_started = time.perf_counter()
            return on_epoch_end is not None and bool(on_epoch_end(record))

        iterations = config.epoch_budget - len(self.history["epochs"])
        with np.errstate(over="ignore"):
            converged = minimize(objective, W, b, iterations, config.tol, on_iteration) if iterations > 0 else True
        self.W.data[...], self.b.data[...] = W, b
        if config.epochs is None:
            self.history["converged"] = converged
        self.history["kept_epoch"] = self.kept_epoch

    def _steps_per_epoch(self, X: Any) -> int:
        """The mini-batch steps of one epoch on ``X``."""
        return math.ceil(len(X) / self.config.batch_size)

    def _epoch_rows(self, X: np.ndarray | BlockStream, y: np.ndarray | None, copy: bool) -> ShuffledRows | None:
        """The rows in their random order for :meth:`fit`'s epochs (``copy``: worth copying so ordered), or
        None to train on ``X`` itself (``sampling="replacement"``, or a stream of blocks)."""
        if self.config.sampling != "shuffle" or not isinstance(X, np.ndarray):  # a stream shuffles its blocks
            return None
        assert y is not None, "rows in memory come with their labels"
        return ShuffledRows(X, y, self._row_order(len(X)), self.config.batch_size, copy=copy)

    def _first_candidate(self, X_val: np.ndarray, y_val: np.ndarray) -> "_BestWeights":
        """The best epoch's tracker of a fit without a state to go on from: when continuing a history, the
        starting weights are the candidate to beat."""
        best = _BestWeights(self.parameter_arrays())
        epochs_done = len(self.history["epochs"])
        if epochs_done:
            best.accuracy = accuracy(self.predict_scores(X_val), y_val)
            best.epoch = epochs_done
            if self.config.early_stopping and self.history["best_epoch"] is not None:
                best.epoch = self.history["best_epoch"]  # an early-stopped fit left that epoch's weights
        return best

    def _keep_best_weights(self) -> None:
        """End an early-stopped fit on the best epoch's weights; those of the last epoch are kept aside
        for the next fit to go on from (:meth:`state_dict` holds them)."""
        if not self._kept_last_epoch():
            self._resume_weights = {name: array.copy() for name, array in self.parameter_arrays().items()}
        assert self._best is not None, "early stopping tracks the best epoch"
        self._best.restore(self.parameter_arrays())

    # -- what fit keeps, and what continues the run -----------------------------------------------------
    @property
    def kept_epoch(self) -> int | None:
        """The epoch whose weights :meth:`fit` keeps if it stops now: with early stopping the best on
        validation so far, otherwise the last; None before any epoch."""
        if self._best is not None and self._keeps_best():
            return self._best.epoch
        return len(self.history["epochs"]) or None

    def kept_weights(self) -> tuple[np.ndarray, ...]:
        """``(W, b)`` of :attr:`kept_epoch`: what a checkpoint saves. The trainer's own arrays, or during an
        early-stopped fit those of its best epoch; not copies."""
        if self._best is not None and self._keeps_best():
            return tuple(self._best.arrays.values())
        return tuple(self.parameter_arrays().values())

    # -- what a trainer of another model overrides: its scores, its penalized weights, its work per step ----
    def forward(self, X: Tensor) -> Tensor:
        """The scores of a batch as engine ops, for the autograd path: ``X Wᵀ + b``."""
        return scores(X, self.W, self.b)

    def predict_scores(self, X: np.ndarray) -> np.ndarray:
        """The scores of ``X`` with the current weights, without a graph (validation accuracy)."""
        return scores(X, self.W.data, self.b.data)

    def _penalized(self) -> list[Tensor]:
        """The parameters the penalty ``R`` applies to: ``W``, and ``b`` with ``regularize_bias``."""
        return [self.W, self.b] if self.config.regularize_bias else [self.W]

    def _step_flops(self, batch: int, features: int) -> float:
        return step_flops(batch, features, len(self.b.data))

    def _uses_fused_kernels(self) -> bool:
        return self.config.solver in (None, "fused")

    def parameter_arrays(self) -> dict[str, np.ndarray]:
        """The parameters' arrays by name (live, not copies)."""
        return {name: parameter.data for name, parameter in self.parameters.items()}

    def _keeps_best(self) -> bool:
        return self.config.early_stopping and self._best is not None and self._best.epoch is not None

    def _kept_last_epoch(self) -> bool:
        return self.kept_epoch == len(self.history["epochs"])

    def state_dict(self) -> dict[str, Any]:
        """What this run needs, besides its kept weights, config and history, to go on exactly.

        ``"optimizer"`` (its name) and ``"optimizer_state"`` (its ``state_dict()``, in ``torch.optim``'s
        layout); ``"rng"``, the batch order generator's ``bit_generator.state``; ``"best"``, the best
        validation epoch so far (``{"epoch", "accuracy", "epochs_without_gain"}``) or None; and
        ``"weights"``, ``{"W", "b"}`` to train on from when they are not the kept ones (early stopping
        kept an earlier epoch's), else None. Arrays are copies. The schedule's epoch and the divergence
        guard's limit are not in it: the history gives both.
        """
        if self._kept_last_epoch():
            weights = None
        else:
            weights = {name: array.copy() for name, array in (self._resume_weights or self.parameter_arrays()).items()}
        return {"optimizer": self.config.optimizer, "optimizer_state": self.optimizer.state_dict(),
                "rng": self.rng.bit_generator.state,
                "best": None if self._best is None or self._best.epoch is None else self._best.state_dict(),
                "weights": weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on with the run that :meth:`state_dict` described; this trainer's ``W`` and ``b`` must be
        that run's kept weights (as a model file holds them).

        The optimizer takes the saved buffers when it is the same optimizer, and keeps its own settings
        (the config's, which ``set_params`` may have changed; the learning rate is the schedule's); the
        buffers of another optimizer do not apply, and its own start at 0.
        """
        if state["optimizer"] == self.config.optimizer:
            own = self.optimizer.state_dict()
            self.optimizer.load_state_dict({"state": state["optimizer_state"]["state"],
                                            "param_groups": own["param_groups"]})
        self.rng.bit_generator.state = state["rng"]
        self._best = None
        best = state["best"]
        # The tracker's weights become this trainer's W and b: with early stopping they must be its epoch's
        # (else, as when the run did without early stopping, fit measures them as the first candidate).
        if best is not None and (not self.config.early_stopping or best["epoch"] == self.history.get("kept_epoch")):
            self._best = _BestWeights(self.parameter_arrays())
            self._best.load_state_dict(best)
        weights = state["weights"]
        self._resume_weights = None if weights is None else \
            {name: _same_as(weights.get(name), own, name) for name, own in self.parameter_arrays().items()}

    def _train_epochs(self, X: np.ndarray | BlockStream, y: np.ndarray | None, rows: ShuffledRows | None,
                      X_val: np.ndarray | None,
                      y_val: np.ndarray | None, steps_left: int, best: "_BestWeights | None", threads: BlasThreads,
                      on_epoch_end: EpochCallback | None) -> None:
        """Epoch after epoch until ``steps_left`` steps are done, early stopping or the callback says stop."""
        config = self.config
        per_epoch = self._steps_per_epoch(X)
        until_converged = config.epochs is None and config.iterations is None
        while steps_left > 0:
            X_epoch, y_epoch, order = (X, y, None) if rows is None else rows.for_epoch()
            record = self._run_epoch(X_epoch, y_epoch, X_val, y_val, max_steps=steps_left, order=order)
            threads.revise()
            self.thread_choice = threads.choice
            steps_left -= per_epoch
            stop = best is not None and best.update(record, self.parameter_arrays(), config.patience)
            self.history["best_epoch"] = None if best is None else best.epoch
            self.history["kept_epoch"] = self.kept_epoch
            if until_converged and (self._converged() or steps_left <= 0):
                self.history["converged"] = steps_left > 0
            if on_epoch_end is not None and on_epoch_end(record):
                break
            if stop and config.early_stopping:
                self.history["stopped_early"] = True
                break
            if self.history["converged"]:
                break

    # -- one epoch -------------------------------------------------------------------------------------
    def run_epoch(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None = None,
                  y_val: np.ndarray | None = None, max_steps: int | None = None) -> dict:
        """One pass of ``ceil(N / batch_size)`` mini-batch steps (fewer if ``max_steps`` says so).

        Appends the per-iteration losses and the epoch's record to :attr:`history`, steps the
        learning-rate schedule, and returns the record. Gives the same epoch as one of :meth:`fit`'s.
        Its weights are those kept: an earlier epoch's best on validation no longer is.
        """
        if self.config.solver == "lbfgs":
            raise ValueError("solver='lbfgs' trains on the whole training set at once (fit), not an epoch at a "
                             "time: choose solver='fused' for partial_fit")
        self._best = self._resume_weights = None
        self.solver_used = self.config.solver or "fused"
        self._learn_rate_from(X)
        self._features = X
        threads = self._blas_threads(X)
        order = self._row_order(len(X)) if self.config.sampling == "shuffle" else None
        try:  # one epoch: the batches gather their rows through the order, no copy is worth making
            record = self._run_epoch(X, y, X_val, y_val, max_steps, order=order)
        finally:
            threads.release()
        self.history["kept_epoch"] = self.kept_epoch
        return record

    def _blas_threads(self, X: np.ndarray | BlockStream) -> BlasThreads:
        """The BLAS thread limit for steps on ``X``, applied now (see :mod:`linclass.threads`)."""
        flops = self._step_flops(min(self.config.batch_size, len(X)), X.shape[1])
        threads = BlasThreads(self.config.threads, flops)
        threads.apply()
        self.thread_choice = threads.choice
        return threads

    def _run_epoch(self, X: np.ndarray | BlockStream, y: np.ndarray | None, X_val: np.ndarray | None,
                   y_val: np.ndarray | None, max_steps: int | None, order: RowOrder = None) -> dict:
        """:meth:`run_epoch` on rows in the order :meth:`_row_order` gives: already so ordered when ``order``
        is None, else as ``order`` says (:meth:`ShuffledRows.for_epoch`)."""
        started = time.perf_counter()
        learning_rate = self.optimizer.lr
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is caught by the divergence guard
            losses_before = len(self.history["loss"])
            correct, seen = self._epoch_steps(X, y, max_steps, order)
        epoch_loss = float(np.mean(self.history["loss"][losses_before:]))
        record = self._append_epoch(epoch_loss, correct / seen, X_val, y_val, float(learning_rate), started)
        self.schedule.step()
        return record

    def _append_epoch(self, loss: float, train_accuracy: float, X_val: np.ndarray | None, y_val: np.ndarray | None,
                      learning_rate: float | None, started: float) -> dict:
        """The record of an epoch that began at ``started``, appended to the history (and shown when verbose)."""
        self.seconds += time.perf_counter() - started
        record = {"epoch": len(self.history["epochs"]) + 1,
                  "loss": loss,
                  "train_accuracy": train_accuracy,
                  "val_accuracy": None if X_val is None or y_val is None else
                  accuracy(self.predict_scores(X_val), y_val),
                  "learning_rate": learning_rate,
                  "seconds": self.seconds}
        self.history["epochs"].append(record)
        if self.config.verbose:
            print(_describe_epoch(record, self.config.epoch_budget), file=sys.stderr)
        return record

    def _epoch_steps(self, X: np.ndarray | BlockStream, y: np.ndarray | None, max_steps: int | None,
                     order: RowOrder) -> tuple[int, int]:
        """The mini-batch steps of one epoch, on rows in memory or on a stream's blocks; returns (correct
        predictions, examples seen)."""
        if not isinstance(X, np.ndarray):
            return self._stream_steps(X, max_steps)
        assert y is not None, "rows in memory come with their labels"
        step = self._fused_epoch if self._uses_fused_kernels() else self._autograd_epoch
        return step(X, y, self._batches(len(X), max_steps, order))

    # -- data larger than memory -------------------------------------------------------------------------
    def fit_stream(self, stream: BlockStream, X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
                   on_epoch_end: EpochCallback | None = None) -> dict:
        """:meth:`fit` on training data that comes a block at a time (:class:`BlockStream`): data larger than
        memory, read from disk (:mod:`linclass.distributed`).

        Every epoch reads the blocks in an order drawn from ``default_rng((seed, BLOCK_ORDER_STREAM,
        epoch))`` (:data:`BLOCK_ORDER_STREAM`; the stream also permutes the rows within each block), and
        each block is trained on as :meth:`fit` trains on rows in memory: its mini-batches (blocks hold
        whole batches) in a random order from the trainer's generator. So an epoch is still one pass over
        every example, the history has the same records, and the memory is the stream's block, not N.
        The validation set is in memory. Returns the history.
        """
        return self.fit(stream, None, X_val, y_val, on_epoch_end)

    def _stream_steps(self, stream: BlockStream, max_steps: int | None) -> tuple[int, int]:
        """One epoch's steps over the stream's blocks, each block's batches as :meth:`_batches` orders
        them; returns (correct predictions, examples seen)."""
        size = self.config.batch_size
        step = self._fused_epoch if self._uses_fused_kernels() else self._autograd_epoch
        order = np.random.default_rng((self.config.seed, BLOCK_ORDER_STREAM, len(self.history["epochs"]) + 1))
        correct = seen = 0
        for X, y in stream.blocks(order, multiple=size):
            if max_steps is not None and max_steps <= 0:
                break
            self._features = X
            block_correct, block_seen = step(X, y, self._batches(len(X), max_steps))
            correct, seen = correct + block_correct, seen + block_seen
            if max_steps is not None:
                max_steps -= math.ceil(len(X) / size)
        return correct, seen

    def _row_order(self, n: int) -> np.ndarray:
        """The one random order of the rows for ``sampling="shuffle"``, fixed by the seed
        (see :data:`ROW_ORDER_STREAM`)."""
        return np.random.default_rng((self.config.seed, ROW_ORDER_STREAM)).permutation(n)

    def _batches(self, n: int, max_steps: int | None,
                 order: RowOrder = None) -> Iterator[range | np.ndarray]:
        """The rows of one epoch's mini-batches.

        ``"shuffle"``: consecutive rows ``range(start, start + batch_size)`` of rows already in random
        order — or, given ``order``, the same rows as indices ``order[start:start + batch_size]``, or
        gathered into the shuffled copy as they are read — the batches in a new random order every
        epoch. ``"replacement"``: index arrays drawn with replacement.
        """
        size = self.config.batch_size
        count = math.ceil(n / size)
        if max_steps is not None:
            count = min(count, max_steps)
        if self.config.sampling == "replacement":
            return (self.rng.integers(0, n, size=min(size, n)) for _ in range(count))
        starts = self.rng.permutation(np.arange(0, n, size))[:count]
        if isinstance(order, ShuffledRows):  # the copy being written: each batch gathered into its place
            return (order.write(start, min(start + size, n)) for start in starts)
        if order is not None:
            return (order[start:start + size] for start in starts)
        return (range(start, min(start + size, n)) for start in starts)

    def _fused_epoch(self, X: np.ndarray, y: np.ndarray, batches: Iterator[range | np.ndarray]) -> tuple[int, int]:
        """The epoch's steps on NumPy kernels; returns (correct predictions, examples seen)."""
        correct = seen = 0
        for idx in batches:
            loss, right = self._fused_gradient(X, y, idx)
            correct += right
            seen += len(idx)
            loss += self._fused_penalty()
            self._record_loss(loss)
            self.optimizer.step()
        return correct, seen

    def _fused_gradient(self, X: np.ndarray, y: np.ndarray, idx: range | np.ndarray) -> tuple[float, int]:
        """The mean data loss of the batch ``idx`` and its gradient, written into ``W.grad`` and ``b.grad``
        (the penalty not yet added); returns (loss, correct predictions)."""
        kernel, options = losses.LOSSES[self.config.loss].kernel, self.config.loss_options
        W, b = self.W.data, self.b.data
        batch_scores, dW, db = self._fused_buffers(len(X))
        self.W.grad, self.b.grad = Tensor(dW), Tensor(db)  # the optimizer reads the gradients from here
        Xb, s, yb = _rows(X, idx), batch_scores[:len(idx)], _rows(y, idx)
        np.matmul(Xb, W.T, out=s)
        s += b
        correct = int(np.count_nonzero(s.argmax(axis=1) == yb))
        loss, dscores = kernel(s, yb, **options)
        np.matmul(dscores.T, Xb, out=dW)
        db[...] = sum_axes(dscores, (0,))
        return loss, correct

    def _fused_penalty(self) -> float:
        """Add the penalty's gradient into ``W.grad`` (and ``b.grad``) and return ``λ R``: 0 without one."""
        config = self.config
        if not config.regularized:
            return 0.0
        assert self.W.grad is not None and self.b.grad is not None, "the data gradient comes first"
        loss = self._add_penalty(self.W.data, self.W.grad.data)
        if config.regularize_bias:
            loss += self._add_penalty(self.b.data, self.b.grad.data)
        return loss

    def _add_penalty(self, theta: np.ndarray, grad: np.ndarray) -> float:
        """Add ``λ dR/dθ`` into ``grad`` and return ``λ R(θ)``: the regularization of one parameter."""
        config = self.config
        buffer = self._penalty_buffers.get(theta.shape)
        if buffer is None or buffer.dtype != theta.dtype:
            buffer = self._penalty_buffers[theta.shape] = np.empty_like(theta)
        value, dR = penalty_and_grad(config.penalty, theta, config.l1_ratio, out=buffer)
        dR *= config.reg
        grad += dR
        return config.reg * value

    def _fused_buffers(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The scores and gradient arrays every fused step writes into, allocated on first use.

        A batch holds at most the ``n`` examples there are, so a batch size larger than the data (10⁹)
        costs the data's size, not the batch size's.
        """
        rows = min(self.config.batch_size, n)
        if not self._buffers or len(self._buffers["scores"]) < rows:
            self._buffers = {"scores": np.empty((rows, len(self.b.data)), dtype=np.float32),
                             "dW": np.empty_like(self.W.data), "db": np.empty_like(self.b.data)}
        return self._buffers["scores"], self._buffers["dW"], self._buffers["db"]

    def _autograd_epoch(self, X: np.ndarray, y: np.ndarray, batches: Iterator[range | np.ndarray]) -> tuple[int, int]:
        """The epoch's steps on Tensors: the objective's graph, ``backward()``, optimizer step."""
        correct = seen = 0
        for idx in batches:
            yb = _rows(y, idx)
            s = self.forward(Tensor(_rows(X, idx)))
            total = self._objective(s, yb)
            self.optimizer.zero_grad()
            total.backward()
            loss = total.item() + self._penalty_by_kernel()
            correct += int(np.count_nonzero(s.data.argmax(axis=1) == yb))
            seen += len(idx)
            self._record_loss(loss)
            self.optimizer.step()
        return correct, seen

    def _objective(self, scores: Tensor, y: np.ndarray) -> Tensor:
        """The lecture's loss composed of engine ops plus ``λ R``, as one graph: every gradient by backprop."""
        config = self.config
        total = losses.LOSSES[config.loss].composed(scores, y, **config.loss_options)
        if config.regularized:
            for theta in self._penalized():
                total = total + config.reg * penalty(config.penalty, theta, config.l1_ratio)
        return total

    def _penalty_by_kernel(self) -> float:
        """``λ R`` added after ``backward()`` by the penalty's kernel, when it is not in the graph: 0 here."""
        return 0.0

    def _record_loss(self, loss: float) -> None:
        """Append an iteration's loss; raise DivergenceError if it is NaN, infinite or exploding."""
        history = self.history["loss"]
        if not history:
            self._loss_limit = EXPLOSION_FACTOR * max(loss, 1.0)
        history.append(float(loss))
        if not loss <= self._loss_limit:  # also true for NaN
            epoch = len(self.history["epochs"]) + 1
            lr = self.learning_rate
            raise DivergenceError(f"training diverged at epoch {epoch} (loss={loss:.4g}) with lr={lr:g}: "
                                  f"try a smaller learning rate such as lr={self._safer_lr():g}")

    def _safer_lr(self) -> float:
        """A learning rate likely to work where ``config.lr`` diverged: a power of ten at most a tenth of it.

        A gradient step moves the scores of an example ``x`` by about ``lr·‖x‖²`` per unit of gradient, and
        momentum ``μ`` multiplies the step by ``1 / (1 - μ)``; so for SGD and momentum the rate is also held
        below ``(1 - μ) / mean ‖x‖²`` of the training features. Adam's steps have the size of the rate
        itself, whatever the gradient: a hundredth of it, and at most its usual 0.001.
        """
        config, lr = self.config, self.optimizer.lr
        if OPTIMIZERS[config.optimizer].adaptive:
            bound = min(lr / 100, 1e-3)
        else:
            sample = self._features[:1000].astype(np.float64)
            mean_square = float(np.mean(np.einsum("ij,ij->i", sample, sample))) if sample.size else 0.0
            momentum = config.momentum if OPTIMIZERS[config.optimizer].uses_momentum else 0.0
            bound = min(lr / 10, (1 - momentum) / mean_square if mean_square > 0 else math.inf)
        return 10.0 ** math.floor(math.log10(bound))


def _same_as(saved: Any, own: np.ndarray, name: str) -> np.ndarray:
    """A copy of the saved array ``saved`` in ``own``'s dtype; ValueError when its shape is not ``own``'s."""
    saved = np.array(saved, dtype=own.dtype)
    if saved.shape != own.shape:
        raise ValueError(f"the state's weights {name} have shape {saved.shape}, this trainer's {own.shape}")
    return saved


def _rows(array: np.ndarray, batch: range | np.ndarray) -> np.ndarray:
    """One batch's rows: a view for a ``range`` of consecutive rows, a gathered copy for an index array."""
    return array[batch.start:batch.stop] if isinstance(batch, range) else array[batch]


class _BestWeights:
    """The weights of the epoch with the best validation accuracy so far, for early stopping."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = {name: array.copy() for name, array in arrays.items()}
        self.accuracy = -math.inf
        self.epoch: int | None = None
        self.epochs_without_gain = 0

    def update(self, record: dict, arrays: dict[str, np.ndarray], patience: int) -> bool:
        """Keep ``arrays`` if this epoch beat the best; True once ``patience`` epochs brought no gain."""
        if record["val_accuracy"] > self.accuracy:
            self.accuracy, self.epoch = record["val_accuracy"], record["epoch"]
            _copy_arrays(arrays, self.arrays)
            self.epochs_without_gain = 0
        else:
            self.epochs_without_gain += 1
        return self.epochs_without_gain >= patience

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        _copy_arrays(self.arrays, arrays)

    def state_dict(self) -> dict[str, Any]:
        """The tracker's numbers (its weights are the kept ones, saved as the model's)."""
        return {"epoch": self.epoch, "accuracy": self.accuracy, "epochs_without_gain": self.epochs_without_gain}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.accuracy = int(state["epoch"]), float(state["accuracy"])
        self.epochs_without_gain = int(state["epochs_without_gain"])


def _copy_arrays(source: dict[str, np.ndarray], target: dict[str, np.ndarray]) -> None:
    """Copy each array of ``source`` into the array of the same name in ``target``."""
    for name, array in target.items():
        np.copyto(array, source[name])


def train(X: np.ndarray, y: np.ndarray, config: TrainConfig | None = None, X_val: np.ndarray | None = None,
          y_val: np.ndarray | None = None, n_classes: int | None = None,
          on_epoch_end: EpochCallback | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Train a linear classifier on arrays: the loop without the estimator around it.

    Parameters
    ----------
    X : ndarray (N, D)
        Features (converted to float32 once).
    y : int ndarray (N,)
        Class indices in ``0..K-1``.
    config : TrainConfig, optional
        The settings; the defaults of :class:`TrainConfig` when None.
    X_val, y_val : optional
        A validation set.
    n_classes : int, optional
        K; ``max(y) + 1`` when None.
    on_epoch_end : callable, optional
        Called with each epoch's record; returning True stops training.

    Returns
    -------
    W : ndarray (K, D) float32
    b : ndarray (K,) float32
    history : dict
    """
    config = TrainConfig() if config is None else config
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = np.asarray(y)
    if X_val is not None:
        X_val = np.ascontiguousarray(X_val, dtype=np.float32)
    rng = np.random.default_rng(config.seed)
    W, b = init_weights(int(y.max()) + 1 if n_classes is None else n_classes, X.shape[1], rng)
    trainer = Trainer(W, b, config, rng)
    history = trainer.fit(X, y, X_val, y_val, on_epoch_end)
    return W, b, history


def _describe_epoch(record: dict, epochs: int) -> str:
    val = "" if record["val_accuracy"] is None else f", val accuracy {record['val_accuracy']:.2%}"
    lr = "" if record["learning_rate"] is None else f", lr {record['learning_rate']:g}"
    return (f"epoch {record['epoch']}/{epochs}: loss {record['loss']:.4f}, train accuracy "
            f"{record['train_accuracy']:.2%}{val}{lr}, {record['seconds']:.1f} s")
