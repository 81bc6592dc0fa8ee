"""The hyperparameter search: validation accuracy over learning rate × regularization strength.

Both hyperparameters matter by orders of magnitude, so they are searched and drawn on log axes, as in
the CS231n notebooks. A full grid is drawn as coloured cells (the best one outlined in red), a random
search as coloured points (the best one starred). Usually a diagonal band of good settings appears: a
stronger regularization wants a smaller step. Diverged trials (no accuracy) are grey.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from linclass.report.style import finish, new_figure, report_style

CMAP = "viridis"
BEST_COLOR = "#e31a1c"
ANNOTATE_UP_TO = 64  # write the accuracy in the cells of grids with at most this many cells


def log_positions(values: npt.ArrayLike) -> np.ndarray:
    """``log10`` of each value, a zero (no regularization) placed one decade below the smallest positive."""
    values = np.asarray(values, dtype=np.float64)
    if (values < 0).any():
        raise ValueError(f"learning rates and regularization strengths must be >= 0, found {values.min()}")
    positive = values[values > 0]
    zero_at = np.floor(np.log10(positive.min())) - 1 if len(positive) else 0.0
    with np.errstate(divide="ignore"):
        return np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), zero_at)


def plot_tune_heatmap(trials: Sequence[Mapping[str, Any]], path: str | os.PathLike | None = None) -> Figure:
    """Draw the validation accuracy of each trial of a search over learning rate and regularization.

    Parameters
    ----------
    trials : sequence of dict
        Each with ``"lr"``, ``"reg"`` and ``"val_accuracy"`` (None or NaN for a diverged trial), and
        optionally ``"loss"``: with several losses there is one panel per loss, on a common colour scale.
    path : path-like, optional
        Where to save the picture as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One 5.5 inch wide panel per loss and a colorbar, 5.2 inches high.
    """
    if not trials:
        raise ValueError("trials is empty: there is no search to draw")
    lr = log_positions([trial["lr"] for trial in trials])
    reg = log_positions([trial["reg"] for trial in trials])
    accuracy = np.array([np.nan if trial.get("val_accuracy") is None else trial["val_accuracy"]
                         for trial in trials], dtype=np.float64)
    losses = np.array([str(trial.get("loss", "")) for trial in trials])
    names = sorted(set(losses))
    finite = accuracy[np.isfinite(accuracy)]
    norm = Normalize(finite.min(), finite.max()) if len(finite) else Normalize(0, 1)
    with report_style():
        figure = new_figure(5.5 * len(names) + 1.6, 5.2, layout="constrained")  # a colorbar for all panels
        panels = figure.subplots(1, len(names), squeeze=False, sharex=True, sharey=True).ravel()
        for axes, name in zip(panels, names, strict=True):
            mine = losses == name
            mappable = _draw_panel(axes, lr[mine], reg[mine], accuracy[mine], norm)
            best = _best(accuracy[mine])
            trial = [t for t, keep in zip(trials, mine, strict=True) if keep][best] if best is not None else None
            axes.set_title(_panel_title(name, trial))
            _label_axes(axes, [t["lr"] for t in trials], lr, [t["reg"] for t in trials], reg)
        for axes in panels[1:]:
            axes.set_ylabel("")
        figure.colorbar(mappable, ax=list(panels), shrink=0.85).set_label("validation accuracy")
        figure.suptitle("Hyperparameter search (red: the best trial, grey: diverged)", fontsize=12)
        return finish(figure, path)


def _draw_panel(axes: Axes, lr: np.ndarray, reg: np.ndarray, accuracy: np.ndarray,
                norm: Normalize) -> ScalarMappable:
    """Cells for a full grid, points otherwise; returns the artist that carries the colours."""
    lr_values, reg_values = np.unique(lr), np.unique(reg)
    pairs = set(zip(lr.tolist(), reg.tolist(), strict=True))
    if len(pairs) == len(lr) == len(lr_values) * len(reg_values) and min(len(lr_values), len(reg_values)) > 1:
        return _draw_grid(axes, lr, reg, accuracy, lr_values, reg_values, norm)
    return _draw_points(axes, lr, reg, accuracy, norm)


def _draw_grid(axes: Axes, lr: np.ndarray, reg: np.ndarray, accuracy: np.ndarray, lr_values: np.ndarray,
               reg_values: np.ndarray, norm: Normalize) -> ScalarMappable:
    """One cell per trial, the best cell outlined in red, accuracies written in the cells of small grids."""
    rows, columns = np.searchsorted(reg_values, reg), np.searchsorted(lr_values, lr)
    grid = np.full((len(reg_values), len(lr_values)), np.nan)
    grid[rows, columns] = accuracy
    x_edges, y_edges = _edges(lr_values), _edges(reg_values)
    mesh = axes.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(grid), cmap=_colormap(), norm=norm,
                           edgecolors="white", linewidth=1.5)
    best = _best(accuracy)
    if best is not None:
        i, j = rows[best], columns[best]
        axes.add_patch(Rectangle((x_edges[j], y_edges[i]), x_edges[j + 1] - x_edges[j], y_edges[i + 1] - y_edges[i],
                                 fill=False, edgecolor=BEST_COLOR, linewidth=3, zorder=3))
    if grid.size <= ANNOTATE_UP_TO:
        for i, j in np.ndindex(grid.shape):
            value = grid[i, j]
            dark = np.isfinite(value) and norm(value) < 0.6
            axes.text(lr_values[j], reg_values[i], "—" if np.isnan(value) else f"{value:.1%}", ha="center",
                      va="center", fontsize=9, color="white" if dark else "black",
                      fontweight="bold" if best is not None and (i, j) == (rows[best], columns[best]) else "normal")
    return mesh


def _draw_points(axes: Axes, lr: np.ndarray, reg: np.ndarray, accuracy: np.ndarray,
                 norm: Normalize) -> ScalarMappable:
    """One point per trial, the best one starred, diverged ones as grey crosses."""
    ok = np.isfinite(accuracy)
    axes.scatter(lr[~ok], reg[~ok], marker="x", s=50, color="0.6", linewidths=1.5)
    points = axes.scatter(lr[ok], reg[ok], c=accuracy[ok], cmap=_colormap(), norm=norm, s=90,
                          edgecolors="0.3", linewidths=0.5, zorder=3)
    best = _best(accuracy)
    if best is not None:
        axes.scatter(lr[best], reg[best], marker="*", s=420, color=BEST_COLOR, edgecolors="white",
                     linewidths=1.2, zorder=4)
    axes.margins(0.08)
    return points


def _colormap() -> Colormap:
    """The accuracy colormap, grey where there is no accuracy (a diverged trial)."""
    return matplotlib.colormaps[CMAP].with_extremes(bad="0.85")


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges halfway between neighbouring centres, the outer cells as wide as their neighbours."""
    middle = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - middle[0]], middle, [2 * centres[-1] - middle[-1]]])


def _best(accuracy: np.ndarray) -> int | None:
    return int(np.nanargmax(accuracy)) if np.isfinite(accuracy).any() else None


def _panel_title(loss: str, trial: Mapping[str, Any] | None) -> str:
    head = f"loss: {loss}" if loss else "validation accuracy"
    if trial is None:
        return f"{head}\nevery trial diverged"
    return f"{head}\nbest {trial['val_accuracy']:.1%} at lr = {short_number(trial['lr'])}, " \
           f"λ = {short_number(trial['reg'])}"


def _label_axes(axes: Axes, lr_values: Sequence[float], lr_positions: np.ndarray, reg_values: Sequence[float],
                reg_positions: np.ndarray) -> None:
    for axis, values, positions in ((axes.xaxis, lr_values, lr_positions), (axes.yaxis, reg_values, reg_positions)):
        ticks, labels = _ticks(np.asarray(values, dtype=np.float64), positions)
        axis.set_ticks(ticks, labels)
    axes.set_xlabel("learning rate (log scale)")
    axes.set_ylabel("regularization strength λ (log scale)")


def _ticks(values: np.ndarray, positions: np.ndarray) -> tuple[list[float], list[str]]:
    """Tick at every value searched when there are few, else at every decade (and at 0 when searched)."""
    unique_positions, first = np.unique(positions, return_index=True)
    if len(unique_positions) <= 10:
        return unique_positions.tolist(), [short_number(values[i]) for i in first]
    decades = np.arange(np.ceil(positions[values > 0].min()), np.floor(positions[values > 0].max()) + 1)
    ticks, labels = decades.tolist(), [short_number(10.0 ** d) for d in decades]
    if (values == 0).any():
        ticks.insert(0, float(positions[values == 0][0]))
        labels.insert(0, "0")
    return ticks, labels


def short_number(value: float) -> str:
    """A hyperparameter as people write it, to two significant digits: ``3e-4``, ``0.01``, ``250``, ``0``."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.1e}".split("e")
    if -3 <= int(exponent) <= 2:
        return np.format_float_positional(value, precision=2, fractional=False, trim="-")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
