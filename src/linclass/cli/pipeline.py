"""What ``train`` and ``tune`` share: data to features, the classifier's settings, and the run's report.

The lecture's protocol, step by step: load the dataset (its test set stays aside), split the training
set into training and validation parts (stratified, seeded), fit the preprocessing on the training part
only, then train on it and judge on the validation part.

A shards folder (``linclass shards`` writes one) is data larger than memory, and ``linclass train``
streams it (:class:`StreamedData`): its training split stays on disk and is read a block at a time, the
preprocessing's statistics come from one streaming pass over it, and only its validation and test splits
(held out, small) and a sample of the training rows (for the report's pictures) are read into memory.
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
from linclass.threads import CpuMeter


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
    notes: dict[str, str] = field(default_factory=dict)  # more rows of the report's table about the data

    def test_split(self) -> Split:
        """The test set, preprocessed like the rest; to be used once, at the end."""
        return Split("test", self.dataset.X_test, self.preprocessor.transform(self.dataset.X_test),
                     self.dataset.y_test)

    @property
    def training_examples(self) -> int:
        return len(self.train.labels)

    def training_data(self) -> tuple[Any, Any]:
        """What the classifier's ``fit`` trains on: the training part's features and labels."""
        return self.train.features, self.train.labels

    def training_accuracy(self, clf: Any) -> float:
        """The share of the training part's examples the classifier gets right."""
        return accuracy(clf, self.train)


@dataclass
class StreamedData(PreparedData):
    """A shards folder's splits, its training split streamed from disk (:class:`linclass.distributed.Shards`).

    ``train`` holds only a sample of the training rows (:data:`SAMPLE_ROWS`, the first ones: the writer
    put the rows in a random order) for the pictures and the image statistics; ``stream`` is all of them.
    """

    stream: Any = None

    @property
    def training_examples(self) -> int:
        return len(self.stream)

    def training_data(self) -> tuple[Any, Any]:
        return self.stream, None

    def training_accuracy(self, clf: Any) -> float:
        """The share of all the training rows the classifier gets right, in one pass over the blocks."""
        correct = 0
        for features, labels in self.stream.blocks():
            correct += int(np.count_nonzero(class_scores(clf, features).argmax(axis=1) == labels))
        return correct / len(self.stream)



SAMPLE_ROWS = 5000
"""The training rows of a shards folder read into memory for the report (pictures, image statistics)."""


def prepare_data(options: Mapping[str, Any], preprocessor: Preprocessor | None = None,
                 stream: bool = False) -> PreparedData:
    """Load ``options["data"]``, split it, and fit (or, given one, apply) the preprocessing; with ``stream``,
    a shards folder is streamed from disk (:func:`prepare_stream`) instead of loaded whole."""
    if stream and streams(options["data"]):
        return prepare_stream(options, preprocessor)
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


def streams(name_or_path: str) -> bool:
    """Whether ``--data`` names a shards folder, the data larger than memory ``linclass train`` streams."""
    from linclass.data.catalog import format_of

    if canonical_name(name_or_path) is not None:
        return False
    path = Path(name_or_path).expanduser()
    found = format_of(path) if path.exists() else None
    return found is not None and found.name == "shards"


def prepare_stream(options: Mapping[str, Any], preprocessor: Preprocessor | None = None) -> StreamedData:
    """A shards folder's training split as a stream of ``--block-size`` blocks, its preprocessing fitted in a
    streaming pass (or, given one, applied), and its validation and test splits read into memory."""
    from linclass.distributed import Shards

    start = time.perf_counter()
    stream = Shards(Path(options["data"]).expanduser(), block_size=options["block_size"], shuffle=True)
    if not stream.has_split("validation"):
        raise LinclassError(f"{options['data']}: has no validation split, which linclass train reports on and "
                            "draws its pictures from; write the shards with one (linclass shards DATA OUT "
                            "--val-fraction 0.1, or write_shards(..., validation=(X_val, y_val)))")
    if options.get("test") and not stream.has_split("test"):
        raise LinclassError(f"{options['data']}: has no test split, so --test has nothing to measure; write the "
                            "shards with one (linclass shards, or write_shards(..., test=(X_test, y_test)))")
    held_out = {split: stream.for_split(split).read() if stream.has_split(split) else
                (np.empty((0, *stream.feature_shape), stream.dtype), np.empty(0, np.int64))
                for split in ("validation", "test")}
    loaded = time.perf_counter()
    preprocessor = stream.fit_preprocessor(preprocessor or Preprocessor(center=options["center"]))
    sample_images, sample_labels = stream.read(0, SAMPLE_ROWS)
    manifest = stream.manifest
    dataset = Dataset(name=manifest.name, X_train=sample_images, y_train=sample_labels,
                      X_test=held_out["test"][0], y_test=held_out["test"][1], classes=manifest.classes,
                      image_shape=manifest.feature_shape, source=str(manifest.folder))
    val_images, val_labels = held_out["validation"]
    train = Split("training", sample_images, preprocessor.transform(sample_images), sample_labels)
    val = Split("validation", val_images, preprocessor.transform(val_images), val_labels)
    seconds = {"loading held-out data": loaded - start,
               "preprocessing (a streaming pass)": time.perf_counter() - loaded}
    notes = {"training data": f"streamed from disk, {stream.describe_blocks(options['batch_size'])}; "
                              f"the pictures show a sample of {len(sample_labels)} training rows"}
    return StreamedData(data_argument(options["data"]), None, dataset, preprocessor, train, val, seconds,
                        notes=notes, stream=stream)


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
            "training examples": prepared.training_examples, "validation examples": len(prepared.val.labels),
            "test examples (kept aside)": len(dataset.y_test), "preprocessing": repr(prepared.preprocessor),
            **prepared.notes}


def accuracy(clf: Any, split: Split) -> float:
    """The share of ``split``'s examples the classifier gets right."""
    predicted = class_scores(clf, split.features).argmax(axis=1)
    return float(np.mean(predicted == split.labels))


def write_run_report(run_dir: Path, *, title: str, clf: Any, prepared: PreparedData, shown: Split,
                     hyperparameters: Mapping[str, Any], metrics: Mapping[str, Any], timings: dict[str, float],
                     extra_images: Mapping[str, Path] | None = None, notes: list[str] | None = None,
                     cpu_meter: CpuMeter | None = None) -> Path:
    """Draw the model's pictures (confusion matrix and examples on ``shown``) and write ``report.html``;
    ``cpu_meter``, started when training did, tells how many CPUs other processes leave to draw on."""
    from linclass import report

    dataset = prepared.dataset
    pictures = model_pictures(run_dir, clf, shown, dataset.classes, dataset.image_shape)
    features = prepared.train.features
    if features.shape[1] >= 2:  # a plane needs two directions; one feature has a line only
        pictures.append(plane_picture(run_dir, clf, features, prepared.train.labels, dataset.classes,
                                      seed=int(hyperparameters.get("seed", 0))))
    drawn = draw_pictures(pictures, meter=cpu_meter)
    images = drawn.images
    timings.update(drawn.seconds)
    plane_note = drawn.captions.get("regions", "No geometric picture: the data has a single feature, so there "
                                               "is no plane to draw its regions in.")
    notes = [f"Confusion matrix and examples: the {shown.name} set ({len(shown.labels)} images).",
             plane_note, *(notes or [])]
    return report.write_report(run_dir, title=title, data_summary=data_summary(prepared),
                               hyperparameters=hyperparameters, metrics=metrics,
                               history=clf.history_,
                               images={**(extra_images or {}), **images}, timings=timings,
                               notes="\n\n".join(notes), split=shown.name)
