"""Where linclass meets a notebook: graphs drawn inline as SVG, a classifier that shows its templates and
curves, and the lecture notebook run from top to bottom."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import linclass as lc
from conftest import _missing, need_fashion_mnist, need_module

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "lecture.ipynb"


def slide_circuit():
    x, y, z, w = (lc.tensor(value, requires_grad=True) for value in (3., -4., 2., -1.))
    f = 2 * (x * y + max(z, w))
    f.backward()
    return f


def test_a_drawn_graph_shows_itself_as_svg():
    if shutil.which("dot") is None:
        _missing("Graphviz's dot is not installed: apt-get install graphviz")
    drawing = lc.graph.show(slide_circuit())
    svg = drawing._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "MulBackward0" in svg
    bundle = drawing._repr_mimebundle_()
    assert bundle["image/svg+xml"] == svg and "edges" in bundle["text/plain"]


def test_without_graphviz_a_graph_shows_its_dot_text_and_how_to_draw_it(monkeypatch):
    monkeypatch.setattr(lc.graph.shutil, "which", lambda name: None)
    drawing = lc.graph.show(slide_circuit())
    assert drawing._repr_svg_() is None
    text = drawing._repr_mimebundle_()["text/plain"]
    assert text.startswith("digraph") and "apt-get install graphviz" in text


def images_in(html: str) -> int:
    return len(re.findall(r'<img[^>]*src="data:image/png;base64,', html))


def test_a_classifier_shows_its_diagram_and_once_fitted_its_templates_and_curves():
    data = lc.datasets.load("digits")
    features = lc.datasets.Preprocessor().fit(data.X_train).transform(data.X_train)
    unfitted = lc.LinearClassifier(epochs=2)
    assert "LinearClassifier" in unfitted._repr_html_() and images_in(unfitted._repr_html_()) == 0
    fitted = unfitted.fit(features, data.y_train)
    html = fitted._repr_mimebundle_()["text/html"]
    assert "LinearClassifier" in html and images_in(html) == 2  # templates (8×8 images) and curves
    network = lc.MLPClassifier(hidden_layer_sizes=(12,), epochs=2).fit(features, data.y_train)
    assert images_in(network._repr_html_()) == 2
    tabular = lc.LinearClassifier(epochs=2).fit(np.random.default_rng(0).standard_normal((60, 5)), np.arange(60) % 2)
    assert images_in(tabular._repr_html_()) == 1  # five features are no image: the curves only


@pytest.mark.slow
def test_the_lecture_notebook_runs_top_to_bottom_and_shows_the_lectures_numbers():
    need_fashion_mnist()
    nbformat, nbclient = need_module("nbformat"), need_module("nbclient")
    need_module("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    text, kinds = [], set()
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text.append(output.get("text", ""))
            kinds |= set(output.get("data", {}))
    printed = "\n".join(text)
    assert "-20.0 -8.0 6.0 2.0 None" in printed  # the slide's f, ∂f/∂x, ∂f/∂y, ∂f/∂z; w is not in the graph
    assert "SVM loss 5.27" in printed and "passed: True" in printed
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", printed)[1])
    assert accuracy >= 84.0
    assert {"image/svg+xml", "text/html", "image/png"} <= kinds  # the circuit, the templates, a report figure


def test_the_reports_figures_show_themselves_inline_as_png():
    clf = lc.LinearClassifier(epochs=2).fit(np.random.default_rng(0).standard_normal((40, 4)), np.arange(40) % 2)
    png = lc.report.plot_history(clf.history_)._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
