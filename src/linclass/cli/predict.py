"""``linclass predict``: classify image files with a saved model.

Each image is read whatever its size or mode and converted to what the model was trained on (the
conversion is reported), preprocessed exactly as the training images were, and scored. A softmax model's
scores become probabilities: "82% Sneaker, 15% Sandal, 2% Ankle boot". An SVM's scores are not
probabilities — its loss only asks the right score to win by a margin — so they are printed as scores,
with their softmax shown beside them and labelled as such.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from linclass import data
from linclass.cli.common import add_model_argument, common_options, positive_int, print_json
from linclass.cli.image_statistics import unlike_training
from linclass.cli.pictures import softmax
from linclass.cli.run_folder import open_model
from linclass.errors import LinclassError
from linclass.losses import get_loss
from linclass.saved_model import SavedModel


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict", parents=[common_options()],
        help="classify image files with a saved model",
        description="Classify image files with a saved model: each is converted to the model's image size "
                    "and mode, preprocessed as in training, and given its most likely classes.",
    )
    add_model_argument(parser)
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...) of any size")
    parser.add_argument("--top-k", type=positive_int, default=3, metavar="K",
                        help="how many classes to show for each image (default 3; fewer if there are fewer)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = open_model(args.model)
    if model.image_shape is None:
        raise LinclassError(f"{model.path}: does not say what size of image it expects; predict needs a model "
                            "saved with its preprocessing (linclass train, or clf.save(path, preprocessor=...))")
    if len(model.image_shape) not in (2, 3):
        raise LinclassError(f"{model.path}: was trained on vectors of {model.image_shape[0]} numbers, not on "
                            "images; predict reads image files, evaluate works on any data")
    loaded = [data.load_image(path, model.image_shape) for path in args.images]
    scores = model.scores(np.stack([image for image, _ in loaded]))
    predictions = [{**prediction(model, path, note, row, args.top_k),
                    "warning": unlike_training(image, model.image_statistics)}
                   for path, (image, note), row in zip(args.images, loaded, scores, strict=True)]
    if args.json:
        print_json({"model": str(model.path), "loss": model.loss, "predictions": predictions})
        return 0
    for entry in predictions:
        if entry["warning"]:
            print(f"linclass predict: warning: {entry['image']}: {entry['warning']}", file=sys.stderr)
        print(f"{entry['image']}: {describe(entry)}")
        print(f"  image {entry['note']}")
    return 0


def prediction(model: SavedModel, path: str, note: str, scores: np.ndarray, top_k: int) -> dict:
    """One image's top classes: name, score and probability (or, for hinge losses, softmax of scores)."""
    probabilities = softmax(scores[None, :])[0]
    best = np.argsort(-scores, kind="stable")[:top_k]
    is_probability = get_loss(model.loss).probabilities
    top = [{"class": model.classes[k], "index": int(k), "score": float(scores[k]),
            "probability" if is_probability else "softmax_of_score": float(probabilities[k])} for k in best]
    return {"image": path, "note": note, "prediction": model.classes[best[0]],
            "scores_are": "probabilities" if is_probability else "scores (SVM, not probabilities)", "top": top}


def describe(entry: dict) -> str:
    """``"82% cat, 15% dog, 2% hat"``; for an SVM, the scores and, labelled, their softmax."""
    if entry["scores_are"] == "probabilities":
        return ", ".join(f"{item['probability']:.0%} {item['class']}" for item in entry["top"])
    scores = ", ".join(f"{item['score']:.2f} {item['class']}" for item in entry["top"])
    soft = ", ".join(f"{item['softmax_of_score']:.0%} {item['class']}" for item in entry["top"])
    return f"scores (SVM, not probabilities): {scores}; softmax of scores: {soft}"
