"""Data-parallel training on a Dask cluster: the data stays on the workers, only the model travels.

``LinearClassifier().fit(X, y)`` on dask arrays ``X`` (N×D) and ``y`` (N,), chunked along rows, trains on
the workers of the current ``distributed.Client``::

    client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
    X, y = ...                       # dask arrays built on the workers (from delayed loaders, map_blocks)
    clf = lc.LinearClassifier(averaging="parameters", sync_every=100).fit(X, y, X_val, y_val)

How it goes:

1. Each chunk becomes, on a worker, the float32 rows and class indices training reads, in a random order
   of its own (seeded); chunk j is placed on the j-th worker (modulo their number) and stays there as a
   future. The client holds only the futures' keys: no data passes through it.
2. Each epoch, every worker's batches (``batch_size`` consecutive rows of one of its chunks) are put in a
   random order drawn from the trainer's generator. A *round* gives every worker its next ``sync_every``
   = K batches, as one task sent to the worker holding them with the chunk futures as arguments; the
   client combines what comes back:

   ``averaging="gradients"``
       Each worker sums the gradients of its K batches at the round's weights (the fused kernels,
       :meth:`linclass.train.Trainer._fused_gradient`); the client averages them over all the rows, adds
       the penalty's gradient once and takes one optimizer step. The optimizer and its state live on the
       client alone, exactly as in one process: K = 1 is one step on a batch of workers × ``batch_size``
       rows, K > 1 one step on K times as many (a larger batch, K times fewer messages).
   ``averaging="parameters"``
       Each worker takes K optimizer steps of its own, starting from the round's weights *and* optimizer
       state (local SGD; K = an epoch's batches is iterative parameter mixing); the client averages the
       weights and the optimizer's buffers (momentum, Adam's moments), weighted by the rows each worker
       trained on, and the next round starts every worker from both averages. Averaging the state rather
       than restarting it keeps the momentum through the rounds: for SGD and momentum, K = 1 gives the
       weights of ``"gradients"`` with K = 1, the update being linear in the gradient. Adam's step count,
       a whole number, is the largest of the workers'.

   An iteration, an entry of ``history_["loss"]``, is one synchronized step with ``"gradients"`` and one
   local step (its loss averaged over the workers by rows) with ``"parameters"``.
3. Around the rounds, the client runs an ordinary :class:`linclass.train.Trainer`: the history, the
   learning-rate schedule, validation on the client's ``X_val``, early stopping, ``on_epoch_end``
   (checkpoints) and ``state_dict`` work as in one process.

Faults: a task is a pure function of its chunks, the weights and the optimizer's state, and asks for its
worker without insisting, so when a worker dies Dask recomputes the lost chunks elsewhere from their graph
and reruns the round's lost tasks; the client reads where the chunks are again every epoch. When Dask gives
up (``KilledWorker``, the scheduler gone), the error reaches the caller and the last ``on_epoch_end``
checkpoint remains (``linclass train --resume`` continues it).

The seed and which chunks share a worker fix the batches, so a fit on a cluster of the same shape gives
the same weights to float rounding (the workers' sums arrive in any order). ``docs/scaling.md`` measures
what each choice costs. Nothing here imports dask until a fit on dask arrays asks for it.
"""

from __future__ import annotations

import functools
import math
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from linclass.constraints import Integer, OneOf, declare, declared
from linclass.errors import LinclassError, MissingExtraError
from linclass.inplace import bump_version
from linclass.tensor import Tensor
from linclass.step_size import SAMPLE_ROWS
from linclass.train import ROW_ORDER_STREAM, RowOrder, TrainConfig, Trainer

__all__ = ["ClusterSettings", "CLUSTER_PARAMETERS", "AVERAGINGS", "ClusterError", "ClusterData", "ClusterTrainer",
           "is_dask_array", "fit_on_cluster", "current_client", "parse_cluster", "connected", "failures"]

AVERAGINGS = ("gradients", "parameters")


@dataclass(frozen=True)
class ClusterSettings:
    """How the workers of a Dask cluster train together (the module docstring tells how); a fit on NumPy
    arrays ignores them."""

    sync_every: int = declare(1, Integer(1),
                              "on a Dask cluster, the steps each worker takes between two synchronizations (K); "
                              "K=1 with averaging=gradients is one step on one large batch", metavar="K",
                              group="cluster")
    averaging: str = declare("gradients", OneOf(AVERAGINGS),
                             "on a Dask cluster, what the workers average every K steps: gradients (one optimizer "
                             "on the client, each step on the batches of all workers) or parameters (local SGD: "
                             "each worker steps on its own, then weights and optimizer state are averaged)",
                             group="cluster")


CLUSTER_PARAMETERS = declared(ClusterSettings)
"""The declarations of :class:`ClusterSettings` by name, parameters of :class:`linclass.LinearClassifier`."""


class ClusterError(LinclassError, RuntimeError):
    """No cluster to train on, or one that cannot be reached."""


def is_dask_array(value: Any) -> bool:
    """Whether ``value`` is a dask array (without importing dask: none exists before dask is imported)."""
    array_module = sys.modules.get("dask.array")
    return array_module is not None and isinstance(value, array_module.Array)


def _dask() -> tuple[Any, Any]:
    """``dask.array`` and ``distributed``, or a one-line error naming the extra that brings them."""
    try:
        import dask.array as da
        import distributed
    except ImportError as error:
        raise MissingExtraError(f"training on a Dask cluster needs dask and distributed ({error}): "
                                "pip install 'linclass[dask]'") from None
    return da, distributed


def current_client() -> Any:
    """The ``distributed.Client`` of this thread or process, which a fit on dask arrays trains with."""
    _, distributed = _dask()
    try:
        return distributed.get_client()
    except ValueError:
        raise ClusterError("fit on dask arrays trains on the cluster of the current distributed.Client, and there "
                           "is none: make one first, e.g. Client(LocalCluster(n_workers=2))") from None


# -- where the cluster is (the command line's --cluster) -------------------------------------------------

def worker_addresses(client: Any) -> list[str]:
    """The addresses of the cluster's workers, sorted, asked of the scheduler now.

    Not ``client.scheduler_info()["workers"]``: the client refreshes that cache in the background with
    no workers in it, and a refresh that lands between the call's own fetch and its answer gives an
    empty list (distributed 2026.8).
    """
    return sorted(client.nthreads())


def parse_cluster(text: str) -> str:
    """``local:N`` (a new cluster of N worker processes) or a scheduler's address (``tcp://host:8786``),
    checked; ValueError saying what was expected."""
    text = text.strip()
    kind, _, rest = text.partition(":")
    if kind == "local" and rest.isdigit() and int(rest) >= 1:
        return text
    if "://" in text and rest.strip("/"):
        return text
    raise ValueError(f"{text!r} is not a cluster: expected local:N (N worker processes on this machine, e.g. "
                     "local:2) or a scheduler's address, e.g. tcp://host:8786")


@contextmanager
def connected(spec: str) -> Iterator[Any]:
    """A ``distributed.Client`` for ``spec`` (:func:`parse_cluster`), closed at the end: a new ``LocalCluster``
    of N processes with one thread each, or the running scheduler at the address."""
    import logging

    _, distributed = _dask()
    kind, _, count = spec.partition(":")
    if kind == "local":
        with distributed.LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(spec, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"--cluster {spec}: no scheduler answered ({error}); start one there with "
                           "`dask scheduler` and workers with `dask worker ADDRESS`") from None
    with client:
        yield client


# -- what the workers run: pure functions of their chunks and the model -----------------------------------

@functools.lru_cache(maxsize=1)
def _one_blas_thread() -> None:
    """Limit this worker process's BLAS to one thread, once: the workers are the parallelism, and a worker's
    threads fighting another's for the cores slows every product (see :mod:`linclass.threads`)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def _training_chunk(X: Any, y: Any, classes: np.ndarray, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """On a worker: chunk ``index`` as training reads it, float32 rows and class indices, in a random order of
    their own (the one-process trainer shuffles all the rows once; here each chunk's are)."""
    from linclass.estimator import _check_finite

    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y).ravel()
    _check_finite(X, f"X (chunk {index})")
    order = np.random.default_rng((seed, ROW_ORDER_STREAM, index)).permutation(len(X))
    return np.ascontiguousarray(X[order]), np.searchsorted(classes, y[order])


Batch = tuple[int, int, int]
"""``(chunk, start, stop)``: rows ``start:stop`` of a chunk."""
Chunks = dict[int, tuple[np.ndarray, np.ndarray]]
"""The chunks a task reads, by index (Dask puts each future's value in its place)."""


def _first_rows(chunk: tuple[np.ndarray, np.ndarray], rows: int) -> np.ndarray:
    """On a worker: the first ``rows`` training rows of a chunk."""
    return chunk[0][:rows].copy()


class GradientSums(NamedTuple):
    """What a worker's K batches add up to at one set of weights: row-weighted sums of the mean data losses
    and their gradients."""

    loss: float
    dW: np.ndarray
    db: np.ndarray
    rows: int
    correct: int


def _gradient_sums(chunks: Chunks, batches: list[Batch], W: np.ndarray, b: np.ndarray,
                   config: TrainConfig) -> GradientSums:
    """On a worker: the data loss and gradient of each batch at ``W, b``, each weighted by its rows, summed."""
    _one_blas_thread()
    trainer = Trainer(W, b, config)
    loss, dW, db, rows, correct = 0.0, np.zeros_like(W), np.zeros_like(b), 0, 0
    with np.errstate(over="ignore", invalid="ignore"):  # the client's divergence guard sees the loss
        for index, start, stop in batches:
            X, y = chunks[index]
            batch_loss, right = trainer._fused_gradient(X, y, range(start, stop))
            n = stop - start
            assert trainer.W.grad is not None and trainer.b.grad is not None, "the step wrote the gradients"
            loss += n * batch_loss
            dW += n * trainer.W.grad.data
            db += n * trainer.b.grad.data
            rows += n
            correct += right
    return GradientSums(loss, dW, db, rows, correct)


class LocalSteps(NamedTuple):
    """What a worker's K optimizer steps of its own end with."""

    W: np.ndarray
    b: np.ndarray
    optimizer_state: dict[str, Any]
    losses: list[float]  # of each step
    rows: list[int]  # of each step
    correct: int


def _local_steps(chunks: Chunks, batches: list[Batch], W: np.ndarray, b: np.ndarray,
                 optimizer_state: dict[str, Any], config: TrainConfig) -> LocalSteps:
    """On a worker: one optimizer step per batch, from ``W, b`` and the optimizer's state (its ``lr`` too)."""
    _one_blas_thread()
    trainer = Trainer(W.copy(order="K"), b.copy(), config)  # the arguments may be shared with other tasks
    trainer.optimizer.load_state_dict(optimizer_state)
    trainer._features = chunks[batches[0][0]][0]  # a diverging step's advice reads these rows
    correct = 0
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is caught by the divergence guard
        for index, start, stop in batches:
            X, y = chunks[index]
            correct += trainer._fused_epoch(X, y, iter([range(start, stop)]))[0]
    return LocalSteps(trainer.W.data, trainer.b.data, trainer.optimizer.state_dict(), trainer.history["loss"],
                      [stop - start for _, start, stop in batches], correct)


# -- the data on the workers ------------------------------------------------------------------------------

class ClusterData:
    """Training rows held by a cluster's workers: one future per chunk, each holding (float32 rows, class
    indices). ``len()`` and ``shape`` are those of the whole set, as for an array.

    Made by :meth:`on_workers`; :meth:`placement` says which worker holds which chunks now.
    """

    def __init__(self, client: Any, futures: list[Any], rows: list[int], n_features: int) -> None:
        self.client, self.futures, self.rows = client, futures, rows
        self.shape = (sum(rows), n_features)

    def __len__(self) -> int:
        return self.shape[0]

    @classmethod
    def on_workers(cls, client: Any, X: Any, y: Any, classes: np.ndarray, seed: int) -> ClusterData:
        """The chunks of dask arrays ``X`` (rows chunked, columns whole) and ``y`` (chunked as ``X``'s rows)
        made ready on the workers (:func:`_training_chunk`), chunk j asked of the j-th worker; a chunk's
        error (a NaN in X) is raised here."""
        from dask import delayed

        workers = worker_addresses(client)
        if not workers:
            raise ClusterError(f"the cluster at {client.scheduler.address} has no workers to train on; start some")
        futures = []
        for index, (X_block, y_block) in enumerate(zip(X.to_delayed().ravel(), y.to_delayed().ravel(), strict=True)):
            chunk = delayed(_training_chunk, pure=True)(X_block, y_block, classes, seed, index)
            futures.append(client.compute(chunk, workers=[workers[index % len(workers)]], allow_other_workers=True))
        for future in futures:
            if future.exception() is not None:
                future.result()  # raises the chunk's error
        return cls(client, futures, [int(n) for n in X.chunks[0]], int(X.shape[1]))

    def placement(self) -> list[tuple[str | None, list[int]]]:
        """The chunks each worker holds now, the workers in the order of their first chunk; None for chunks
        not held anywhere at the moment (being computed again after a worker died)."""
        holders = self.client.who_has(self.futures)
        held: dict[str | None, list[int]] = {}
        for index, future in enumerate(self.futures):
            where = holders.get(future.key) or ()
            held.setdefault(sorted(where)[0] if where else None, []).append(index)
        return sorted(held.items(), key=lambda item: item[1][0])

    def sample_rows(self, rows: int = SAMPLE_ROWS) -> np.ndarray:
        """At most ``rows`` of the first chunk's rows, fetched from its worker: what the default step size
        (:mod:`linclass.step_size`) is measured on."""
        return self.client.submit(_first_rows, self.futures[0], rows).result()

    def release(self) -> None:
        """Let the workers forget the chunks."""
        self.client.cancel(self.futures)
        self.futures = []


Round = list[tuple[str | None, list[Batch]]]
"""One synchronization: each worker (or None: wherever the chunks are) and the batches it trains on."""


class ClusterTrainer(Trainer):
    """A :class:`linclass.train.Trainer` whose epochs run on the workers holding a :class:`ClusterData`,
    in rounds of ``settings.sync_every`` steps (the module docstring tells how); ``fit(data, data, X_val,
    y_val)`` trains. Everything around the rounds is the trainer's own."""

    def __init__(self, W: np.ndarray, b: np.ndarray, config: TrainConfig, settings: ClusterSettings,
                 data: ClusterData, rng: np.random.Generator | None = None, history: dict | None = None) -> None:
        super().__init__(W, b, config, rng, history)
        self.settings, self.data = settings, data

    @classmethod
    def going_on_from(cls, trainer: Trainer, settings: ClusterSettings, data: ClusterData) -> ClusterTrainer:
        """A cluster's trainer on ``trainer``'s arrays and history, going on with its state."""
        cluster = cls(trainer.W.data, trainer.b.data, trainer.config, settings, data, history=trainer.history)
        cluster.load_state_dict(trainer.state_dict())
        return cluster

    def in_one_process(self) -> Trainer:
        """A one-process trainer on these arrays and history, going on with this one's state (``partial_fit``
        and warm starts on NumPy arrays continue from it)."""
        trainer = Trainer(self.W.data, self.b.data, self.config, history=self.history)
        trainer.load_state_dict(self.state_dict())
        trainer.thread_choice = self.thread_choice
        return trainer

    # -- the plan of an epoch ------------------------------------------------------------------------------
    def _worker_batches(self, chunks: list[int]) -> list[Batch]:
        """The batches of a worker's chunks, in chunk order."""
        size = self.config.batch_size
        return [(index, start, min(start + size, self.data.rows[index]))
                for index in chunks for start in range(0, self.data.rows[index], size)]

    def _epoch_steps(self, X: Any, y: Any, max_steps: int | None, order: RowOrder) -> tuple[int, int]:
        return self._fused_epoch(X, y, self._batches(len(X), max_steps, order))  # rounds on the workers

    def _learn_rate_from(self, X: Any) -> None:
        if self.learning_rate is None:
            super()._learn_rate_from(self.data.sample_rows())

    def _steps_per_epoch(self, X: Any) -> int:
        longest = max(len(self._worker_batches(chunks)) for _, chunks in self.data.placement())
        return longest if self.settings.averaging == "parameters" else math.ceil(longest / self.settings.sync_every)

    def _epoch_rows(self, X: Any, y: Any, copy: bool) -> None:
        return None  # each chunk's rows were put in random order on its worker

    def _uses_fused_kernels(self) -> bool:
        return True  # fit_on_cluster refuses solver="autograd"

    def _batches(self, n: int, max_steps: int | None, order: RowOrder = None) -> Iterator[Any]:
        """The epoch's rounds (:data:`Round`): every worker's batches in a new random order, K at a time;
        ``max_steps`` iterations at most when training for ``iterations`` (an epoch is otherwise whole, even
        when a worker's death has changed how many steps it takes)."""
        k = self.settings.sync_every
        plans = []
        for worker, chunks in self.data.placement():
            batches = self._worker_batches(chunks)
            plans.append((worker, [batches[i] for i in self.rng.permutation(len(batches))]))
        if self.config.iterations is not None and max_steps is not None and self.settings.averaging == "parameters":
            plans = [(worker, batches[:max_steps]) for worker, batches in plans]
        rounds = math.ceil(max(len(batches) for _, batches in plans) / k)
        if self.config.iterations is not None and max_steps is not None and self.settings.averaging == "gradients":
            rounds = min(rounds, max_steps)
        return iter([[(worker, batches[r * k:(r + 1) * k]) for worker, batches in plans if batches[r * k:(r + 1) * k]]
                     for r in range(rounds)])

    # -- an epoch, round by round ------------------------------------------------------------------------
    def _fused_epoch(self, X: Any, y: Any, batches: Iterator[Any]) -> tuple[int, int]:
        synchronize = self._average_gradients if self.settings.averaging == "gradients" else self._average_parameters
        correct = seen = 0
        for round_ in batches:
            right, rows = synchronize(round_)
            correct += right
            seen += rows
        return correct, seen

    def _run_round(self, round_: Round, task: Callable[..., Any], *arguments: Any) -> list[Any]:
        """``task(chunks, batches, *arguments)`` on each worker of the round, with the chunk futures it reads
        (so it runs where they are); the results, in the round's order."""
        client, futures = self.data.client, []
        for worker, batches in round_:
            chunks = {index: self.data.futures[index] for index in sorted({batch[0] for batch in batches})}
            where = None if worker is None else [worker]
            futures.append(client.submit(task, chunks, batches, *arguments, workers=where, allow_other_workers=True,
                                         pure=False))
        return client.gather(futures)

    def _average_gradients(self, round_: Round) -> tuple[int, int]:
        """One optimizer step on the client with the mean gradient of every worker's batches."""
        sums: list[GradientSums] = self._run_round(round_, _gradient_sums, self.W.data, self.b.data, self.config)
        rows = sum(part.rows for part in sums)
        self.W.grad = Tensor(_weighted_sum([part.dW for part in sums], [1 / rows] * len(sums), like=self.W.data))
        self.b.grad = Tensor(_weighted_sum([part.db for part in sums], [1 / rows] * len(sums), like=self.b.data))
        loss = sum(part.loss for part in sums) / rows + self._fused_penalty()
        self._record_loss(loss)
        self.optimizer.step()
        return sum(part.correct for part in sums), rows

    def _average_parameters(self, round_: Round) -> tuple[int, int]:
        """K local steps on every worker, then the weights and optimizer state averaged by rows trained."""
        ends: list[LocalSteps] = self._run_round(round_, _local_steps, self.W.data, self.b.data,
                                                 self.optimizer.state_dict(), self.config)
        rows = [sum(end.rows) for end in ends]
        shares = [n / sum(rows) for n in rows]
        for parameter, name in ((self.W, "W"), (self.b, "b")):
            np.copyto(parameter.data, _weighted_sum([getattr(end, name) for end in ends], shares, like=parameter.data))
            bump_version(parameter)
        self.optimizer.load_state_dict(_average_states([end.optimizer_state for end in ends], shares))
        for step in range(max(len(end.losses) for end in ends)):
            taking = [end for end in ends if step < len(end.losses)]
            step_rows = sum(end.rows[step] for end in taking)
            self._record_loss(sum(end.losses[step] * end.rows[step] for end in taking) / step_rows)
        return sum(end.correct for end in ends), sum(rows)


def _weighted_sum(arrays: list[np.ndarray], weights: list[float], like: np.ndarray) -> np.ndarray:
    """``Σ wᵢ aᵢ`` in float64, returned in ``like``'s dtype and memory layout."""
    total = np.zeros(like.shape, dtype=np.float64)
    for array, weight in zip(arrays, weights, strict=True):
        total += weight * np.asarray(array, dtype=np.float64)
    return np.array(total, dtype=like.dtype, order="F" if like.flags.f_contiguous and like.ndim > 1 else "C")


def _average_states(states: list[dict[str, Any]], shares: list[float]) -> dict[str, Any]:
    """The workers' optimizer states (``state_dict()``) averaged: each buffer weighted by ``shares``, and a
    count (Adam's step) the largest of theirs; the hyperparameters are the first's (all the same)."""
    averaged: dict[Any, dict[str, Any]] = {}
    for i, buffers in states[0]["state"].items():
        averaged[i] = {}
        for name, value in buffers.items():
            values = [state["state"][i][name] for state in states]
            if np.asarray(value).dtype.kind in "iu":
                averaged[i][name] = max(int(v) for v in values)
            else:
                averaged[i][name] = _weighted_sum(values, shares, like=np.asarray(value))
    return {"state": averaged, "param_groups": states[0]["param_groups"]}


# -- the estimator's fit on dask arrays --------------------------------------------------------------------

def fit_on_cluster(clf: Any, X: Any, y: Any, X_val: Any = None, y_val: Any = None) -> Any:
    """``clf.fit(X, y, X_val, y_val)`` for dask arrays (``y`` may be a NumPy array): train on the workers of
    the current client, then go on as :meth:`linclass.estimator.TrainedClassifier.fit` does. The validation
    set, if a dask array, is brought to the client (it is scored there after every epoch)."""
    if "sync_every" not in clf.PARAMETERS:
        raise TypeError(f"{type(clf).__name__} trains in one process: fit it on NumPy arrays (LinearClassifier "
                        "trains on dask arrays)")
    config = clf._config()
    settings = ClusterSettings(sync_every=clf.sync_every, averaging=clf.averaging)
    _check_supported(config, X_val is not None)
    client = current_client()
    X, y = _checked_arrays(X, y)
    warm = bool(clf.warm_start) and all(hasattr(clf, name) for name in clf.FITTED)
    labels = _labels_of(y)
    if warm:
        if X.shape[1] != clf.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(clf).__name__} was fitted on "
                             f"{clf.n_features_in_}")
        clf._label_indices(labels, "y")
    else:
        from linclass.estimator import _check_two_classes

        _check_two_classes(labels)
        clf.classes_, clf.n_features_in_ = labels, int(X.shape[1])
        clf.__dict__.pop("feature_names_in_", None)
    y_val_index = None
    if X_val is not None or y_val is not None:
        X_val, y_val_index = clf._validation_set(X_val, y_val)
    data = ClusterData.on_workers(client, X, y, clf.classes_, config.seed)

    def train(trainer: Trainer) -> None:
        cluster = ClusterTrainer.going_on_from(trainer, settings, data)
        clf._start(cluster)
        try:
            cluster.fit(data, data, X_val, y_val_index, clf._epoch_callback())  # type: ignore[arg-type]
        finally:
            clf._start(cluster.in_one_process())
            data.release()

    return clf._train(config, warm, X.shape[1], train)


def _check_supported(config: TrainConfig, has_validation: bool) -> None:
    """Refuse the settings a cluster's fit does not run (it would otherwise quietly ignore them)."""
    if config.solver not in (None, "fused"):
        raise ValueError(f"solver={config.solver!r} trains in one process; on dask arrays the workers step with the "
                         "fused kernels: use solver='fused'")
    if config.sampling != "shuffle":
        raise ValueError(f"sampling={config.sampling!r} trains in one process; on dask arrays every worker takes "
                         "shuffled passes over its own chunks: use sampling='shuffle'")
    if config.early_stopping and not has_validation:
        raise ValueError("early_stopping=True on dask arrays needs a validation set: pass X_val and y_val (fit "
                         "holds none out of data on a cluster)")


def _checked_arrays(X: Any, y: Any) -> tuple[Any, Any]:
    """``X`` (N, D) with its columns in one chunk, and ``y`` as a dask array chunked as ``X``'s rows."""
    da, _ = _dask()
    if X.ndim != 2:
        raise ValueError(f"X has shape {X.shape}; a classifier trains on a 2-D array (N examples, D features)")
    if any(math.isnan(n) for n in X.shape):
        raise ValueError("X has chunks of unknown size; call X.compute_chunk_sizes() before fit")
    y = y if is_dask_array(y) else da.from_array(np.asarray(y), chunks=(X.chunks[0],))
    y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} examples but y has shape {y.shape}; give one label per example")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    if y.chunks[0] != X.chunks[0]:
        y = y.rechunk((X.chunks[0],))
    return X, y


def _labels_of(y: Any) -> np.ndarray:
    """The distinct labels of a dask array, worked out on the workers."""
    from sklearn.utils.multiclass import check_classification_targets

    da, _ = _dask()
    labels = np.unique(da.unique(y).compute())
    check_classification_targets(labels)
    return labels


def failures() -> tuple[type[BaseException], ...]:
    """The errors with which Dask gives up on a fit: a task whose workers kept dying (``KilledWorker``), work
    cancelled, the scheduler or a connection gone."""
    _, distributed = _dask()
    return (distributed.KilledWorker, distributed.CancelledError, distributed.TimeoutError, OSError)
