"""``LinearClassifier``: the score function, a loss and a training loop behind scikit-learn's contract.

It behaves as every scikit-learn classifier does: hyperparameters go into the constructor and are kept
unchanged; ``fit`` learns attributes whose names end in ``_``; ``predict``, ``decision_function``,
``predict_proba`` (for the losses that give probabilities) and ``score`` mean what they mean everywhere.
So it drops into a ``Pipeline`` or a ``GridSearchCV``, and passes ``sklearn.utils.estimator_checks.check_estimator``.

>>> clf = LinearClassifier(reg=1e-3, lr=1e-2, epochs=10).fit(X_train, y_train, X_val, y_val)
>>> clf.score(X_val, y_val), clf.W_.shape          # accuracy, (K, D)
>>> clf.save("model.linclass"); clf = linclass.load("model.linclass")
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from linclass import losses
from linclass.constraints import Boolean, Function, Real, declare, declared
from linclass.data.splits import split_indices
from linclass.errors import DivergenceError
from linclass.model import init_weights, predict_indices, scores, training_layout
from linclass.train import HYPERPARAMETERS, TrainConfig, Trainer, new_history

__all__ = ["LinearClassifier", "PARAMETERS"]


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


PARAMETERS = {**HYPERPARAMETERS, **declared(FitSettings)}
"""Every parameter of :class:`LinearClassifier`, declared once: the training run's, then the estimator's."""


def _has_probabilities(clf: "LinearClassifier") -> bool:
    """``predict_proba`` exists for the losses whose model is ``softmax(scores)`` (an SVM's scores are not
    probabilities)."""
    loss = losses.LOSSES.get(clf.loss) if isinstance(clf.loss, str) else None
    if loss is None or not loss.probabilities:
        able = ", ".join(repr(name) for name, item in losses.LOSSES.items() if item.probabilities)
        raise AttributeError(f"predict_proba needs loss={able}; loss={clf.loss!r} gives scores, not "
                             "probabilities: use decision_function")
    return True


def _parameters_doc() -> str:
    return "\n".join(PARAMETERS[name].numpydoc() for name in PARAMETERS).replace("\n", "\n    ")


class LinearClassifier(ClassifierMixin, BaseEstimator):
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
    """

    def __init__(self, loss: str = losses.DEFAULT_LOSS, **parameters: Any) -> None:
        unknown = sorted(set(parameters) - set(PARAMETERS))
        if unknown:
            raise TypeError(f"LinearClassifier got an unexpected keyword argument {unknown[0]!r}; its parameters "
                            f"are {', '.join(PARAMETERS)}")
        self.loss = loss
        for name, declaration in PARAMETERS.items():
            if name != "loss":
                setattr(self, name, parameters.get(name, declaration.default))

    # -- training ------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None) -> "LinearClassifier":
        """Learn ``W_`` and ``b_`` from training examples, starting from small random weights.

        Parameters
        ----------
        X : array-like (N, D)
            Training features (converted to float32 once).
        y : array-like (N,)
            Their labels.
        X_val, y_val : array-like, optional
            A validation set: its accuracy is recorded after every epoch, and early stopping uses it.

        Returns
        -------
        self
        """
        config = self._config()
        warm = bool(self.warm_start) and hasattr(self, "W_")
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
        if warm:
            self._continue_with(config)
        else:
            self._start_fresh(X.shape[1], config)
        try:
            self._trainer.fit(X, y_index, X_val, y_val_index, self._epoch_callback())
        except DivergenceError:
            self._forget_fit()
            raise
        self.n_iter_ = len(self.history_["epochs"])
        self.threads_ = self._trainer.thread_choice
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> "LinearClassifier":
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
            classes = np.unique(column_or_1d(classes))
            _check_two_classes(classes)
            self.classes_ = classes
        elif classes is not None and not np.array_equal(np.unique(column_or_1d(classes)), self.classes_):
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
        """The class scores ``W x + b`` of each example.

        Returns
        -------
        ndarray (N, K); for two classes, as scikit-learn's binary classifiers, the (N,) margin
        ``s_1 - s_0`` (positive means ``classes_[1]``).
        """
        class_scores = self._scores(X)
        if len(self.classes_) == 2:
            return class_scores[:, 1] - class_scores[:, 0]
        return class_scores

    def predict(self, X: Any) -> np.ndarray:
        """The label of the highest-scoring class of each example."""
        indices = predict_indices(self._scores(X))
        return self.classes_[indices]

    @available_if(_has_probabilities)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``softmax(W x + b)``, (N, K) with rows summing to 1 (only for a
        loss whose record says it gives probabilities)."""
        class_scores = self._scores(X)
        class_scores -= class_scores.max(axis=1, keepdims=True)
        np.exp(class_scores, out=class_scores)
        class_scores /= class_scores.sum(axis=1, keepdims=True)
        return class_scores

    def save(self, path: str | os.PathLike, preprocessor: Any = None, metadata: dict | None = None) -> Path:
        """Save the fitted model to ``path`` (see :mod:`linclass.persist`): weights, classes, preprocessing,
        hyperparameters, history and metadata, in linclass's own versioned format (never pickle).

        ``preprocessor`` (a :class:`linclass.datasets.Preprocessor`) and ``metadata`` default to the
        model's own ``preprocessor_`` and ``metadata_`` when it was loaded from a file.
        """
        from linclass.persist import save

        return save(self, path, preprocessor=preprocessor, metadata=metadata)

    # -- helpers -----------------------------------------------------------------------------------------
    def _config(self) -> TrainConfig:
        """The training settings from the hyperparameters, each checked (ValueError naming the bad one)."""
        for name, declaration in PARAMETERS.items():
            declaration.check(getattr(self, name))
        return TrainConfig(**{name: getattr(self, name) for name in HYPERPARAMETERS})

    def _training_data(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        """Training features as finite float32 (N, D) in C order, and class labels, checked."""
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_all_finite=False, reset=reset)
        _check_finite(X, "X")
        check_classification_targets(y)
        return X, y

    def _start_fresh(self, n_features: int, config: TrainConfig) -> None:
        """A trainer on small random weights; one generator seeded by ``seed`` draws them and the batches."""
        rng = np.random.default_rng(self.seed)
        self._start(Trainer(*init_weights(len(self.classes_), n_features, rng), config, rng))

    def _start(self, trainer: Trainer) -> None:
        """Expose the trainer's live arrays as the fitted attributes (callbacks see every step)."""
        self._trainer = trainer
        self.W_, self.b_ = trainer.W.data, trainer.b.data
        self.history_ = trainer.history

    def _continue_with(self, config: TrainConfig) -> None:
        """A new trainer on the current weights and history (warm start, after loading or ``set_params``)."""
        history = self.history_ or new_history()
        history["stopped_early"] = False
        rng = np.random.default_rng(self.seed + len(history["epochs"]))
        self._start(Trainer(training_layout(self.W_), self.b_, config, rng, history=history))

    def _forget_fit(self) -> None:
        for name in ("W_", "b_", "classes_", "history_", "n_iter_", "threads_", "_trainer", "n_features_in_"):
            self.__dict__.pop(name, None)

    def _epoch_callback(self) -> Callable[[dict], Any] | None:
        if self.on_epoch_end is None:
            return None
        return lambda record: self.on_epoch_end(self, record)

    def _scores(self, X: Any) -> np.ndarray:
        """Scores (N, K) in X's float dtype: float32 stays float32, anything else becomes float64."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), ensure_all_finite=False)
        _check_finite(X, "X")
        return scores(X, self.W_, self.b_.astype(X.dtype))

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
        X_val = check_array(X_val, dtype=np.float32, order="C", ensure_all_finite=False, input_name="X_val")
        _check_finite(X_val, "X_val")
        if X_val.shape[1] != self.n_features_in_:
            raise ValueError(f"X_val has {X_val.shape[1]} features, but X has {self.n_features_in_}")
        y_val = column_or_1d(y_val)
        if len(y_val) != len(X_val):
            raise ValueError(f"X_val has {len(X_val)} examples but y_val has {len(y_val)} labels; they must match")
        return X_val, self._label_indices(y_val, "y_val")

    def _hold_out(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """A stratified ``validation_fraction`` of the training data, for early stopping."""
        train, val = split_indices(y, self.validation_fraction, self.seed)
        return X[train], y[train], X[val], y[val]


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


def _check_two_classes(classes: np.ndarray) -> None:
    if len(classes) < 2:
        raise ValueError(f"y has 1 class ({classes.tolist()[0]!r}); a classifier needs examples of at least "
                         "2 classes")


LinearClassifier.__doc__ = (LinearClassifier.__doc__ or "").replace("{parameters}", _parameters_doc())
LinearClassifier.__init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    + [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD if name == "loss"
                         else inspect.Parameter.KEYWORD_ONLY, default=declaration.default)
       for name, declaration in PARAMETERS.items()])
