"""The pictures of a run, drawn with :mod:`linclass.report` into the run's folder.

Besides the learning curves, templates, confusion matrix and example predictions of the trained model,
a run shows the two ideas of the lecture that need more than the model itself:

- the geometric picture. A linear classifier on D = 784 pixels cannot be drawn, and projecting its
  weights onto a plane would draw regions it does not have. So the picture is made honestly: the
  training features are projected onto their first two principal components, a *separate* linear
  classifier with the same loss is trained on those 2-D points, and its regions are drawn — captioned
  as what it is;
- the hinge loss next to the softmax cross-entropy, for the scores the model gives one validation
  example.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from linclass import report
from linclass.cli.drawing import Picture
from linclass.data.splits import split_indices
from linclass.losses import get_loss
from linclass.saved_model import class_scores

PLANE_EXAMPLES = 3000        # training examples used to find the plane and fit the 2-D classifier
PLANE_POINTS_PER_CLASS = 40  # points drawn per class, so that the regions stay visible
PCA_OVERSAMPLING = 8         # extra random directions, so the first two are found accurately
PCA_ITERATIONS = 6           # subspace iterations (each is a product with the centered data and back)


@dataclass
class Split:
    """Examples of one split as a person sees them (``images``) and as the classifier sees them."""

    name: str               # "validation", "test" or "training"
    images: np.ndarray      # raw examples, e.g. uint8 N×H×W
    features: np.ndarray    # preprocessed float32 N×D
    labels: np.ndarray      # int64 N


# Drawing times relative to one another (Fashion-MNIST, 10 classes): the longest are started first.
COSTS = {"history": 1.0, "templates": 0.4, "unit_templates": 0.8, "confusion": 0.8, "examples": 1.7,
         "loss_comparison": 1.1, "regions": 1.5}
SHOWN_UNITS = 20
"""The hidden units whose templates a network's report shows (the first ones)."""


def model_pictures(run_dir: Path, clf: Any, split: Split, classes: Sequence[str],
                   image_shape: Sequence[int]) -> list[Picture]:
    """Learning curves, templates, confusion matrix and example predictions of a trained classifier.

    The pictures to draw (see :func:`linclass.cli.drawing.draw_pictures`), each into ``run_dir/<key>.png``.
    Templates and examples need images: they are left out for data that are plain feature vectors.
    """
    is_image = len(image_shape) in (2, 3)
    scores = class_scores(clf, split.features)
    predicted = scores.argmax(axis=1)
    pictures = []

    def add(key: str, function: Callable[..., Any], *arguments: Any, **keywords: Any) -> None:
        path = run_dir / f"{key}.png"

        def draw() -> None:
            function(*arguments, path=path, **keywords)

        pictures.append(Picture(key, path, draw, COSTS[key]))

    add("history", report.plot_history, clf.history_)
    if is_image and hasattr(clf, "W_"):
        add("templates", report.plot_templates, clf.W_, tuple(image_shape), list(classes))
    elif is_image:  # a network: its first layer's templates, one per hidden unit
        units = clf.coefs_[0].T
        add("unit_templates", report.plot_templates, units, tuple(image_shape),
            [f"unit {i}" for i in range(len(units))], what="hidden unit", most=SHOWN_UNITS)
    matrix = report.confusion_matrix(split.labels, predicted, len(classes))
    add("confusion", report.plot_confusion_matrix, matrix, list(classes))
    if is_image:
        add("examples", plot_examples, split, softmax(scores), list(classes), clf.loss)
    example = chosen_example(predicted, split.labels)
    add("loss_comparison", report.plot_loss_comparison, scores[example], int(split.labels[example]),
        delta=float(getattr(clf, "delta", 1.0)), class_names=list(classes))
    return pictures


def plane_picture(run_dir: Path, clf: Any, features: np.ndarray, labels: np.ndarray, classes: Sequence[str],
                  seed: int = 0) -> Picture:
    """The geometric picture (:func:`draw_plane_picture`) as a picture to draw; its caption says what it shows."""
    path = run_dir / "regions.png"
    return Picture("regions", path, lambda: draw_plane_picture(path, clf, features, labels, classes, seed)[1],
                   COSTS["regions"])


def plot_examples(split: Split, probabilities: np.ndarray, classes: list[str], loss: str, path: Path) -> None:
    """``report.plot_examples`` on ``split``, titled with the split's name and what the percentages are."""
    from linclass.report.style import finish

    figure = report.plot_examples(split.images, split.labels, probabilities, classes)
    what = "top 3 classes" if get_loss(loss).probabilities else \
        f"top 3 classes by the softmax of its {get_loss(loss).title} scores (not probabilities)"
    figure.suptitle(f"{split.name.capitalize()} images and the classifier's {what}\n(green: right, red: wrong)")
    finish(figure, path)


def chosen_example(predicted: np.ndarray, labels: np.ndarray) -> int:
    """The example whose two losses are shown: the first mistake, which both losses still charge."""
    mistakes = np.flatnonzero(predicted != labels)
    return int(mistakes[0]) if len(mistakes) else 0


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of scores (N, K), after subtracting each row's largest score."""
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def principal_plane(features: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean and the first two principal directions of ``features`` (N, D), and their variance shares.

    Returns ``mean`` (D,), ``directions`` (2, D) with unit rows, and the fraction of the total variance
    each direction explains. The directions are found by subspace iteration from a seeded random start
    (the randomized range finder of Halko, Martinsson and Tropp, 2011): a few products with the centered
    data, on one thread — LAPACK's threads fighting over a busy machine made a full SVD a hundred times
    slower — instead of a decomposition of the whole D × D covariance.
    """
    from threadpoolctl import threadpool_limits

    mean = features.mean(axis=0, dtype=np.float64)
    centered = np.asarray(features, dtype=np.float64) - mean
    basis = np.random.default_rng(seed).standard_normal((features.shape[1], 2 + PCA_OVERSAMPLING))
    with threadpool_limits(limits=1):
        for _ in range(PCA_ITERATIONS):
            basis = np.linalg.qr(centered.T @ (centered @ basis))[0]
        projected = centered @ basis
        values, vectors = np.linalg.eigh(projected.T @ projected)
    largest = np.argsort(values)[::-1][:2]
    directions = (basis @ vectors[:, largest]).T
    return mean, directions, values[largest] / np.einsum("ij,ij->", centered, centered)


def draw_plane_picture(path: Path, clf: Any, features: np.ndarray, labels: np.ndarray,
                       classes: Sequence[str], seed: int = 0) -> tuple[Path, str]:
    """The geometric picture: a linear classifier trained on the 2-D PCA projection of the training data.

    Returns the PNG's path and a sentence for the report that says what was drawn.
    """
    from linclass.estimator import LinearClassifier

    rng = np.random.default_rng(seed)
    chosen = np.arange(len(labels))
    if len(labels) > PLANE_EXAMPLES:  # a stratified sample keeps every class in the picture
        chosen = split_indices(labels, PLANE_EXAMPLES, seed)[1]
    sample, sample_labels = features[chosen], labels[chosen]
    mean, directions, share = principal_plane(sample, seed)
    points = ((sample - mean) @ directions.T).astype(np.float32)
    scale = points.std() or 1.0  # unit spread, so the 2-D classifier's learning rate suits any data
    points /= scale
    # trained as a run trains, by the fused mini-batch solver: L-BFGS would import SciPy's optimizers,
    # which took ten times longer than this whole fit of a few thousand 2-D points
    flat = LinearClassifier(loss=clf.loss, penalty="l2", reg=1e-4, solver="fused", seed=seed)
    flat.fit(points, sample_labels)
    accuracy = float(np.mean(class_scores(flat, points).argmax(axis=1) == sample_labels))
    shown = _a_few_per_class(sample_labels, PLANE_POINTS_PER_CLASS, rng)
    figure = report.plot_decision_regions(flat.W_, flat.b_, points[shown], sample_labels[shown],
                                          class_names=list(classes))
    from linclass.report.style import finish

    axes = figure.axes[0]
    axes.set_xlabel(f"first principal component ({share[0]:.0%} of the variance)")
    axes.set_ylabel(f"second principal component ({share[1]:.0%} of the variance)")
    figure.suptitle(f"Not the trained model: a separate {clf.loss} classifier trained on the 2-D PCA projection\n"
                    f"of {len(chosen)} training examples (training accuracy {accuracy:.0%} in 2-D)", fontsize=11)
    finish(figure, path)
    caption = (f"The geometric picture is drawn for a separate {clf.loss} classifier trained on the training "
               f"features projected onto their first two principal components ({share.sum():.0%} of the "
               f"variance), because the real model's {features.shape[1]}-dimensional regions cannot be drawn. "
               f"It reaches {accuracy:.0%} training accuracy in 2-D; {len(shown)} of the points are shown.")
    return path, caption


def _a_few_per_class(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ``per_class`` random examples of every class."""
    picked = [rng.permutation(np.flatnonzero(labels == k))[:per_class] for k in np.unique(labels)]
    return np.sort(np.concatenate(picked))
