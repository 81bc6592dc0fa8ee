"""The geometric interpretation: in the input space every class score is a plane over the points.

For two-dimensional inputs the picture can be drawn exactly. The score of class k, ``w_k · x + b_k``, is
zero on a line; ``w_k`` is that line's normal and points to where the score grows, and ``b_k`` shifts
the line away from the origin. Each point of the plane goes to the class whose score is highest there,
which cuts the plane into convex regions separated by straight boundaries.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from linclass.report.style import class_colormap, class_colors, finish, new_figure, report_style, shorten

RESOLUTION = 800  # grid points per side of the background
PLANE_BOX = (0.08, 0.08, 0.70, 0.75)  # the plane's place in the figure (left, bottom, width, height)
LEGEND_CORNER = (0.78, 0.83)  # the legend's upper left corner, right of the plane


def winning_class_grid(W: np.ndarray, b: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The class with the highest score at every point of a grid.

    Parameters
    ----------
    W : ndarray (K, 2)
    b : ndarray (K,)
    xs, ys : 1-D arrays
        The grid's coordinates along the first and the second input dimension.

    Returns
    -------
    ndarray (len(ys), len(xs)) of int
        ``argmax_k (W[k, 0] x + W[k, 1] y + b[k])`` at row y, column x (the layout of an image whose
        rows go up the y axis); ties go to the lower class index, as in ``argmax``.
    """
    W, b = _check_plane(W, b)
    scores = (np.asarray(xs, dtype=np.float64)[None, :, None] * W[:, 0]
              + np.asarray(ys, dtype=np.float64)[:, None, None] * W[:, 1] + b)
    return scores.argmax(axis=2)


def plot_decision_regions(W: np.ndarray, b: np.ndarray, X2d: np.ndarray, y: np.ndarray,
                          class_names: Sequence[str] | None = None,
                          path: str | os.PathLike | None = None) -> Figure:
    """Draw a 2-D linear classifier: its regions, the zero-score line and normal of each class, the data.

    Parameters
    ----------
    W : ndarray (K, 2)
    b : ndarray (K,)
    X2d : ndarray (N, 2)
        Points in the plane.
    y : int array (N,)
        Their classes, in ``0..K-1``.
    class_names : sequence of K str, optional
        Legend labels; "class 0", "class 1", ... when omitted.
    path : path-like, optional
        Where to save the picture as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        9 × 7 inches: the plane, equal scales on both axes, the legend at the right.
    """
    W, b = _check_plane(W, b)
    X2d = np.asarray(X2d, dtype=np.float64)
    y = np.asarray(y).ravel()
    if X2d.ndim != 2 or X2d.shape[1] != 2 or len(X2d) != len(y):
        raise ValueError(f"X2d has shape {np.shape(X2d)} and y {y.shape}: the picture needs N points of 2 "
                         "coordinates and N labels")
    n_classes = len(W)
    names = [f"class {k}" for k in range(n_classes)] if class_names is None else [str(n) for n in class_names]
    low, high = _view(X2d)
    xs, ys = np.linspace(low[0], high[0], RESOLUTION), np.linspace(low[1], high[1], RESOLUTION)
    colors = class_colors(n_classes)
    with report_style():
        figure = new_figure(9, 7, layout=None)
        axes = figure.add_axes(PLANE_BOX, anchor="N")  # an equal-scaled plane keeps to its box's top
        axes.imshow(winning_class_grid(W, b, xs, ys), origin="lower", extent=(low[0], high[0], low[1], high[1]),
                    cmap=class_colormap(n_classes, lighten=0.65), vmin=-0.5, vmax=n_classes - 0.5,
                    aspect="equal", interpolation="nearest")
        for k in range(n_classes):
            _draw_zero_line(axes, W[k], b[k], colors[k], low, high, stagger=(k + 0.5) / n_classes - 0.5)
        for k in range(n_classes):
            members = y == k
            axes.scatter(X2d[members, 0], X2d[members, 1], color=colors[k], edgecolors="black",
                         linewidths=0.6, s=30, zorder=3, label=shorten(names[k], 20))
        axes.set_xlim(low[0], high[0])
        axes.set_ylim(low[1], high[1])
        axes.set_xlabel("x₁")
        axes.set_ylabel("x₂")
        axes.set_title("Decision regions: each point of the plane goes to the class that scores highest\n"
                       "lines: wₖ · x + bₖ = 0;  arrows: wₖ, where class k's score grows",
                       fontsize=10)
        figure.legend(loc="upper left", bbox_to_anchor=LEGEND_CORNER, title="classes")
        return finish(figure, path)


def _check_plane(W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).ravel()
    if W.ndim != 2 or W.shape[1] != 2 or b.shape != (len(W),):
        raise ValueError(f"W has shape {W.shape} and b {b.shape}: expected W (K, 2) and b (K,) for 2-D inputs")
    return W, b


def _view(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The corners of a box around the points with a 15 % margin (a unit box around 0 without points)."""
    if len(points) == 0:
        return np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    low, high = points.min(axis=0), points.max(axis=0)
    extent = high - low
    margin = 0.15 * np.where(extent > 0, extent, 1.0)
    return low - margin, high + margin


def _draw_zero_line(axes: Axes, w: np.ndarray, b: float, color: np.ndarray, low: np.ndarray, high: np.ndarray,
                    stagger: float) -> None:
    """The line ``w · x + b = 0`` across the view, and an arrow along ``w`` starting on it.

    The arrows of different classes start at different places along their lines (``stagger`` in
    -0.5..0.5 of the view), since trained lines often cross near the middle of the data.
    """
    norm = np.hypot(*w)
    if norm == 0:
        return  # a constant score has no zero line
    normal, along = w / norm, np.array([-w[1], w[0]]) / norm
    centre = (low + high) / 2
    span = np.max(high - low)
    foot = centre - (centre @ normal + b / norm) * normal  # the point of the line nearest the centre
    reach = 2 * span
    ends = np.array([foot - reach * along, foot + reach * along])
    axes.plot(ends[:, 0], ends[:, 1], color=color, linewidth=2, zorder=2)
    start = foot + stagger * 0.6 * span * along
    if not _inside(start, low, high):
        start = foot
    if _inside(start, low, high):
        axes.annotate("", xy=start + 0.12 * span * normal, xytext=start, zorder=2.5,
                      arrowprops=dict(arrowstyle="-|>", color=color, linewidth=2, mutation_scale=18,
                                      shrinkA=0, shrinkB=0))


def _inside(point: np.ndarray, low: np.ndarray, high: np.ndarray) -> bool:
    return bool(np.all(point >= low) and np.all(point <= high))
