"""Test images with what the classifier believes about them: "82% cat / 15% dog / 2% hat".

Seeing individual predictions, right and wrong, says more to a student than one accuracy number: which
mistakes are understandable (a pullover taken for a coat) and how confident the classifier is when it
is wrong.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from linclass.report.style import CORRECT_COLOR, WRONG_COLOR, finish, image_grid, panel_title, report_style, shorten


def top_predictions(probabilities: np.ndarray, class_names: Sequence[str], k: int = 3) -> list[str]:
    """The ``k`` most probable classes of one example, best first, as ``"82% cat"`` lines."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    best = np.argsort(-probabilities, kind="stable")[:k]
    return [f"{probabilities[j]:.0%} {class_names[j]}" for j in best]


def plot_examples(images: np.ndarray, true_labels: np.ndarray, probabilities: np.ndarray,
                  class_names: Sequence[str], path: str | os.PathLike | None = None, k: int = 3, n: int = 16,
                  seed: int = 0) -> Figure:
    """Show ``n`` test images, each with its ``k`` most probable classes, green when right, red when wrong.

    Parameters
    ----------
    images : ndarray (N, H, W) or (N, H, W, C)
        The images as a person sees them (uint8 0..255, or floats in 0..1), not preprocessed.
    true_labels : int array (N,)
    probabilities : ndarray (N, K)
        Each row the classifier's probabilities (softmax of the scores); the top one is the prediction.
    class_names : sequence of K str
    path : path-like, optional
        Where to save the picture as a PNG.
    k : int
        How many classes to list under each image.
    n : int
        How many images to show (all when there are fewer), drawn at random without replacement.
    seed : int
        Seed of that draw, so the same run shows the same images.

    Returns
    -------
    matplotlib.figure.Figure
        A grid of 2.3 inch wide panels, four to a row for 16 images.
    """
    images = np.asarray(images)
    true_labels = np.asarray(true_labels).ravel()
    probabilities = np.asarray(probabilities)
    if images.ndim not in (3, 4) or not len(images) == len(true_labels) == len(probabilities):
        raise ValueError(f"images {images.shape}, true_labels {true_labels.shape} and probabilities "
                         f"{probabilities.shape}: expected N images (N, H, W[, C]) with N labels and N rows")
    chosen = np.random.default_rng(seed).choice(len(images), size=min(n, len(images)), replace=False)
    columns = max(1, int(np.ceil(np.sqrt(len(chosen)))))
    rows = max(1, int(np.ceil(len(chosen) / columns)))
    with report_style():
        figure, grid = image_grid(rows, columns, cell=(2.3, 1.9 + 0.2 * k), top=0.6, above=0.17 * k + 0.1,
                                  below=0.3)
        for position, axes in enumerate(grid.ravel()):
            axes.set_axis_off()
            if position < len(chosen):
                i = chosen[position]
                _draw_example(axes, images[i], int(true_labels[i]), probabilities[i], class_names, k)
        figure.suptitle(f"Test images and the classifier's top {k} classes (green: right, red: wrong)")
        return finish(figure, path)


def _draw_example(axes: Axes, image: np.ndarray, true_label: int, probabilities: np.ndarray,
                  class_names: Sequence[str], k: int) -> None:
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        axes.imshow(image, cmap="gray", vmin=0, vmax=255 if image.dtype == np.uint8 else 1)
    else:
        axes.imshow(image)
    correct = int(np.argmax(probabilities)) == true_label
    lines = [shorten(line, 22) for line in top_predictions(probabilities, class_names, k)]
    panel_title(axes, "\n".join(lines), color=CORRECT_COLOR if correct else WRONG_COLOR, fontsize=9,
                fontweight="bold" if not correct else "normal")
    mark = "✓" if correct else "✗"
    axes.text(0.5, -0.04, f"{mark} true: {shorten(str(class_names[true_label]), 16)}", transform=axes.transAxes,
              ha="center", va="top", fontsize=9, color=CORRECT_COLOR if correct else WRONG_COLOR)
