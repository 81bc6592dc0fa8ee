"""The look shared by every report figure, and how a figure is made and saved.

Figures are built from :class:`matplotlib.figure.Figure` with an Agg canvas attached, never through
``pyplot``: no figure is registered globally, no backend is selected, and a program that has chosen its
own backend keeps it. The style is applied inside :func:`report_style` only, so a user's ``rcParams``
are the same before and after a call.
"""

from __future__ import annotations

import io

import os
from contextlib import contextmanager
from typing import Any, Iterator, Literal

import matplotlib
import matplotlib.style
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import offset_copy

from linclass.files import write_atomically

DPI = 100
CORRECT_COLOR = "#1a7f37"
WRONG_COLOR = "#c62828"
RAW_COLOR = "#9ecae1"
LINE_COLOR = "#08519c"
VAL_COLOR = "#d94801"

_RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 13,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "image.interpolation": "nearest",
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
}


@contextmanager
def report_style() -> Iterator[None]:
    """Draw with matplotlib's defaults plus the report's settings; the caller's rcParams come back after."""
    with matplotlib.style.context(["default", _RC]):
        yield


class ReportFigure(Figure):
    """A figure of the report, which a notebook shows inline as a PNG, whether or not pyplot is in use."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()


def new_figure(width: float, height: float, layout: Literal["tight", "constrained"] | None = "tight") -> Figure:
    """A ``width`` × ``height`` inch figure at :data:`DPI`, laid out so labels do not overlap.

    ``layout`` is matplotlib's layout engine: ``"tight"`` by default, one pass of measuring the texts;
    ``"constrained"`` for figures that need it (a colorbar shared by several panels), at about twice
    the cost; None when the caller places the axes itself (a figure of one plot and a legend).
    """
    figure = ReportFigure(figsize=(width, height), dpi=DPI, layout=layout, facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def image_grid(rows: int, columns: int, cell: tuple[float, float], top: float, above: float,
               below: float = 0.0, gap: float = 0.1) -> tuple[Figure, np.ndarray]:
    """A figure of ``rows`` × ``columns`` image panels at fixed places, and its axes (rows × columns).

    Each panel takes a ``cell`` of (width, height) inches: ``above`` inches for its title, ``below`` for
    a line under it, ``gap`` between neighbours, the image in the rest; ``top`` inches at the top hold
    the figure's title. The places are computed here rather than by a layout engine: for a grid of
    many titled panels, constrained layout measured every title again and took over half the drawing
    time, for panels whose sizes are known in advance.
    """
    width, height = cell[0] * columns, cell[1] * rows + top
    figure = ReportFigure(figsize=(width, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    axes = np.empty((rows, columns), dtype=object)
    for row in range(rows):
        for column in range(columns):
            box_bottom = height - top - (row + 1) * cell[1] + below
            axes[row, column] = figure.add_axes((
                (column * cell[0] + gap / 2) / width, box_bottom / height,
                (cell[0] - gap) / width, (cell[1] - above - below - gap / 2) / height))
    return figure, axes


PANEL_TITLE = "panel title"  # the gid that marks a panel's title among its texts


def panel_title(axes: Axes, text: str, **style: Any) -> None:
    """``text`` centred above an image panel, as ``set_title`` would put it, without its placement pass:
    ``set_title`` measures the panel's axis at every draw to keep the title clear of tick labels, which
    an image panel does not show, and for a grid of panels that took a third of the drawing."""
    above = offset_copy(axes.transAxes, fig=axes.get_figure(root=True), y=matplotlib.rcParams["axes.titlepad"],
                        units="points")
    axes.text(0.5, 1.0, text, transform=above, ha="center", va="bottom", gid=PANEL_TITLE, **style)


def panel_title_of(axes: Axes) -> Text:
    """The title :func:`panel_title` gave an image panel."""
    return next(text for text in axes.texts if text.get_gid() == PANEL_TITLE)


def finish(figure: Figure, path: str | os.PathLike | None) -> Figure:
    """Save ``figure`` as a PNG at ``path`` (when given) and return it.

    The PNG is written to a temporary file in the same folder and moved into place, so ``path`` is
    either the old file or the whole new one, never half a picture.
    """
    if path is not None:
        write_atomically(path, lambda stream: figure.savefig(stream, format="png", dpi=DPI))
    return figure


def class_colors(n_classes: int) -> np.ndarray:
    """``n_classes`` distinct RGBA colours: the qualitative tab10/tab20 palettes, then evenly spaced hues."""
    if n_classes <= 10:
        return matplotlib.colormaps["tab10"](np.arange(n_classes))
    if n_classes <= 20:
        return matplotlib.colormaps["tab20"](np.arange(n_classes))
    return matplotlib.colormaps["hsv"](np.arange(n_classes) / n_classes)


def class_colormap(n_classes: int, lighten: float = 0.0) -> ListedColormap:
    """A colormap whose entry k is class k's colour, mixed with white by ``lighten`` (0: unchanged)."""
    colors = class_colors(n_classes)[:, :3]
    return ListedColormap(colors + (1.0 - colors) * lighten)


def grid_shape(n: int, min_columns: int = 5) -> tuple[int, int]:
    """Rows and columns of a near-square grid of ``n`` panels, at least ``min_columns`` wide when n allows."""
    columns = min(n, max(min_columns, int(np.ceil(np.sqrt(n)))))
    return int(np.ceil(n / columns)), columns


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis when it was longer."""
    return text if len(text) <= width else text[: width - 1] + "…"
