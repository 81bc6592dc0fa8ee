"""``repr`` of a tensor, laid out as PyTorch lays it out, so that printed values can be compared.

The rules are PyTorch's default print options:

* every element of a tensor is padded to one common width, so columns line up;
* floats are written with 4 decimals; as whole numbers (``1.``) when all of them are whole; and in
  scientific notation (``1.0000e-05``) when the nonzero magnitudes span more than a factor of 1000,
  or reach 1e8, or fall below 1e-4;
* a tensor of more than 1000 elements is summarised: 3 items at each end of every dimension, ``...``
  between them;
* lines wrap at 80 characters; the dtype is named unless it is float32, int64 or bool, and the
  ``grad_fn`` (or ``requires_grad=True``) follows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from linclass.tensor import Tensor

PRECISION = 4
THRESHOLD = 1000
EDGE_ITEMS = 3
LINE_WIDTH = 80
_PREFIX = "tensor("
_IMPLIED_DTYPES = (np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_))


def format_tensor(t: "Tensor") -> str:
    """The whole ``repr``: ``tensor(<values>, <suffixes>)``."""
    data = t.data
    indent = len(_PREFIX)
    suffixes = []
    if data.size == 0:
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
        if data.dtype != np.float32:
            suffixes.append(f"dtype={data.dtype}")
        body = "[]"
    else:
        if data.dtype not in _IMPLIED_DTYPES:
            suffixes.append(f"dtype={data.dtype}")
        summarize = data.size > THRESHOLD
        formatter = _Formatter(_summarized(data) if summarize else data)
        body = _nested(data, indent, summarize, formatter)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(_PREFIX + body, suffixes, indent)


class _Formatter:
    """Chooses one notation and one width for all the (shown) elements, and writes each."""

    def __init__(self, shown: np.ndarray) -> None:
        self.floating = shown.dtype.kind == "f"
        self.whole = True
        self.scientific = False
        self.width = 0
        if not self.floating:
            self.width = max(len(str(v)) for v in shown.ravel().tolist())
            return
        values = shown.astype(np.float64).ravel()
        shown_values = values[np.isfinite(values) & (values != 0)]  # zeros, NaN and inf do not decide
        self.width = 1
        if shown_values.size == 0:
            return
        magnitudes = np.abs(shown_values)
        low, high = magnitudes.min(), magnitudes.max()
        self.whole = bool(np.all(shown_values == np.ceil(shown_values)))
        self.scientific = bool(high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4)
        self.width = max(len(self.format(v).lstrip()) for v in shown_values.tolist())

    def format(self, value: float | int | bool) -> str:
        if not self.floating:
            text = str(value)
        elif self.scientific:
            text = f"{value:.{PRECISION}e}"
        elif self.whole:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRECISION}f}"
        return text.rjust(self.width)


def _nested(data: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    """The bracketed values of ``data``, one dimension at a time."""
    if data.ndim == 0:
        return formatter.format(data.item())
    if data.ndim == 1:
        return _vector(data, indent, summarize, formatter)
    rows = _rows(data, summarize)
    parts = ["..." if row is None else _nested(row, indent + 1, summarize, formatter) for row in rows]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _rows(data: np.ndarray, summarize: bool) -> list[np.ndarray | None]:
    """The sub-arrays along the first axis, with None standing for the elided middle."""
    if summarize and len(data) > 2 * EDGE_ITEMS:
        return [*data[:EDGE_ITEMS], None, *data[-EDGE_ITEMS:]]
    return list(data)


def _vector(data: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    """A 1-d tensor's values, wrapped so that no line passes the line width."""
    per_line = max(1, (LINE_WIDTH - indent) // (formatter.width + 2))
    if summarize and len(data) > 2 * EDGE_ITEMS:
        items = ([formatter.format(v) for v in data[:EDGE_ITEMS].tolist()] + [" ..."]
                 + [formatter.format(v) for v in data[-EDGE_ITEMS:].tolist()])
    else:
        items = [formatter.format(v) for v in data.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _summarized(data: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows, for choosing the notation and width from them alone."""
    if data.ndim == 0:
        return data
    if data.ndim == 1:
        return np.concatenate([data[:EDGE_ITEMS], data[-EDGE_ITEMS:]]) if len(data) > 2 * EDGE_ITEMS else data
    rows = [row for row in _rows(data, True) if row is not None]
    return np.concatenate([_summarized(row).ravel() for row in rows])


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """``text`` followed by ``, suffix`` each, on a new line where the line would grow too long."""
    parts = [text]
    line_length = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line_length + len(suffix) + 2 > LINE_WIDTH:
            parts.append(",\n" + " " * indent + suffix)
            line_length = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            line_length += len(suffix) + 2
    return "".join(parts) + ")"
