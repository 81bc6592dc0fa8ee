"""The confusion matrix: which classes the classifier mistakes for which.

Entry (i, j) counts the test examples of true class i predicted as class j. The diagonal holds the
correct predictions; a bright cell off the diagonal names a pair of classes the linear templates cannot
tell apart (a shirt and a T-shirt, a 4 and a 9).
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from linclass.report.style import finish, new_figure, report_style, shorten

ANNOTATE_UP_TO = 20  # write the counts in the cells for at most this many classes


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Count the pairs (true class, predicted class).

    Parameters
    ----------
    y_true, y_pred : int arrays (N,)
        Class indices in ``0..n_classes-1``.
    n_classes : int
        K, the number of classes (some may never occur).

    Returns
    -------
    ndarray (K, K) of int64
        ``C[i, j]`` = the number of examples of class i predicted as class j.
    """
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}; give one prediction "
                         "per example")
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0
                            or labels.max() >= n_classes):
            raise ValueError(f"{name} must hold class indices in 0..{n_classes - 1}; found "
                             f"{labels.min()}..{labels.max()} ({labels.dtype})")
    pairs = y_true.astype(np.int64) * n_classes + y_pred
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], path: str | os.PathLike | None = None,
                          normalize: bool = True) -> Figure:
    """Draw a confusion matrix as a heat map, true classes down, predicted classes across.

    Parameters
    ----------
    cm : ndarray (K, K)
        Counts, as returned by :func:`confusion_matrix`.
    class_names : sequence of K str
    path : path-like, optional
        Where to save the picture as a PNG.
    normalize : bool
        Colour each row by its fractions (the share of class i predicted as j, so the diagonal is each
        class's recall) rather than by raw counts; rare classes then stand out as much as common ones.

    Returns
    -------
    matplotlib.figure.Figure
        Square-ish, about 0.45 inch per class (5.5 to 16 inches); the counts are written in the cells when
        K <= :data:`ANNOTATE_UP_TO`.
    """
    cm = np.asarray(cm)
    n_classes = len(cm)
    if cm.shape != (n_classes, n_classes) or len(class_names) != n_classes:
        raise ValueError(f"cm has shape {cm.shape} and class_names {len(class_names)} names; expected a "
                         "K×K matrix and K names")
    shown = _row_fractions(cm) if normalize else cm
    side = float(np.clip(0.45 * n_classes + 2.5, 5.5, 16))
    vmax = 1.0 if normalize else max(1, cm.max())
    accuracy = np.trace(cm) / max(1, cm.sum())
    with report_style():
        figure = new_figure(side + 1.2, side)
        axes = figure.subplots()
        image = axes.imshow(shown, cmap="Blues", vmin=0, vmax=vmax)
        colorbar = figure.colorbar(image, ax=axes, shrink=0.8)
        colorbar.set_label("fraction of the true class" if normalize else "number of examples")
        labels = [shorten(str(name), 16) for name in class_names]
        tick_size = 9 if n_classes <= 20 else 8 if n_classes <= 40 else 6  # 6 pt still fits 100 rows in 16"
        if max(map(len, labels)) <= 3:  # short names fit upright
            axes.set_xticks(range(n_classes), labels, fontsize=tick_size)
        elif n_classes > 40:
            axes.set_xticks(range(n_classes), labels, rotation=90, fontsize=tick_size)
        else:
            axes.set_xticks(range(n_classes), labels, rotation=45, ha="right", rotation_mode="anchor",
                            fontsize=tick_size)
        axes.set_yticks(range(n_classes), labels, fontsize=tick_size)
        axes.set_xlabel("predicted class")
        axes.set_ylabel("true class")
        axes.spines[:].set_visible(False)
        axes.set_title(f"Confusion matrix — accuracy {accuracy:.1%} on {cm.sum()} examples"
                       + ("\n(colour: share of each true class)" if normalize else ""))
        if n_classes <= ANNOTATE_UP_TO:
            _annotate_counts(axes, cm, shown / vmax)
        return finish(figure, path)


def _row_fractions(cm: np.ndarray) -> np.ndarray:
    """Each row divided by its sum; rows without examples stay 0."""
    totals = cm.sum(axis=1, keepdims=True)
    return cm / np.where(totals > 0, totals, 1)


def _annotate_counts(axes: Axes, cm: np.ndarray, darkness: np.ndarray) -> None:
    """Write the non-zero counts in their cells, white on dark cells and black on light ones."""
    size = 10 if len(cm) <= 10 else 8.5
    for i, j in zip(*np.nonzero(cm), strict=True):
        axes.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=size,
                  color="white" if darkness[i, j] > 0.5 else "black")
