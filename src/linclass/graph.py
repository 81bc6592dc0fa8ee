"""Draw the computational graph behind a tensor, as the lecture draws its circuits.

Values flow left to right: leaves (inputs and parameters) in blue, operations in grey named like
PyTorch's ``grad_fn.name()`` (``MulBackward0``), the output in green, constants in white. Each box
shows its value and, for a leaf that requires grad, the gradient after ``backward()``: numbers as
numbers, arrays by their shape. :func:`to_dot` gives Graphviz's DOT text; :func:`draw` writes it to a
``.dot`` file and renders an SVG, PNG or PDF with Graphviz's ``dot`` program when it is installed;
:func:`show` gives a :class:`Drawing`, which a notebook displays inline as SVG.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from linclass.errors import LinclassError
from linclass.files import write_atomically
from linclass.tensor import Tensor, iter_nodes

FORMATS = ("dot", "svg", "png", "pdf")
_COLORS = {"leaf": "lightblue", "op": "lightgrey", "output": "darkolivegreen1", "constant": "white"}


def compact(array: np.ndarray) -> str:
    """A value for a label: a one-element array as its number (``-8``, ``0.5``), else its shape."""
    if array.size == 1:
        value = array.item()
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    return "shape " + "×".join(str(n) for n in array.shape)


def to_dot(tensor: Tensor, names: Mapping[str, Tensor] | None = None) -> str:
    """Graphviz DOT text of the graph that computed ``tensor``.

    Parameters
    ----------
    tensor : Tensor
        The output; its graph is walked back to the leaves.
    names : mapping of str to Tensor, optional
        Labels for tensors of the graph, e.g. ``{"x": x, "W": W}`` (as torchviz's ``params``).
    """
    drawing = _Drawing({key: name for name, t in (names or {}).items() for key in _keys(t)})
    if tensor.grad_fn is None:
        drawing.leaf(tensor, "leaf" if tensor.requires_grad else "constant")
    for node in iter_nodes(tensor):
        inputs = [drawing.input(edge) for edge in node.edges]
        kind = "output" if node is tensor.grad_fn else "op"
        vertex = drawing.add(id(node), kind, [node.name(), f"value {compact(node.value)}"])
        drawing.edges.extend(f"  {source} -> {vertex};" for source in inputs)
    lines = [
        "digraph computational_graph {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        *drawing.vertices, *drawing.edges, "}",
    ]
    return "\n".join(lines) + "\n"


def _keys(t: Tensor) -> tuple[int, ...]:
    """What stands for ``t`` in the graph: its node, or the leaf itself (a constant one by its values)."""
    return (id(t.grad_fn),) if t.grad_fn is not None else (id(t), id(t.data))


class _Drawing:
    """The boxes and arrows of a graph being drawn: ops, leaves and constants, each box once."""

    def __init__(self, name_of: dict[int, str]) -> None:
        self.name_of = name_of
        self.ids: dict[int, str] = {}
        self.vertices: list[str] = []
        self.edges: list[str] = []

    def add(self, key: int, kind: str, lines: list[str]) -> str:
        vertex = self.ids[key] = f"t{len(self.vertices)}"
        name = self.name_of.get(key)
        label = _escape("\n".join([name, *lines] if name else lines))
        self.vertices.append(f'  {vertex} [label="{label}", fillcolor={_COLORS[kind]}];')
        return vertex

    def leaf(self, t: Tensor, kind: str) -> str:
        grad = [] if kind == "constant" else ["grad None" if t.grad is None else f"grad {compact(t.grad.data)}"]
        return self.add(id(t), kind, [f"value {compact(t.data)}", *grad])

    def input(self, edge: object) -> str:
        """The box an edge comes from: the node or leaf drawn already, or a new constant's box."""
        if id(edge) in self.ids and not isinstance(edge, (bool, int, float)):
            return self.ids[id(edge)]
        if isinstance(edge, Tensor):
            return self.leaf(edge, "leaf")
        return self.add(id(edge), "constant", [compact(np.asarray(edge))])


def _escape(text: str) -> str:
    """Text for a double-quoted DOT string."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def draw(tensor: Tensor, path: str | os.PathLike, names: Mapping[str, Tensor] | None = None,
         format: str | None = None) -> Path:
    """Write the graph behind ``tensor`` to ``path``: always as DOT text, rendered when asked.

    Parameters
    ----------
    tensor : Tensor
        The output whose graph to draw (call ``backward()`` first to show gradients).
    path : path-like
        Where to write; the DOT text always goes to the same path with the suffix ``.dot``.
    names : mapping of str to Tensor, optional
        Labels for tensors of the graph.
    format : {"svg", "png", "pdf", "dot"}, optional
        By default, the suffix of ``path`` (``svg`` when it has none).

    Returns
    -------
    Path
        The file written last: the rendered image, or the ``.dot`` file for format "dot".

    Raises
    ------
    LinclassError
        When an image is asked for and Graphviz's ``dot`` is not installed (the ``.dot`` file is
        written all the same), or when ``dot`` fails.
    """
    path = Path(path)
    format = (format or path.suffix.lstrip(".") or "svg").lower()
    if format not in FORMATS:
        raise ValueError(f"graph format {format!r} of {path} is not supported; use one of {', '.join(FORMATS)}")
    dot_path = path.with_suffix(".dot")
    dot_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(dot_path, to_dot(tensor, names).encode())
    if format == "dot":
        return dot_path
    image = path if path.suffix else path.with_suffix(f".{format}")
    _render(dot_path, image, format)
    return image


def _render(dot_path: Path, image: Path, format: str) -> None:
    """Render ``dot_path`` to ``image`` with Graphviz's ``dot``, never leaving half an image."""
    if shutil.which("dot") is None:
        raise LinclassError(
            f"Graphviz's dot not found: apt-get install graphviz (the graph is in {dot_path}; "
            f"then run: dot -T{format} {dot_path} -o {image})"
        )
    write_atomically(image, _run_dot(dot_path.read_bytes(), format, str(dot_path)))


def _run_dot(dot: bytes, format: str, what: str) -> bytes:
    """Graphviz's rendering of the DOT text ``dot`` as ``format`` (``what`` names it in errors)."""
    program = shutil.which("dot")
    if program is None:
        raise LinclassError(f"Graphviz's dot not found: apt-get install graphviz to render {what}")
    try:
        result = subprocess.run([program, f"-T{format}"], input=dot, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise LinclassError(f"Graphviz's dot took over 120 s to render {what}; draw a smaller graph") from None
    if result.returncode != 0:
        message = (result.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise LinclassError(f"Graphviz's dot could not render {what} as {format}: {message}")
    return result.stdout


class Drawing:
    """The graph behind a tensor, drawn when shown: a notebook displays it inline as SVG.

    ``dot`` is its DOT text; :meth:`svg` renders it with Graphviz. Without Graphviz a notebook shows the
    DOT text and says how to get the picture.
    """

    def __init__(self, tensor: Tensor, names: Mapping[str, Tensor] | None = None) -> None:
        self.dot = to_dot(tensor, names)

    def svg(self) -> str:
        """The picture as SVG text (LinclassError when Graphviz's ``dot`` is missing or fails)."""
        return _run_dot(self.dot.encode(), "svg", "the graph").decode()

    def _repr_svg_(self) -> str | None:
        return self.svg() if shutil.which("dot") else None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        if shutil.which("dot"):
            return {"image/svg+xml": self.svg(), "text/plain": repr(self)}
        return {"text/plain": f"{self.dot}\n(apt-get install graphviz to see this graph drawn)"}

    def __repr__(self) -> str:
        return f"<graph of {self.dot.count(' -> ')} edges; display it in a notebook, or graph.draw() it to a file>"


def show(tensor: Tensor, names: Mapping[str, Tensor] | None = None) -> Drawing:
    """The graph behind ``tensor`` as a :class:`Drawing`: the last line of a notebook cell shows it."""
    return Drawing(tensor, names)
