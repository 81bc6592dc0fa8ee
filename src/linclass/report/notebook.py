"""What a fitted classifier shows of itself in a notebook: its templates and its learning curves.

A classifier displayed in Jupyter shows scikit-learn's estimator diagram, and below it, once fitted, the
pictures of the run report: the templates (each class's row of ``W``, or for a network what its first
hidden units look for) when the features are an image, and the loss and accuracies of its training.
The pictures are embedded PNGs, so a saved notebook keeps them.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from linclass.report.curves import plot_history
from linclass.report.templates import plot_templates

__all__ = ["figures_html", "image_shape_of", "SHOWN_UNITS"]

SHOWN_UNITS = 20
"""The hidden units whose templates a network shows (the first ones)."""


def figures_html(clf: Any) -> str:
    """The fitted classifier's pictures as HTML (empty before ``fit``)."""
    if not all(hasattr(clf, name) for name in clf.FITTED):
        return ""
    parts = []
    shape = image_shape_of(clf)
    if shape is not None:
        if hasattr(clf, "W_"):
            names = [str(name) for name in (getattr(clf, "metadata_", None) or {}).get("classes") or clf.classes_]
            parts.append(_png(plot_templates(clf.W_, shape, names)))
        else:
            units = clf.coefs_[0].T
            parts.append(_png(plot_templates(units, shape, [f"unit {i}" for i in range(len(units))],
                                             what="hidden unit", most=SHOWN_UNITS)))
    history = getattr(clf, "history_", None)
    if history and history.get("epochs"):
        parts.append(_png(plot_history(history)))
    return "".join(f'<div><img style="max-width: 100%" src="data:image/png;base64,{data}"></div>' for data in parts)


def image_shape_of(clf: Any) -> tuple[int, ...] | None:
    """The shape of one input image: the model file's metadata says it, or square greyscale images are
    assumed when the number of features is a square of at least 4×4; None for plain feature vectors."""
    metadata = getattr(clf, "metadata_", None) or {}
    shape = metadata.get("image_shape")
    if shape is not None and len(shape) in (2, 3):
        return tuple(int(n) for n in shape)
    side = math.isqrt(int(clf.n_features_in_))
    return (side, side) if side >= 4 and side * side == clf.n_features_in_ else None


def _png(figure: Any) -> str:
    """A figure (made without pyplot, see :mod:`linclass.report.style`) as base64 PNG text."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
