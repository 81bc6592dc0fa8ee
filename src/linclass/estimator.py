"""``LinearClassifier``: the score function, a loss and a training loop behind scikit-learn's contract.

It behaves as every scikit-learn classifier does: hyperparameters go into the constructor and are kept
unchanged; ``fit`` learns attributes whose names end in ``_``; ``predict``, ``decision_function``,
``predict_proba`` (for the losses that give probabilities) and ``score`` mean what they mean everywhere.
So it drops into a ``Pipeline`` or a ``GridSearchCV``, and passes ``sklearn.utils.estimator_checks.check_estimator``.

>>> clf = LinearClassifier(reg=1e-3, lr=1e-2, epochs=10).fit(X_train, y_train, X_val, y_val)
>>> clf.score(X_val, y_val), clf.W_.shape          # accuracy, (K, D)
>>> clf.save("model.linclass"); clf = LinearClassifier.load("model.linclass")   # or linclass.load

A model file (:mod:`linclass.persist`) holds the classifier as :meth:`LinearClassifier._to_state` makes
it: the kept weights, classes, hyperparameters, history, preprocessing and metadata, and the state of
the training that made them, so that a loaded classifier with ``warm_start=True`` goes on with that
training exactly (the same weights, bit for bit, as a fit that was never interrupted).
"""

from __future__ import annotations

import inspect
import os
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np

from linclass import losses
from linclass.constraints import Boolean, Function, Hyperparameter, Real, declare, declared
from linclass.data.splits import split_indices
from linclass.distributed.cluster import CLUSTER_PARAMETERS, is_dask_array
from linclass.errors import DivergenceError, ModelFileError
from linclass.estimator_contract import (ClassifierContract, check_fitted, checked_array, checked_features,
                                         checked_training_data, convergence_warning, one_column, only_if)
from linclass.model import init_weights, predict_indices, scores, training_layout
from linclass.model_header import model_parameter_names
from linclass.persist import read_model_file, write_model_file
from linclass.train import HYPERPARAMETERS, TrainConfig, Trainer, new_history

if TYPE_CHECKING:
    from typing import Self

__all__ = ["TrainedClassifier", "LinearClassifier", "PARAMETERS", "load"]


@dataclass(frozen=True)
class FitSettings:
    """The estimator's own settings, beside those of a training run (:class:`linclass.train.TrainConfig`)."""

    validation_fraction: float = declare(0.1, Real(0, 1, low_open=True, high_open=True, example="0.1"),
                                         "the share of the training data held out for early stopping when fit is "
                                         "given no validation set (stratified)", flag=None)
    warm_start: bool = declare(False, Boolean(),
                               "when True and the classifier is already fitted (or loaded from a file), fit "
                               "continues from its weights and history, training until the history holds epochs "
                               "epochs in total; the labels must be among classes_", flag=None)
    on_epoch_end: Any = declare(None, Function("(clf, record)"),
                                "called after every epoch with the classifier (its W_, b_ and history_ are live) "
                                "and the epoch's record; returning True stops training. For progress bars and "
                                "checkpoints", flag=None)


PARAMETERS = {**HYPERPARAMETERS, **CLUSTER_PARAMETERS, **declared(FitSettings)}
"""Every parameter of :class:`LinearClassifier`, declared once: the training run's, those of training on a
Dask cluster (:mod:`linclass.distributed.cluster`), then the estimator's."""


def _has_probabilities(clf: "TrainedClassifier") -> bool:
    """``predict_proba`` exists for the losses whose model is ``softmax(scores)`` (an SVM's scores are not
    probabilities)."""
    loss = losses.LOSSES.get(clf.loss) if isinstance(clf.loss, str) else None
    if loss is None or not loss.probabilities:
        able = ", ".join(repr(name) for name, item in losses.LOSSES.items() if item.probabilities)
        raise AttributeError(f"predict_proba needs loss={able}; loss={clf.loss!r} gives scores, not "
                             "probabilities: use decision_function")
    return True


class TrainedClassifier(ClassifierContract, ABC):
    """What a classifier trained by :class:`linclass.train.Trainer` is behind scikit-learn's contract:
    fitting, warm starts, ``partial_fit``, prediction, and model files.

    A subclass declares its parameters (:attr:`PARAMETERS`) and the few facts of its model: the trainer of
    its parameters (:meth:`_new_trainer`), the fitted attributes that show them (:meth:`_expose`) and
    its scores (:meth:`_raw_scores`). :class:`LinearClassifier` and :class:`linclass.nn.MLPClassifier` are
    the two.
    """

    PARAMETERS: ClassVar[dict[str, Hyperparameter]] = {}
    """The subclass's parameters, declared once (default, rule, help)."""
    FITTED: ClassVar[tuple[str, ...]] = ()
    """The fitted attributes that show the model's parameters."""

    feature_names_in_: np.ndarray  # set by fitting on a data frame, or by loading a model fitted on one
    preprocessor_: Any             # set by loading a model file: the preprocessing it was saved with
    metadata_: dict                # and the facts saved with it

    if TYPE_CHECKING:  # each parameter is an attribute, set by __init__ from its declaration in PARAMETERS
        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, loss: str = losses.DEFAULT_LOSS, **parameters: Any) -> None:
        unknown = sorted(set(parameters) - set(self.PARAMETERS))
        if unknown:
            raise TypeError(f"{type(self).__name__} got an unexpected keyword argument {unknown[0]!r}; its "
                            f"parameters are {', '.join(self.PARAMETERS)}")
        self.loss = loss
        for name, declaration in self.PARAMETERS.items():
            if name != "loss":
                setattr(self, name, parameters.get(name, declaration.default))

    # -- training ------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, X_val: Any = None, y_val: Any = None) -> Self:
        """Learn the model's parameters from training examples, starting from small random weights.

        Parameters
        ----------
        X : array-like (N, D), or a stream of blocks
            Training features (converted to float32 once). Or, for data larger than memory, a source that
            reads them from disk a block at a time (:class:`linclass.distributed.Shards`,
            :class:`linclass.distributed.NpyArrays`): then ``y`` is None (the labels come with the blocks),
            ``classes_`` are the class indices ``0..K-1`` (the source's ``classes`` name them), and memory
            holds one block, not N examples (see :meth:`linclass.train.Trainer.fit_stream`).
        y : array-like (N,)
            Their labels.
        X_val, y_val : array-like, optional
            A validation set: its accuracy is recorded after every epoch, and early stopping uses it.

        Dask arrays ``X`` and ``y`` (chunked along rows) train data-parallel on the workers of the current
        ``distributed.Client``, the data staying there (:mod:`linclass.distributed.cluster`; ``sync_every``
        and ``averaging`` say how the workers combine their work).

        Returns
        -------
        self
        """
        if is_dask_array(X):
            from linclass.distributed.cluster import fit_on_cluster

            return fit_on_cluster(self, X, y, X_val, y_val)
        config = self._config()
        warm = bool(self.warm_start) and all(hasattr(self, name) for name in self.FITTED)
        if _is_stream(X):
            return self._fit_stream(config, warm, X, y, X_val, y_val)
        X, y = self._training_data(X, y, reset=not warm)
        if warm:
            y_index = self._label_indices(y, "y")
        else:
            classes, y_index = np.unique(y, return_inverse=True)
            _check_two_classes(classes)
            self.classes_ = classes
        if X_val is not None or y_val is not None:
            X_val, y_val_index = self._validation_set(X_val, y_val)
        elif self.early_stopping:
            X, y_index, X_val, y_val_index = self._hold_out(X, y_index)
        else:
            y_val_index = None
        return self._train(config, warm, X.shape[1],
                           lambda trainer: trainer.fit(X, y_index, X_val, y_val_index, self._epoch_callback()))

    def _fit_stream(self, config: TrainConfig, warm: bool, stream: Any, y: Any, X_val: Any, y_val: Any) -> Self:
        """:meth:`fit` on a stream of blocks (data larger than memory): its classes, then training."""
        if y is not None:
            raise ValueError(f"y was given with a stream of blocks ({type(stream).__name__}); its labels come with "
                             "its blocks: call fit(stream) or fit(stream, X_val=..., y_val=...)")
        labels = np.asarray(stream.labels)
        if warm and not np.array_equal(labels, self.classes_):
            raise ValueError(f"the stream's classes {labels.tolist()} differ from the classes "
                             f"{self.classes_.tolist()} this model was trained on")
        if not warm:
            _check_two_classes(labels)
            self.classes_ = labels
            self.n_features_in_ = int(stream.shape[1])
            self.__dict__.pop("feature_names_in_", None)
        elif stream.shape[1] != self.n_features_in_:
            raise ValueError(f"the stream has {stream.shape[1]} features, but this model was trained on "
                             f"{self.n_features_in_}")
        if X_val is not None or y_val is not None:
            X_val, y_val_index = self._validation_set(X_val, y_val)
        elif self.early_stopping:
            raise ValueError("early_stopping=True with a stream of blocks needs a validation set in memory: pass "
                             "X_val and y_val (e.g. the shards' validation split: stream.for_split('validation'))")
        else:
            y_val_index = None
        return self._train(config, warm, int(stream.shape[1]),
                           lambda trainer: trainer.fit(stream, None, X_val, y_val_index, self._epoch_callback()))

    def _train(self, config: TrainConfig, warm: bool, n_features: int, fit: Callable[[Trainer], Any]) -> Self:
        """Start a trainer (going on from the fitted model when ``warm``) and let ``fit`` train it; a fit
        that diverges leaves the classifier unfitted."""
        if warm:
            self._continue_with(config)
        else:
            self._start_fresh(n_features, config)
        try:
            fit(self._trainer)
        except DivergenceError:
            self._forget_fit()
            raise
        self.n_iter_ = len(self.history_["epochs"])
        self.threads_ = self._trainer.thread_choice
        self.solver_ = self._trainer.solver_used
        if self.history_.get("converged") is False:
            warnings.warn(f"{type(self).__name__} did not converge in max_epochs={self.max_epochs} epochs (tol="
                          f"{self.tol:g}): raise max_epochs or tol, or set epochs", convergence_warning(), stacklevel=2)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> Self:
        """Train one more epoch on ``X, y``, continuing from the current weights (online learning).

        Parameters
        ----------
        X : array-like (N, D)
        y : array-like (N,)
        classes : array-like, optional
            Every label the model will ever see; required on the first call (a later batch may lack
            some classes), and must then be the same as ``classes_``.
        """
        config = self._config()
        first_call = not hasattr(self, "classes_")
        X, y = self._training_data(X, y, reset=first_call)
        if first_call:
            if classes is None:
                raise ValueError("classes=None on the first call to partial_fit: pass every label the model "
                                 "will see, e.g. classes=np.unique(y_all)")
            classes = np.unique(one_column(classes))
            _check_two_classes(classes)
            self.classes_ = classes
        elif classes is not None and not np.array_equal(np.unique(one_column(classes)), self.classes_):
            raise ValueError(f"classes={np.asarray(classes).tolist()} differs from the classes "
                             f"{self.classes_.tolist()} of the first "
                             "call to partial_fit; they cannot change")
        y_index = self._label_indices(y, "y")
        if first_call:
            self._start_fresh(X.shape[1], config)
        elif getattr(self, "_trainer", None) is None or self._trainer.config != config:
            self._continue_with(config)
        try:
            record = self._trainer.run_epoch(X, y_index)
        except DivergenceError:
            self._forget_fit()
            raise
        self.threads_ = self._trainer.thread_choice
        if self.on_epoch_end is not None:
            self.on_epoch_end(self, record)
        self.n_iter_ = len(self.history_["epochs"])
        return self

    # -- prediction ------------------------------------------------------------------------------------
    def decision_function(self, X: Any) -> np.ndarray:
        """The class scores of each example (``W x + b`` for a linear classifier).

        Returns
        -------
        ndarray (N, K); for two classes, as scikit-learn's binary classifiers, the (N,) margin
        ``s_1 - s_0`` (positive means ``classes_[1]``).
        """
        class_scores = self._scores(X)
        if len(self.classes_) == 2:
            return class_scores[:, 1] - class_scores[:, 0]
        return class_scores

    def _html_extra(self) -> str:
        """Below scikit-learn's estimator diagram, once fitted: the templates and the learning curves."""
        from linclass.report.notebook import figures_html

        return figures_html(self)

    def class_scores(self, X: Any) -> np.ndarray:
        """The score of every class, (N, K), whatever K is (``decision_function`` gives two classes' margin)."""
        return self._scores(X)

    def predict(self, X: Any) -> np.ndarray:
        """The label of the highest-scoring class of each example."""
        indices = predict_indices(self._scores(X))
        return self.classes_[indices]

    @only_if(_has_probabilities)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, the softmax of the scores, (N, K) with rows summing to 1 (only for a
        loss whose record says it gives probabilities)."""
        class_scores = self._scores(X)
        class_scores -= class_scores.max(axis=1, keepdims=True)
        np.exp(class_scores, out=class_scores)
        class_scores /= class_scores.sum(axis=1, keepdims=True)
        return class_scores

    # -- model files -------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, preprocessor: Any = None, metadata: dict | None = None) -> Path:
        """Save the fitted model to ``path``, atomically, in linclass's own versioned format (never pickle):
        the kept weights, classes, hyperparameters, history, preprocessing, metadata and the state that
        continues its training (see :meth:`_to_state`).

        Called from ``on_epoch_end``, it saves what ``fit`` would keep if it stopped now: with early
        stopping the best epoch's weights so far. ``preprocessor`` (a
        :class:`linclass.datasets.Preprocessor`) and ``metadata`` (a JSON-able dict) default to the
        model's own ``preprocessor_`` and ``metadata_`` when it was loaded from a file.
        """
        header, arrays = self._to_state(preprocessor, metadata)
        return write_model_file(path, header, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike, max_memory: int | None = None) -> Self:
        """The classifier :meth:`save` wrote to ``path`` (any format version), fitted.

        With ``set_params(warm_start=True)`` its ``fit`` goes on with the training the file holds the state
        of (format version 2), exactly as that training would have gone on. ``max_memory``: the largest
        file read, in bytes (:func:`linclass.limits.memory_budget`).

        Raises
        ------
        ModelFileError
            When the file is missing, foreign, of an unknown version, damaged or inconsistent.
        """
        clf = load(path, max_memory)
        if not isinstance(clf, cls):
            raise ModelFileError(f"{path}: holds a {type(clf).__name__}, not a {cls.__name__}; load it with "
                                 "linclass.load")
        return clf

    def to_onnx(self, path: str | os.PathLike, preprocessor: Any = None) -> Path:
        """Write the model to ``path`` as an ONNX graph with its preprocessing: raw examples in, ``label``
        and ``probabilities`` (or ``scores``) out (:func:`linclass.export.onnx.to_onnx`; the ``onnx`` extra).
        ``preprocessor`` defaults to the model's own ``preprocessor_`` when it was loaded from a file."""
        from linclass.export.onnx import to_onnx

        return to_onnx(self, path, preprocessor)

    def _to_state(self, preprocessor: Any = None, metadata: dict | None = None) -> tuple[dict, dict[str, np.ndarray]]:
        """The fitted classifier as a model file's header and arrays (fields in :mod:`linclass.model_header`).

        The weights are those kept (:meth:`linclass.train.Trainer.kept_weights`) and ``"trainer"`` is the
        state of the training that made them; None for weights that training did not make (set by hand,
        or loaded from a file of format version 1).
        """
        check_fitted(self)
        preprocessor = getattr(self, "preprocessor_", None) if preprocessor is None else preprocessor
        metadata = getattr(self, "metadata_", None) if metadata is None else metadata
        trainer = self._weights_trainer()
        weights = self._weights()
        arrays = weights if trainer is None else dict(zip(weights, trainer.kept_weights(), strict=True))
        feature_names = getattr(self, "feature_names_in_", None)
        header = {
            "estimator": type(self).__name__,
            "hyperparameters": {name: value for name, value in self.get_params(deep=False).items()
                                if not callable(value)},  # a callback cannot be saved
            "classes": _encode_classes(self.classes_, arrays),
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": None if feature_names is None else [str(name) for name in feature_names],
            "history": getattr(self, "history_", None),
            "preprocessor": None if preprocessor is None else _refer_to_arrays(preprocessor.state_dict(),
                                                                               "preprocessor", arrays),
            "metadata": metadata or {},
            "trainer": None if trainer is None else _refer_to_arrays(trainer.state_dict(), "trainer", arrays),
        }
        return header, arrays

    @classmethod
    def _from_state(cls, header: dict, arrays: dict[str, np.ndarray]) -> Self:
        """The fitted classifier of a model file's header and arrays, which :mod:`linclass.model_header` passed.

        Raises KeyError, TypeError or ValueError (a hyperparameter's, naming it) when they do not fit together.
        """
        from linclass.data.preprocess import Preprocessor

        settings: dict[str, Any] = {name: tuple(value) if isinstance(cls.PARAMETERS[name].default, tuple) else value
                                    for name, value in header["hyperparameters"].items() if name in cls.PARAMETERS}
        clf = cls(**settings)
        config = clf._config()  # every hyperparameter checked: ValueError naming the bad one
        clf.classes_ = _decode_classes(header["classes"], arrays)
        clf.n_features_in_ = int(header["n_features_in"])
        if header.get("feature_names_in") is not None:
            clf.feature_names_in_ = np.array(header["feature_names_in"], dtype=object)
        clf.history_ = header.get("history")  # type: ignore[assignment]  # None: saved without a history
        clf.n_iter_ = len(clf.history_.get("epochs", [])) if clf.history_ else 0
        state = header.get("preprocessor")
        clf.preprocessor_ = None if state is None else Preprocessor.from_state_dict(_resolve_arrays(state, arrays))
        clf.metadata_ = header.get("metadata") or {}
        trainer_state = header.get("trainer")
        weights = {name: arrays[name] for name in model_parameter_names(header, arrays)}
        if trainer_state is None:
            clf._expose(clf._new_trainer(weights, config, None, clf.history_), with_trainer=False)
            return clf
        trainer_state = _resolve_arrays(trainer_state, arrays)
        optimizer_state = trainer_state["optimizer_state"]
        optimizer_state["state"] = {int(i): buffers for i, buffers in optimizer_state["state"].items()}  # JSON's keys
        trainer = clf._new_trainer(weights, config, None, clf.history_)
        trainer.load_state_dict(trainer_state)
        clf._start(trainer)
        return clf

    # -- helpers -----------------------------------------------------------------------------------------
    def _config(self) -> TrainConfig:
        """The training settings from the hyperparameters, each checked (ValueError naming the bad one)."""
        for name, declaration in self.PARAMETERS.items():
            declaration.check(getattr(self, name))
        return TrainConfig(**{name: getattr(self, name) for name in HYPERPARAMETERS if name in self.PARAMETERS})

    def _training_data(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        """Training features as finite float32 (N, D) in C order, and class labels, checked."""
        X, y = checked_training_data(self, X, y, dtype=np.float32, order="C", reset=reset)
        _check_finite(X, "X")
        return X, y

    def _start_fresh(self, n_features: int, config: TrainConfig) -> None:
        """A trainer on small random weights; one generator seeded by ``seed`` draws them and the batches."""
        rng = np.random.default_rng(self.seed)
        self._start(self._new_trainer(None, config, rng, None, n_features=n_features))

    def _start(self, trainer: Trainer) -> None:
        """Expose the trainer's live arrays as the fitted attributes (callbacks see every step)."""
        self._expose(trainer)
        self.history_ = trainer.history

    def _weights_trainer(self) -> Trainer | None:
        """The trainer whose arrays the fitted attributes show (``fit`` and :meth:`load` make one), or None
        for weights without the state of their training (set by hand, or of a file of format version 1)."""
        trainer = getattr(self, "_trainer", None)
        if trainer is None or any(mine is not its for mine, its in
                                  zip(self._weights().values(), trainer.parameter_arrays().values(), strict=True)):
            return None
        return trainer

    # -- what a subclass says about its model ------------------------------------------------------------
    @abstractmethod
    def _new_trainer(self, weights: dict[str, np.ndarray] | None, config: TrainConfig,
                     rng: np.random.Generator | None, history: dict | None, n_features: int = 0) -> Trainer:
        """A trainer of this model: on ``weights`` (by parameter name), or on fresh random ones for
        ``n_features`` inputs and ``classes_`` drawn from ``rng`` when None."""

    @abstractmethod
    def _expose(self, trainer: Trainer, with_trainer: bool = True) -> None:
        """Show the trainer's live arrays as the fitted attributes (:attr:`FITTED`); keep the trainer to go
        on training with unless ``with_trainer`` is False (weights without the state of their training)."""

    @abstractmethod
    def _weights(self) -> dict[str, np.ndarray]:
        """The fitted parameters' arrays by name, in the trainer's order."""

    @abstractmethod
    def _raw_scores(self, X: np.ndarray) -> np.ndarray:
        """The class scores (N, K) of checked features, in their dtype."""

    def _continue_with(self, config: TrainConfig) -> None:
        """A new trainer on the current weights and history (warm start, after loading or ``set_params``),
        going on with the training state of the last one; without a state, with a generator seeded by
        ``seed`` and the epochs done, and the optimizer's buffers at 0."""
        history = self.history_ or new_history()
        history["stopped_early"] = False
        previous = self._weights_trainer()
        rng = np.random.default_rng(self.seed + len(history["epochs"])) if previous is None else None
        trainer = self._new_trainer(self._weights(), config, rng, history)
        if previous is not None:
            trainer.load_state_dict(previous.state_dict())
        self._start(trainer)

    def _forget_fit(self) -> None:
        for name in (*self.FITTED, "classes_", "history_", "n_iter_", "threads_", "solver_", "_trainer",
                     "n_features_in_", "preprocessor_", "metadata_"):
            self.__dict__.pop(name, None)

    def _epoch_callback(self) -> Callable[[dict], Any] | None:
        if self.on_epoch_end is None:
            return None
        return lambda record: self.on_epoch_end(self, record)

    def _scores(self, X: Any) -> np.ndarray:
        """Scores (N, K) in X's float dtype: float32 stays float32, anything else becomes float64."""
        check_fitted(self)
        X = checked_features(self, X, reset=False, dtype=(np.float64, np.float32))
        _check_finite(X, "X")
        return self._raw_scores(X)

    def _label_indices(self, y: np.ndarray, name: str) -> np.ndarray:
        """Each label's row in ``classes_``; a label the model does not know is a ValueError."""
        index = np.searchsorted(self.classes_, y)
        index[index == len(self.classes_)] = 0
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(f"{name} holds the label {y.tolist()[np.argmax(unknown)]!r}, which is not one of the "
                             f"classes {self.classes_.tolist()} this model was trained on")
        return index

    def _validation_set(self, X_val: Any, y_val: Any) -> tuple[np.ndarray, np.ndarray]:
        if X_val is None or y_val is None:
            raise ValueError("pass both X_val and y_val (a validation set), or neither")
        X_val = checked_array(X_val, dtype=np.float32, order="C", input_name="X_val")
        _check_finite(X_val, "X_val")
        if X_val.shape[1] != self.n_features_in_:
            raise ValueError(f"X_val has {X_val.shape[1]} features, but X has {self.n_features_in_}")
        y_val = one_column(y_val)
        if len(y_val) != len(X_val):
            raise ValueError(f"X_val has {len(X_val)} examples but y_val has {len(y_val)} labels; they must match")
        return X_val, self._label_indices(y_val, "y_val")

    def _hold_out(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """A stratified ``validation_fraction`` of the training data, for early stopping."""
        train, val = split_indices(y, self.validation_fraction, self.seed)
        return X[train], y[train], X[val], y[val]


class LinearClassifier(TrainedClassifier):
    """A linear classifier ``f(x) = W x + b`` trained by mini-batch gradient descent.

    Parameters
    ----------
    {parameters}

    Every parameter after ``loss`` is keyword-only. Each is declared once, with its default and rule, in
    :data:`PARAMETERS` (from :class:`linclass.train.TrainConfig` and :class:`FitSettings`), which this
    list is written from.

    Attributes
    ----------
    W_ : ndarray (K, D) float32
        One row of weights per class (:func:`linclass.model.templates` shows them as images).
    b_ : ndarray (K,) float32
        One bias per class.
    classes_ : ndarray (K,)
        The class labels (any sortable labels, strings too); row k of ``W_`` belongs to ``classes_[k]``.
    n_features_in_ : int
        D.
    history_ : dict
        Losses and accuracies of the training run (format in :mod:`linclass.train`).
    n_iter_ : int
        The number of epochs run.
    threads_ : linclass.threads.ThreadChoice
        The BLAS thread count the last epoch trained with (None: as the environment set it) and why.
    solver_ : str
        The solver the last fit trained with: ``solver``, or the one ``solver=None`` chose for the data.
    preprocessor_ : linclass.datasets.Preprocessor or None
        Set by :meth:`load`: the preprocessing the model's inputs need, as it was saved (None when none
        was); :meth:`save` saves it again unless given another.
    metadata_ : dict
        Set by :meth:`load`: the facts saved with the model (dataset, class names, image shape...).
    """

    PARAMETERS = PARAMETERS
    FITTED = ("W_", "b_")

    def _new_trainer(self, weights: dict[str, np.ndarray] | None, config: TrainConfig,
                     rng: np.random.Generator | None, history: dict | None, n_features: int = 0) -> Trainer:
        if weights is None:
            assert rng is not None, "fresh weights are drawn from the run's generator"
            return Trainer(*init_weights(len(self.classes_), n_features, rng), config, rng)
        return Trainer(training_layout(weights["W"]), weights["b"], config, rng, history=history)

    def _expose(self, trainer: Trainer, with_trainer: bool = True) -> None:
        self.W_, self.b_ = trainer.W.data, trainer.b.data
        if with_trainer:
            self._trainer = trainer

    def _weights(self) -> dict[str, np.ndarray]:
        return {"W": self.W_, "b": self.b_}

    def _raw_scores(self, X: np.ndarray) -> np.ndarray:
        return scores(X, self.W_, self.b_.astype(X.dtype))


def _is_stream(X: Any) -> bool:
    """Whether ``X`` is training data that comes a block at a time (:class:`linclass.train.BlockStream`)."""
    return callable(getattr(X, "blocks", None)) and hasattr(X, "labels") and not isinstance(X, np.ndarray)


def _check_finite(X: np.ndarray, name: str) -> None:
    """A one-line ValueError when ``X`` holds NaN or infinite values, naming how many and where.

    A finite sum means every value is finite, and summing reads ``X`` once without allocating a mask
    as large as ``X`` (in a fresh process, touching that new memory took longer than the check itself).
    Only when the sum is not finite (a NaN, an infinity, or finite values overflowing) is each value checked.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(X.sum()):
            return
    finite = np.isfinite(X)
    if not finite.all():
        bad = np.argwhere(~finite)
        raise ValueError(f"{name} contains {len(bad)} NaN or infinite value(s), the first at row {bad[0][0]}, "
                         f"column {bad[0][1]}; drop or impute them: a linear classifier needs finite numbers")


def load(path: str | os.PathLike, max_memory: int | None = None) -> TrainedClassifier:
    """``linclass.load``: the classifier saved at ``path``, a :class:`LinearClassifier` or a
    :class:`linclass.nn.MLPClassifier`, as its file says."""
    header, arrays = read_model_file(path, max_memory)
    cls = estimator_class(str(header.get("estimator", LinearClassifier.__name__)))
    try:
        return cls._from_state(header, arrays)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: the model header is inconsistent ({error}); the file is damaged") from None


def estimator_class(name: str) -> type[TrainedClassifier]:
    """The classifier class a model file's ``estimator`` field names."""
    if name == "MLPClassifier":
        from linclass.nn.classifier import MLPClassifier

        return MLPClassifier
    return LinearClassifier


def _encode_classes(classes: np.ndarray, arrays: dict[str, np.ndarray]) -> dict:
    """Strings go into the header as a list; numbers and booleans into the data as an array of their dtype."""
    if classes.dtype.kind in "US" or (classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes)):
        return {"kind": "str", "values": [str(c) for c in classes]}
    if classes.dtype.kind in "iufb":
        arrays["classes"] = classes
        return {"kind": "array", "array": "classes"}
    raise TypeError(f"cannot save class labels of type {classes.dtype} ({classes[:3].tolist()}...): "
                    "use numbers or strings as labels")


def _decode_classes(entry: dict, arrays: dict[str, np.ndarray]) -> np.ndarray:
    if entry["kind"] == "str":
        return np.array(entry["values"], dtype=str)
    return arrays[entry["array"]]


def _refer_to_arrays(state: Any, name: str, arrays: dict[str, np.ndarray]) -> Any:
    """``state`` with each array in it moved into ``arrays`` under its place (``trainer.weights.W``) and
    replaced by the reference ``{"$array": place}``: the model file's way of keeping arrays out of JSON.
    A 0-d array (Adam's step count) is a number, and stays in the JSON as one."""
    if isinstance(state, np.ndarray) and state.ndim == 0:
        return state.item()
    if isinstance(state, np.ndarray):
        arrays[name] = state
        return {"$array": name}
    if isinstance(state, dict):
        return {key: _refer_to_arrays(value, f"{name}.{key}", arrays) for key, value in state.items()}
    return state


def _resolve_arrays(state: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of :func:`_refer_to_arrays`: each ``{"$array": place}`` replaced by its array."""
    if isinstance(state, dict):
        if "$array" in state:
            return arrays[state["$array"]]
        return {key: _resolve_arrays(value, arrays) for key, value in state.items()}
    return state


def _check_two_classes(classes: np.ndarray) -> None:
    if len(classes) < 2:
        raise ValueError(f"y has 1 class ({classes.tolist()[0]!r}); a classifier needs examples of at least "
                         "2 classes")


def document_parameters(cls: type[TrainedClassifier]) -> None:
    """Write ``cls``'s parameter list into its docstring and its signature, from :attr:`PARAMETERS`."""
    docs = "\n".join(declaration.numpydoc() for declaration in cls.PARAMETERS.values()).replace("\n", "\n    ")
    cls.__doc__ = (cls.__doc__ or "").replace("{parameters}", docs)

    def __init__(self: TrainedClassifier, loss: str = losses.DEFAULT_LOSS, **parameters: Any) -> None:
        TrainedClassifier.__init__(self, loss, **parameters)

    __init__.__qualname__ = f"{cls.__name__}.__init__"
    cls.__init__ = __init__  # type: ignore[method-assign]  # its own, to carry its own signature
    cls.__init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD if name == "loss"
                             else inspect.Parameter.KEYWORD_ONLY, default=declaration.default)
           for name, declaration in cls.PARAMETERS.items()])


document_parameters(LinearClassifier)
