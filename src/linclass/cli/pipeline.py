"""What ``train`` and ``tune`` share: data to features, the classifier's settings, and the run's report.

The lecture's protocol, step by step: load the dataset (its test set stays aside), split the training
set into training and validation parts (stratified, seeded), fit the preprocessing on the training part
only, then train on it and judge on the validation part.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from linclass import data
from linclass.cli.common import load_data
from linclass.cli.drawing import draw_pictures
from linclass.cli.image_statistics import training_statistics
from linclass.cli.pictures import Split, model_pictures, plane_picture
from linclass.data import Dataset, Preprocessor
from linclass.data.catalog import canonical_name
from linclass.errors import LinclassError
from linclass.saved_model import class_scores


@dataclass
class PreparedData:
    """A dataset split into training and validation parts, with the preprocessing fitted on training."""

    data: str                # the dataset's name, or the absolute path it was read from
    image_size: tuple[int, int] | None  # what it was loaded with (--image-size), to load it again alike
    dataset: Dataset
    preprocessor: Preprocessor
    train: Split
    val: Split
    seconds: dict[str, float] = field(default_factory=dict)
    image_statistics: dict[str, list[float]] | None = None  # of the training images, worked out once

    def test_split(self) -> Split:
        """The test set, preprocessed like the rest; to be used once, at the end."""
        return Split("test", self.dataset.X_test, self.preprocessor.transform(self.dataset.X_test),
                     self.dataset.y_test)


def prepare_data(options: Mapping[str, Any], preprocessor: Preprocessor | None = None) -> PreparedData:
    """Load ``options["data"]``, split it, and fit (or, given one, apply) the preprocessing."""
    start = time.perf_counter()
    dataset = load_data(options["data"], root=options["root"], image_size=options["image_size"])
    loaded = time.perf_counter()
    try:
        X_train, y_train, X_val, y_val = data.train_val_split(dataset.X_train, dataset.y_train,
                                                              val_size=options["val_fraction"],
                                                              seed=options["seed"])
    except ValueError as error:
        raise LinclassError(f"--val-fraction {options['val_fraction']}: {error}") from None
    if preprocessor is None:
        preprocessor = Preprocessor(center=options["center"]).fit(X_train)
    train = Split("training", X_train, preprocessor.transform(X_train), y_train)
    val = Split("validation", X_val, preprocessor.transform(X_val), y_val)
    seconds = {"loading data": loaded - start, "split and preprocessing": time.perf_counter() - loaded}
    size = None if options["image_size"] is None else tuple(options["image_size"])
    return PreparedData(data_argument(options["data"]), size, dataset, preprocessor, train, val, seconds)


def data_argument(name_or_path: str) -> str:
    """``--data`` as a model remembers it: a known name as is, a path made absolute."""
    if canonical_name(name_or_path) is not None:
        return name_or_path
    return str(Path(name_or_path).expanduser().resolve())


def check_parameters(parameters: Mapping[str, Any]) -> None:
    """Refuse settings that are fine one by one but not together (Nesterov without momentum), before any work:
    those of the training run as :class:`linclass.train.TrainConfig` checks them, a network's by their rule."""
    from linclass.nn.network import NETWORK_PARAMETERS
    from linclass.train import HYPERPARAMETERS, TrainConfig

    try:
        TrainConfig(**{name: value for name, value in parameters.items() if name in HYPERPARAMETERS})
        for name, value in parameters.items():
            if name in NETWORK_PARAMETERS:
                NETWORK_PARAMETERS[name].check(value)
    except ValueError as error:
        raise LinclassError(f"{error}") from None


def model_metadata(prepared: PreparedData) -> dict[str, Any]:
    """What a saved model must know of its data: the dataset, the class names, the image shape.

    ``data`` is what ``--data`` named, a path made absolute, and ``image_size`` what ``--image-size``
    gave (or None), so that ``linclass evaluate`` loads the same data alike from any folder.
    ``image_statistics`` describes the training images' brightness, so that ``linclass predict`` can say
    when an image is unlike them.
    """
    dataset = prepared.dataset
    if prepared.image_statistics is None:
        prepared.image_statistics = training_statistics(prepared.train.images)
    return {"dataset": dataset.name, "data": prepared.data, "image_size": prepared.image_size,
            "source": dataset.source,
            "classes": list(dataset.classes), "image_shape": list(dataset.image_shape),
            "image_statistics": prepared.image_statistics}


def data_summary(prepared: PreparedData) -> dict[str, Any]:
    """The report's table about the data."""
    dataset = prepared.dataset
    return {"dataset": dataset.name, "source": dataset.source,
            "image shape": "×".join(str(n) for n in dataset.image_shape),
            "classes": f"{len(dataset.classes)}: {', '.join(dataset.classes)}",
            "training examples": len(prepared.train.labels), "validation examples": len(prepared.val.labels),
            "test examples (kept aside)": len(dataset.y_test), "preprocessing": repr(prepared.preprocessor)}


def accuracy(clf: Any, split: Split) -> float:
    """The share of ``split``'s examples the classifier gets right."""
    predicted = class_scores(clf, split.features).argmax(axis=1)
    return float(np.mean(predicted == split.labels))


def write_run_report(run_dir: Path, *, title: str, clf: Any, prepared: PreparedData, shown: Split,
                     hyperparameters: Mapping[str, Any], metrics: Mapping[str, Any], timings: dict[str, float],
                     extra_images: Mapping[str, Path] | None = None, notes: list[str] | None = None) -> Path:
    """Draw the model's pictures (confusion matrix and examples on ``shown``) and write ``report.html``."""
    from linclass import report

    dataset = prepared.dataset
    pictures = model_pictures(run_dir, clf, shown, dataset.classes, dataset.image_shape)
    pictures.append(plane_picture(run_dir, clf, prepared.train.features, prepared.train.labels, dataset.classes,
                                  seed=int(hyperparameters.get("seed", 0))))
    drawn = draw_pictures(pictures)
    images, plane_note = drawn.images, drawn.captions["regions"]
    timings.update(drawn.seconds)
    notes = [f"Confusion matrix and examples: the {shown.name} set ({len(shown.labels)} images).",
             plane_note, *(notes or [])]
    return report.write_report(run_dir, title=title, data_summary=data_summary(prepared),
                               hyperparameters=hyperparameters, metrics=metrics,
                               history=clf.history_,
                               images={**(extra_images or {}), **images}, timings=timings,
                               notes="\n\n".join(notes), split=shown.name)
