"""Learning curves: the loss per iteration and the accuracy per epoch.

The loss of one mini-batch is noisy, so the raw values are drawn faintly and a moving average on top;
when the loss falls by more than a decade the y axis is logarithmic, so the late, slow part of training
stays visible. The accuracy panel compares training and validation accuracy epoch by epoch: a widening
gap means overfitting, two low curves mean underfitting (or a learning rate that is off).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import AutoLocator

from linclass.report.style import LINE_COLOR, RAW_COLOR, VAL_COLOR, finish, new_figure, report_style

LOG_SCALE_RATIO = 10.0  # use a log y axis once the largest loss is ten times the smallest


def smooth(values: np.ndarray, window: int | None = None) -> np.ndarray:
    """Centred moving average: each value averaged with the values up to ``window // 2`` on either side.

    Centred, so the smooth curve does not lag behind a falling loss. Near the ends the window keeps its
    reach on the side that has values and loses it on the other, so the first and last points are the
    averages of the ``window // 2 + 1`` first and last losses: one noisy batch at the end (a small last
    batch, a lucky one) does not pull the curve down with it. ``window`` defaults to about 1/25 of the
    run. The result has the length of ``values``.
    """
    values = np.asarray(values, dtype=np.float64)
    if window is None:
        window = max(1, len(values) // 25)
    half = window // 2
    sums = np.concatenate([[0.0], np.cumsum(values)])
    centres = np.arange(len(values))
    low, high = np.maximum(centres - half, 0), np.minimum(centres + half + 1, len(values))
    return (sums[high] - sums[low]) / (high - low)


def plot_history(history: Mapping[str, Any], path: str | os.PathLike | None = None) -> Figure:
    """Draw a training run: the loss of every iteration, and the accuracy of every epoch.

    Parameters
    ----------
    history : dict
        A classifier's ``history_``: ``"loss"`` (the total loss of each iteration), ``"epochs"`` (one
        record per epoch with ``"epoch"``, ``"train_accuracy"`` and ``"val_accuracy"``, which may be
        None), ``"best_epoch"`` (the epoch number with the best validation accuracy, or None) and
        ``"stopped_early"``; and ``"kept_epoch"`` (which training records, but older histories lack),
        the epoch whose weights the model kept (the best one with early stopping, the last one
        without), marked on the accuracy curve. The best
        validation epoch is drawn as such: without ``"kept_epoch"`` nothing claims it is the model's.
    path : path-like, optional
        Where to save the picture as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels side by side, 12 × 4.5 inches at 100 dpi.
    """
    with report_style():
        figure = new_figure(12, 4.5)
        loss_axes, accuracy_axes = figure.subplots(1, 2)
        _draw_loss(loss_axes, np.asarray(history.get("loss", []), dtype=np.float64))
        _draw_accuracy(accuracy_axes, history.get("epochs", []), history.get("best_epoch"),
                       history.get("kept_epoch"))
        if history.get("stopped_early"):
            figure.suptitle("Training stopped early: validation accuracy had stopped improving")
        return finish(figure, path)


def _draw_loss(axes: Axes, loss: np.ndarray) -> None:
    axes.set_title("Loss per iteration (mini-batch)")
    axes.set_xlabel("iteration")
    axes.set_ylabel("total loss (data + regularization)")
    finite = loss[np.isfinite(loss)]
    if len(finite) == 0:
        _say_nothing(axes, "no iterations recorded")
        return
    iterations = np.arange(1, len(loss) + 1)
    axes.plot(iterations, loss, color=RAW_COLOR, linewidth=0.8, label="each iteration")
    axes.plot(iterations, smooth(loss), color=LINE_COLOR, linewidth=2, label="moving average")
    if finite.min() > 0 and finite.max() / finite.min() >= LOG_SCALE_RATIO:
        axes.set_yscale("log")
        axes.set_ylabel("total loss (log scale)")
    axes.set_xlim(1, max(2, len(loss)))
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper right")


def _draw_accuracy(axes: Axes, epochs: list[Mapping[str, Any]], best_epoch: int | None,
                   kept_epoch: int | None = None) -> None:
    axes.set_title("Accuracy per epoch")
    axes.set_xlabel("epoch")
    axes.set_ylabel("accuracy")
    if not epochs:
        _say_nothing(axes, "no epochs recorded")
        return
    numbers = np.array([record["epoch"] for record in epochs])
    train = _column(epochs, "train_accuracy")
    val = _column(epochs, "val_accuracy")
    marker = "o" if len(epochs) <= 40 else None
    axes.plot(numbers, train, color=LINE_COLOR, marker=marker, markersize=4, label="training (during the epoch)")
    if np.isfinite(val).any():
        axes.plot(numbers, val, color=VAL_COLOR, marker=marker, markersize=4, label="validation (after it)")
    if best_epoch is not None and best_epoch in numbers:
        best_val = val[numbers == best_epoch][0]
        label = f"best epoch {best_epoch} on validation"
        if np.isfinite(best_val):
            label += f" ({best_val:.1%})"
        axes.axvline(best_epoch, color="0.4", linestyle="--", linewidth=1, label=label)
    if kept_epoch is not None and kept_epoch in numbers:
        _mark_kept_epoch(axes, numbers, val if np.isfinite(val).any() else train, kept_epoch)
    axes.set_ylim(*_accuracy_limits(train, val))
    axes.set_xlim(numbers.min() - 0.5, numbers.max() + 0.5)
    epoch_ticks = AutoLocator()  # matplotlib's default ticks, at whole epochs only
    epoch_ticks.set_params(integer=True)
    axes.xaxis.set_major_locator(epoch_ticks)
    axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right")


def _mark_kept_epoch(axes: Axes, numbers: np.ndarray, curve: np.ndarray, kept_epoch: int) -> None:
    """A star on ``curve`` at the epoch whose weights the model kept, so the picture says which model it is."""
    last = " (the last)" if kept_epoch == numbers.max() else ""
    axes.scatter([kept_epoch], curve[numbers == kept_epoch], marker="*", s=160, color="black", zorder=3,
                 label=f"model kept: epoch {kept_epoch}{last}")


def _column(epochs: list[Mapping[str, Any]], key: str) -> np.ndarray:
    """One field of every epoch record as floats, NaN where it is missing or None."""
    return np.array([np.nan if record.get(key) is None else record[key] for record in epochs], dtype=float)


def _accuracy_limits(*curves: np.ndarray) -> tuple[float, float]:
    """A y range that shows every accuracy with a margin, within 0..1 (accuracies near 1 stay readable)."""
    values = np.concatenate([curve[np.isfinite(curve)] for curve in curves])
    if len(values) == 0:
        return 0.0, 1.0
    low, high = values.min(), values.max()
    margin = max(0.02, 0.1 * (high - low))
    return max(0.0, low - margin), min(1.005, high + margin)


def _say_nothing(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, transform=axes.transAxes, ha="center", va="center", color="0.4")
    axes.set_xticks([])
    axes.set_yticks([])
