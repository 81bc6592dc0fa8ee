"""A saved model as the commands use it: the classifier, its preprocessing, class names and image shape.

``linclass train`` saves these with the model (``metadata``: the dataset's name, the class names and
the image shape); a model saved from Python without them still works where they can be worked out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linclass.cli.run_folder import find_model
from linclass.errors import LinclassError


@dataclass
class SavedModel:
    """A loaded model and what the commands need to know about it."""

    path: Path
    classifier: Any
    preprocessor: Any          # linclass.datasets.Preprocessor or None
    classes: list[str]
    image_shape: tuple[int, ...] | None
    dataset: str | None        # what to load for its data: a dataset name or a path
    image_size: tuple[int, int] | None = None  # the image_size (--image-size) that data was loaded with
    image_statistics: dict | None = None  # the training images' brightness (linclass.cli.image_statistics)

    @property
    def loss(self) -> str:
        return str(self.classifier.loss)

    def features(self, examples: np.ndarray) -> np.ndarray:
        """Examples (N, ...) as the classifier sees them: preprocessed, or flattened without preprocessing."""
        if self.preprocessor is not None:
            return self.preprocessor.transform(examples)
        return np.asarray(examples, dtype=np.float32).reshape(len(examples), -1)

    def scores(self, examples: np.ndarray) -> np.ndarray:
        """Class scores ``W x + b`` (N, K) of raw examples, in the order of :attr:`classes`."""
        return class_scores(self.classifier, self.features(examples))


def class_scores(clf: Any, features: np.ndarray) -> np.ndarray:
    """The score ``w_k · x + b_k`` of every class k, (N, K).

    ``decision_function`` gives a two-class model's single margin ``s_1 - s_0`` (scikit-learn's
    convention); the commands want every class's score, whatever K is.
    """
    from linclass.model import scores

    return scores(np.asarray(features, dtype=np.float32), clf.W_, clf.b_)


def kept_epoch(clf: Any) -> int | None:
    """The epoch whose weights ``clf`` holds after ``fit``: the best on validation with early stopping, else the last.

    None before any epoch. (A history's ``best_epoch`` alone does not say it: without early stopping the
    model keeps training past its best validation epoch.)
    """
    history = getattr(clf, "history_", None) or {}
    if not history.get("epochs"):
        return None
    if clf.early_stopping and history.get("best_epoch") is not None:
        return int(history["best_epoch"])
    return int(history["epochs"][-1]["epoch"])


def history_with_kept_epoch(clf: Any) -> dict[str, Any]:
    """``clf.history_`` with ``"kept_epoch"`` (:func:`kept_epoch`), for the pictures and the report."""
    return {**(clf.history_ or {}), "kept_epoch": kept_epoch(clf)}


def open_model(path: str | Path) -> SavedModel:
    """Load the model at ``path`` (a model file, or a run folder holding ``model.linclass``)."""
    from linclass.persist import load

    model_path, _ = find_model(path)
    classifier = load(model_path)  # its history is not needed: a model file copied out of its run works
    metadata = dict(getattr(classifier, "metadata_", None) or {})
    preprocessor = getattr(classifier, "preprocessor_", None)
    classes = [str(name) for name in metadata.get("classes") or classifier.classes_]
    shape = metadata.get("image_shape") or (preprocessor.input_shape if preprocessor is not None else None)
    if len(classes) != len(classifier.classes_):
        raise LinclassError(f"{model_path}: names {len(classes)} classes but has weights for "
                            f"{len(classifier.classes_)}; the file is inconsistent, train the model again")
    return SavedModel(path=model_path, classifier=classifier, preprocessor=preprocessor, classes=classes,
                      image_shape=None if shape is None else tuple(int(n) for n in shape),
                      dataset=metadata.get("data") or metadata.get("dataset"),
                      image_size=_pair(metadata.get("image_size")),
                      image_statistics=metadata.get("image_statistics"))


def _pair(value: Any) -> tuple[int, int] | None:
    """A stored (height, width) as a tuple of ints; None when none was stored."""
    return None if value is None else tuple(int(n) for n in value)
