"""Graph drawing: the DOT text of the lecture's example, and rendering with (or without) Graphviz."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

import linclass as lc
from linclass import graph
from linclass.errors import LinclassError
from conftest import need_program


def lecture_example(use_maximum: bool = False):
    x, y, z, w = (lc.tensor(v, requires_grad=True) for v in (3.0, -4.0, 2.0, -1.0))
    q = lc.maximum(z, w) if use_maximum else max(z, w)
    f = 2 * (x * y + q)
    f.backward()
    return f, {"x": x, "y": y, "z": z, "w": w}


def labels(dot: str) -> list[str]:
    return [label.replace("\\n", "\n") for label in re.findall(r'label="((?:[^"\\]|\\.)*)"', dot)]


def edges(dot: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(t\d+) -> (t\d+);$", dot, flags=re.MULTILINE)


def test_lecture_graph_shows_ops_leaves_values_and_gradients():
    f, names = lecture_example()
    dot = graph.to_dot(f, names=names)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert sorted(labels(dot)) == sorted([
        "x\nvalue 3\ngrad -8", "y\nvalue -4\ngrad 6", "z\nvalue 2\ngrad 2", "2",
        "MulBackward0\nvalue -12", "AddBackward0\nvalue -10", "MulBackward0\nvalue -20",
    ])  # w is not in the graph: Python's max returned z itself
    assert len(edges(dot)) == 6  # x, y -> mul; mul, z -> add; 2, add -> mul


def test_maximum_gate_appears_with_w_and_its_zero_gradient():
    f, names = lecture_example(use_maximum=True)
    found = labels(graph.to_dot(f, names={**names, "f": f}))
    assert "MaximumBackward0\nvalue 2" in found and "w\nvalue -1\ngrad 0" in found
    assert "f\nMulBackward0\nvalue -20" in found


def test_edges_follow_the_data_flow():
    x = lc.tensor(1.0, requires_grad=True)
    y = x.exp()
    dot = graph.to_dot(y, names={"x": x})
    ids = {label.split("\\n")[0]: node for node, label in re.findall(r'(t\d+) \[label="([^"]*)"', dot)}
    assert edges(dot) == [(ids["x"], ids["ExpBackward0"])]


def test_arrays_show_their_shape_and_a_leaf_without_gradient_says_so():
    W = lc.tensor(np.ones((3, 4)), requires_grad=True)
    scores = W @ lc.tensor(np.ones(4))
    found = labels(graph.to_dot(scores, names={"W": W}))
    assert "W\nvalue shape 3×4\ngrad None" in found and "MvBackward0\nvalue shape 3" in found


def test_compact_values():
    assert graph.compact(np.array(-8.0)) == "-8" and graph.compact(np.array([0.5])) == "0.5"
    assert graph.compact(np.array(1 / 3)) == "0.3333" and graph.compact(np.array(7)) == "7"
    assert graph.compact(np.zeros((2, 5))) == "shape 2×5"


def test_names_are_escaped():
    x = lc.tensor(1.0, requires_grad=True)
    dot = graph.to_dot(x * 2, names={'say "hi"\\': x})
    assert 'label="say \\"hi\\"\\\\\\nvalue 1\\ngrad None"' in dot


def test_a_deep_graph_is_drawn_without_recursion():
    x = lc.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    assert graph.to_dot(y).count("AddBackward0") == 5000


def test_draw_dot_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    f, names = lecture_example()
    written = graph.draw(f, tmp_path / "lecture.dot", names=names)
    assert written == tmp_path / "lecture.dot" and written.read_text() == graph.to_dot(f, names)


def test_draw_svg_with_graphviz(tmp_path):
    need_program("dot", "graphviz")
    f, names = lecture_example()
    written = graph.draw(f, tmp_path / "sub" / "lecture.svg", names=names)
    svg = html.unescape(written.read_text())  # Graphviz writes "-" as "&#45;"
    assert written.name == "lecture.svg" and svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ("MulBackward0", "AddBackward0", "grad -8"):
        assert text in svg
    assert (tmp_path / "sub" / "lecture.dot").exists()
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["lecture.dot", "lecture.svg"]


def test_draw_png_with_graphviz(tmp_path):
    need_program("dot", "graphviz")
    f, _ = lecture_example()
    written = graph.draw(f, tmp_path / "lecture.png")
    assert written.read_bytes().startswith(b"\x89PNG")


def test_missing_dot_is_a_clear_error_after_writing_the_dot_file(tmp_path, monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    f, _ = lecture_example()
    with pytest.raises(LinclassError, match="Graphviz's dot not found: apt-get install graphviz") as error:
        graph.draw(f, tmp_path / "lecture.svg")
    assert "\n" not in str(error.value) and str(tmp_path / "lecture.dot") in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lecture.dot"]


def test_a_failing_dot_is_an_error_and_leaves_no_image(tmp_path, monkeypatch):
    false = need_program("false", "coreutils")
    monkeypatch.setattr(graph.shutil, "which", lambda name: false)
    f, _ = lecture_example()
    with pytest.raises(LinclassError, match="could not render"):
        graph.draw(f, tmp_path / "lecture.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lecture.dot"]


def test_unknown_format_is_refused(tmp_path):
    f, _ = lecture_example()
    with pytest.raises(ValueError, match="jpg"):
        graph.draw(f, tmp_path / "lecture.jpg")
