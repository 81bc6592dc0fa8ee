"""``linclass evaluate``: how well a saved model does on a dataset's test split.

The lecture's protocol keeps the test set aside until the end; this is that end. It prints the accuracy,
each class's precision (of the images predicted as the class, the share that are) and recall (of the
images of the class, the share found), and the confusion matrix.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable

import numpy as np

from linclass import data
from linclass.cli.common import (add_image_size_option, add_model_argument, common_options, load_data, percent,
                                 print_json)
from linclass.cli.run_folder import open_model
from linclass.errors import LinclassError
from linclass.saved_model import SavedModel


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", parents=[common_options()],
        help="accuracy, per-class precision and recall, and confusion matrix of a saved model",
        description="Evaluate a saved model on a dataset's test split (or its training split): accuracy, "
                    "precision and recall of every class, and the confusion matrix.",
    )
    add_model_argument(parser)
    parser.add_argument("--data", metavar="NAME|PATH",
                        help="the dataset to evaluate on (default: the one the model was trained on)")
    parser.add_argument("--root", metavar="DIR", help="look for the dataset here first")
    add_image_size_option(parser)
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="which split of the dataset (default test)")
    parser.add_argument("--out", metavar="PNG", help="also draw the confusion matrix into this PNG file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.out is not None and Path(args.out).suffix.lower() != ".png":
        raise LinclassError(f"--out {args.out}: the confusion matrix is drawn as PNG; give a file ending in .png")
    model = open_model(args.model)
    name = args.data or model.dataset
    if name is None:
        raise LinclassError(f"{model.path}: does not say which dataset it was trained on; give --data NAME|PATH")
    # The model's own data is loaded at the size it was trained on; other data as the options say.
    size = model.image_size if args.data is None and args.image_size is None else args.image_size
    dataset = load_data(name, root=args.root, image_size=size)
    check_compatible(model, dataset)
    images, labels = (dataset.X_test, dataset.y_test) if args.split == "test" else (dataset.X_train, dataset.y_train)
    predicted = model.scores(images).argmax(axis=1)
    result = evaluation(labels, predicted, model.classes)
    result.update(model=str(model.path), data=dataset.name, split=args.split)
    if args.out is not None:
        from linclass import report

        report.plot_confusion_matrix(np.array(result["confusion_matrix"]), model.classes, path=args.out)
        result["confusion_png"] = args.out
    if args.json:
        print_json(result)
    else:
        print_evaluation(result)
    return 0


def check_compatible(model: SavedModel, dataset: data.Dataset) -> None:
    """Refuse a dataset whose images or classes are not those the model was trained on."""
    if model.image_shape is not None and tuple(dataset.image_shape) != model.image_shape:
        raise LinclassError(f"{model.path} was trained on {_shape(model.image_shape)} examples but "
                            f"{dataset.name} has {_shape(dataset.image_shape)}; evaluate it on the data it was "
                            "trained on")
    if list(dataset.classes) != model.classes:
        raise LinclassError(f"{model.path} knows the classes {_names(model.classes)} but {dataset.name} has "
                            f"{_names(dataset.classes)}; evaluate it on the data it was trained on")


def evaluation(labels: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict:
    """Accuracy, per-class precision, recall and support, and the confusion matrix, as plain lists."""
    from linclass.report.confusion import confusion_matrix

    matrix = confusion_matrix(labels, predicted, len(classes))
    correct = np.diag(matrix)
    predicted_as = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted_as > 0, correct / predicted_as, np.nan)
        recall = np.where(support > 0, correct / support, np.nan)
    return {
        "n": int(matrix.sum()), "accuracy": float(correct.sum() / max(matrix.sum(), 1)), "classes": classes,
        "precision": [None if np.isnan(p) else float(p) for p in precision],
        "recall": [None if np.isnan(r) else float(r) for r in recall],
        "support": support.tolist(), "confusion_matrix": matrix.tolist(),
    }


def print_evaluation(result: dict) -> None:
    """The evaluation as text: the accuracy, a table of classes, the confusion matrix."""
    print(f"{result['data']} {result['split']} split: {result['n']} examples, accuracy {percent(result['accuracy'])}")
    print()
    width = max(len("class"), *(len(name) for name in result["classes"]))
    print(f"{'class':<{width}}  precision  recall  support")
    for name, precision, recall, support in zip(result["classes"], result["precision"], result["recall"],
                                                result["support"], strict=True):
        print(f"{name:<{width}}  {percent(precision):>9}  {percent(recall):>6}  {support:>7}")
    print()
    print("confusion matrix (rows: true class, columns: predicted class)")
    matrix = np.array(result["confusion_matrix"])
    cell = max(len(str(matrix.max())), 4)
    header = " ".join(f"{_abbreviate(name, cell):>{cell}}" for name in result["classes"])
    print(f"{'':<{width}}  {header}")
    for name, row in zip(result["classes"], matrix, strict=True):
        print(f"{name:<{width}}  " + " ".join(f"{count:>{cell}}" for count in row))
    if "confusion_png" in result:
        print(f"\nwrote {result['confusion_png']}")


def _abbreviate(name: str, width: int) -> str:
    return name if len(name) <= width else name[:width]


def _shape(shape: Iterable[int]) -> str:
    return "×".join(str(n) for n in shape)


def _names(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    return f"{len(names)} ({shown})"
