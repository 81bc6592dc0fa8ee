"""A saved model as a program uses it: the classifier, its preprocessing, class names and image shape.

``linclass train`` saves these with the model (``metadata``: the dataset's name, the class names and
the image shape); a model saved from Python without them still works where they can be worked out.

>>> model = SavedModel.load("runs/digits-softmax-20250101-120000/model.linclass")
>>> model.scores(images).argmax(axis=1)           # raw images in, one row of class scores each
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linclass.errors import LinclassError

__all__ = ["SavedModel", "class_scores"]


@dataclass
class SavedModel:
    """A loaded model and what a program needs to know to score raw examples with it."""

    path: Path
    classifier: Any
    preprocessor: Any          # linclass.datasets.Preprocessor or None
    classes: list[str]
    image_shape: tuple[int, ...] | None
    dataset: str | None        # what to load for its data: a dataset name or a path
    image_size: tuple[int, int] | None = None  # the image_size (--image-size) that data was loaded with
    image_statistics: dict | None = None  # the training images' brightness, as linclass train records it

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SavedModel":
        """The model in the file ``path`` (:func:`linclass.load`: linear or a network) and its metadata."""
        from linclass.estimator import load

        path = Path(path)
        classifier = load(path)  # its history is not needed: a model copied out of its run works
        metadata = dict(classifier.metadata_)
        preprocessor = classifier.preprocessor_
        classes = [str(name) for name in metadata.get("classes") or classifier.classes_]
        shape = metadata.get("image_shape") or (preprocessor.input_shape if preprocessor is not None else None)
        if len(classes) != len(classifier.classes_):
            raise LinclassError(f"{path}: names {len(classes)} classes but has weights for "
                                f"{len(classifier.classes_)}; the file is inconsistent, train the model again")
        return cls(path=path, classifier=classifier, preprocessor=preprocessor, classes=classes,
                   image_shape=None if shape is None else tuple(int(n) for n in shape),
                   dataset=metadata.get("data") or metadata.get("dataset"),
                   image_size=_pair(metadata.get("image_size")),
                   image_statistics=metadata.get("image_statistics"))

    @property
    def loss(self) -> str:
        return str(self.classifier.loss)

    def features(self, examples: np.ndarray) -> np.ndarray:
        """Examples (N, ...) as the classifier sees them: preprocessed, or flattened without preprocessing."""
        if self.preprocessor is not None:
            return self.preprocessor.transform(examples)
        return np.asarray(examples, dtype=np.float32).reshape(len(examples), -1)

    def scores(self, examples: np.ndarray) -> np.ndarray:
        """Class scores (N, K) of raw examples, in the order of :attr:`classes`."""
        return class_scores(self.classifier, self.features(examples))


def class_scores(clf: Any, features: np.ndarray) -> np.ndarray:
    """The score of every class k, (N, K): ``w_k · x + b_k`` for a linear classifier.

    ``decision_function`` gives a two-class model's single margin ``s_1 - s_0`` (scikit-learn's
    convention); a program showing every class wants every class's score, whatever K is.
    """
    return clf.class_scores(np.asarray(features, dtype=np.float32))


def _pair(value: Any) -> tuple[int, int] | None:
    """A stored (height, width) as a tuple of ints; None when none was stored."""
    if value is None:
        return None
    height, width = (int(n) for n in value)
    return height, width
