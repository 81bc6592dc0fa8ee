"""The playground page in a real browser (headless Chromium through Playwright): what a student does."""

from __future__ import annotations

import io
import itertools
import json
import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import linclass as lc
from linclass.playground import load_weights, requests, state
from linclass.playground.presets import PLANE_LIMIT

from conftest import need_module, need_program

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser():
    chromium_path = need_program("chromium", "chromium")
    sync_api = need_module("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def url():
    from linclass.playground import background_server

    with background_server(port=0) as address:
        yield address


@pytest.fixture
def page(browser, url):
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_function("() => /\\d/.test(document.getElementById('total-loss').textContent)")
    yield page
    page.close()
    assert errors == [], f"the page raised JavaScript errors: {errors}"


def shown_loss(page) -> float:
    return float(page.text_content("#total-loss"))


def table_rows(page) -> int:
    return page.locator("#points-table tbody tr").count()


def test_pressing_play_makes_the_shown_loss_fall(page):
    start = shown_loss(page)
    page.click("#play")
    page.wait_for_function(f"() => parseFloat(document.getElementById('total-loss').textContent) < {0.5 * start}")
    page.click("#play")  # pause; a step already on its way still lands
    assert page.text_content("#play").strip().endswith("Play")
    page.wait_for_timeout(300)
    paused_at = page.text_content("#step-count")
    page.wait_for_timeout(300)
    assert int(paused_at) > 0 and page.text_content("#step-count") == paused_at


def test_a_single_step_moves_one_step_and_the_curve_starts_from_the_loss_before_it(page):
    start = shown_loss(page)
    page.click("#step")
    page.wait_for_function("() => document.getElementById('step-count').textContent === '1'")
    curve = page.evaluate("window.playground.history")
    assert [point["step"] for point in curve] == [0, 1]
    assert curve[0]["total"] == pytest.approx(start, abs=1e-4) and curve[1]["total"] < curve[0]["total"]


def test_clicking_the_plane_adds_a_point_of_the_chosen_class_and_dragging_moves_it(page):
    rows = table_rows(page)
    page.click("#new-class-2")
    page.locator("#plot").click(position={"x": 25, "y": 25})  # the top-left corner is empty
    page.wait_for_function(f"() => document.querySelectorAll('#points-table tbody tr').length === {rows + 1}")
    assert page.evaluate("window.playground.labels.at(-1)") == 2
    x_before = page.evaluate("window.playground.points.at(-1)[0]")

    box = page.locator("#plot").bounding_box()
    page.mouse.move(box["x"] + 25, box["y"] + 25)
    page.mouse.down()
    page.mouse.move(box["x"] + 125, box["y"] + 25, steps=5)
    page.mouse.up()
    assert table_rows(page) == rows + 1  # moved, not added
    assert page.evaluate("window.playground.points.at(-1)[0]") > x_before + 1.0

    page.click("#clear")
    page.wait_for_function("() => document.querySelectorAll('#points-table tbody tr').length === 0")


def test_switching_the_loss_changes_the_shown_loss(page):
    assert page.is_checked(f"#loss-{lc.LinearClassifier().loss}")  # the page opens on the library's default
    shown = page.text_content("#total-loss")
    for name, loss in lc.losses.LOSSES.items():
        if page.is_checked(f"#loss-{name}"):
            continue
        page.click(f"#loss-{name}")
        page.wait_for_function(f"() => document.getElementById('total-loss').textContent !== {json.dumps(shown)}")
        shown = page.text_content("#total-loss")
        assert page.is_disabled("#delta") == ("delta" not in loss.options)  # Δ only where the loss has a margin
        assert "L" in page.text_content("#loss-formula") and page.locator("#loss-formula sub").count() > 0


def test_dragging_a_weight_slider_moves_the_line(page):
    lines = page.get_attribute("#plot", "data-lines")
    loss = page.text_content("#total-loss")
    slider = page.locator("#w-0-0").bounding_box()
    middle_y = slider["y"] + slider["height"] / 2
    page.mouse.move(slider["x"] + slider["width"] * 0.5, middle_y)
    page.mouse.down()
    page.mouse.move(slider["x"] + slider["width"] * 0.9, middle_y, steps=6)
    page.mouse.up()
    page.wait_for_function(f"() => document.getElementById('plot').dataset.lines !== {json.dumps(lines)}")
    w00 = page.evaluate("window.playground.W[0][0]")
    assert w00 == pytest.approx(float(page.input_value("#w-0-0")))
    new_line = json.loads(page.get_attribute("#plot", "data-lines"))[0]
    old_line = json.loads(lines)[0]
    assert (new_line["x1"], new_line["y1"]) != (old_line["x1"], old_line["y1"])
    page.wait_for_function(f"() => document.getElementById('total-loss').textContent !== {json.dumps(loss)}")


def test_the_loss_curve_is_logarithmic_only_when_the_losses_span_more_than_a_factor_of_100(page):
    wide = "[{total: 70, data: 69}, {total: 0.07, data: 0.01}]"
    assert page.evaluate(f"curveScale({wide}, 10, 164)[1]") == [10, 1, 0.1, 0.01]
    assert page.evaluate(f"(() => {{ const py = curveScale({wide}, 10, 164)[0]; "
                         "return py(70) < py(1) && py(1) < py(0.01); })()")
    narrow = "[{total: 8, data: 7}, {total: 0.5, data: 0}]"  # a zero loss has no logarithm: linear from 0
    assert page.evaluate(f"curveScale({narrow}, 10, 164)[1]") == pytest.approx([0, 4.2, 8.4])


def shown_accuracy(page) -> int:
    """The training accuracy the page shows, in percent ("63 %")."""
    return int(page.text_content("#accuracy").split()[0])


def corner_classes(page) -> dict[tuple[int, int], int]:
    """The class whose colour a screenshot of the plane shows near each corner, (±4.5, ±4.5): 0 where it is
    red (class 0's region), 1 where it is blue (class 1's); the median of a small patch skips lines."""
    from PIL import Image

    image = Image.open(io.BytesIO(page.locator("#plot").screenshot())).convert("RGB")
    side = image.width - 2  # the canvas inside its 1-pixel border
    classes = {}
    for corner in itertools.product((1, -1), repeat=2):
        column, row = (1 + (0.5 + 0.45 * corner[0]) * side, 1 + (0.5 - 0.45 * corner[1]) * side)
        patch = [image.getpixel((round(column) + dx, round(row) + dy)) for dx in range(-3, 4) for dy in range(-3, 4)]
        red, _, blue = (statistics.median(channel) for channel in zip(*patch, strict=True))
        classes[corner] = 0 if red > blue else 1
    return classes


def test_a_line_cannot_learn_xor_and_a_hidden_layer_can(page):
    """On two-class XOR a linear classifier stays wrong however long it trains; switching on a hidden layer
    of 8 units and playing reaches 100 %, and the regions bend into the quadrants' pattern."""
    page.select_option("#classes", "2")
    page.select_option("#preset", "xor")
    page.wait_for_function("() => window.playground.points.length === 24 && window.playground.W.length === 2")
    page.select_option("#steps-per-update", "25")
    for steps in range(25, 225, 25):
        page.click("#step")
        page.wait_for_function(f"() => document.getElementById('step-count').textContent === '{steps}'")
    assert shown_accuracy(page) <= 75
    xor_pattern = {(1, 1): 0, (-1, -1): 0, (1, -1): 1, (-1, 1): 1}
    assert corner_classes(page) != xor_pattern  # a half-plane per class cannot show it

    page.check("#model-hidden")
    page.wait_for_function("() => window.playground.hidden !== null && window.playground.hidden.W.length === 8")
    assert page.is_hidden("#sliders") and page.is_visible("#network-caption") and page.is_hidden("#linear-caption")
    assert json.loads(page.get_attribute("#plot", "data-lines")) == []
    page.click("#play")
    page.wait_for_function("() => document.getElementById('accuracy').textContent === '100 %'", timeout=30_000)
    page.click("#play")
    page.wait_for_timeout(300)  # a step on its way when paused still lands
    assert shown_accuracy(page) == 100
    assert corner_classes(page) == xor_pattern
    result = page.evaluate("window.playground.result")
    shown_classes = page.evaluate("window.playground.points.map(([x, y]) => classAt(x, y))")
    assert shown_classes == [point["predicted"] for point in result["per_point"]]  # regions as the server scores


# ------------------------------------------------------------------------------------------ files and seeds

WEIGHTS = "(({W, b, hidden}) => ({W, b, hidden}))(window.playground)"


def csv_of(points, labels) -> str:
    return "x,y,label\n" + "".join(f"{x!r},{y!r},{label}\n" for (x, y), label in zip(points, labels, strict=True))


def downloaded(page, button: str) -> tuple[str, str]:
    """The name and text of the file that clicking ``button`` downloads."""
    with page.expect_download() as info:
        page.click(button)
    return info.value.suggested_filename, Path(info.value.path()).read_text()


def test_points_load_from_a_csv_and_the_trained_weights_export_as_the_server_evaluates_them(page, tmp_path):
    rng = np.random.default_rng(4)
    points, labels = rng.uniform(-4, 4, size=(18, 2)).tolist(), [i % 4 for i in range(18)]  # 4 classes; the page had 3
    path = tmp_path / "four.csv"
    path.write_text(csv_of(points, labels))
    page.set_input_files("#points-file", str(path))
    page.wait_for_function("() => window.playground.points.length === 18 && window.playground.W.length === 4")
    assert page.text_content("#file-status") == "Loaded 18 points of 4 classes from four.csv."
    assert page.evaluate("window.playground.points") == points and page.evaluate("window.playground.labels") == labels
    assert page.input_value("#classes") == "4" and page.locator("#new-class-3").count() == 1

    page.select_option("#steps-per-update", "5")
    page.click("#step")
    page.wait_for_function("() => document.getElementById('step-count').textContent === '5'")
    name, text = downloaded(page, "#export-weights")
    exported, shown = json.loads(text), page.evaluate(WEIGHTS)
    assert name == "weights.json" and exported["hidden"] is None
    assert np.shape(exported["W"]) == (4, 2) and np.shape(exported["b"]) == (4,)
    assert (exported["W"], exported["b"]) == (shown["W"], shown["b"])
    assert exported["loss"] == lc.LinearClassifier().loss and exported["penalty"] == "l2"
    weights_file = tmp_path / name
    weights_file.write_text(text)
    plane = replace(load_weights(weights_file), points=np.array(points), labels=np.array(labels))
    served = page.evaluate("window.playground.result")  # the server's answer to the last step
    assert state.evaluate(plane)["per_point"] == served["per_point"]
    assert state.evaluate(plane)["total_loss"] == served["total_loss"]

    name, text = downloaded(page, "#save-csv")
    assert name == "points.csv" and text.splitlines()[0] == "x,y,label"
    saved = [line.split(",") for line in text.splitlines()[1:]]
    assert [[float(x), float(y)] for x, y, _ in saved] == points and [int(k) for *_, k in saved] == labels


def test_a_bad_points_file_is_one_line_and_leaves_the_points_as_they_were(page, tmp_path):
    before = page.evaluate("[window.playground.points, window.playground.labels, window.playground.W]")
    limit, top, most = PLANE_LIMIT, requests.MAX_CLASSES - 1, requests.MAX_POINTS
    bad_files = {
        "columns.csv": ("a,b,c\n1,2,0\n", 'columns.csv: the first line must be the header x,y,label, not "a,b,c"'),
        "word.csv": ("x,y,label\n1,2,0\n1,two,1\n", 'word.csv line 3: y is "two", not a finite number'),
        "label.csv": ("x,y,label\n1,2,0\n1,2,1.5\n", f"label.csv line 3: the label 1.5 is not a class 0 to {top}"),
        "far.json": (json.dumps({"points": [[1, 2], [9, 0]], "labels": [0, 1]}),
                     f"far.json point 1: (9, 0) lies outside the plane [-{limit:g}, {limit:g}]²; "
                     "scale the points to fit (they are not clipped)"),
        "many.csv": (csv_of([[0.5, 0.5]] * (most + 1), [0] * (most + 1)),
                     f"many.csv holds {most + 1} points; the playground takes at most {most}"),
    }
    for name, (content, message) in bad_files.items():
        (tmp_path / name).write_text(content)
        page.set_input_files("#points-file", str(tmp_path / name))
        page.wait_for_function(f"() => document.getElementById('file-status').textContent === {json.dumps(message)}")
        assert "error" in page.get_attribute("#file-status", "class")
        assert page.evaluate("[window.playground.points, window.playground.labels, window.playground.W]") == before


def test_reset_with_the_same_seed_starts_from_the_same_weights_and_another_seed_does_not(page):
    def reset(seed: int) -> dict:
        page.fill("#seed", str(seed))
        page.click("#reset")
        page.wait_for_function("() => document.getElementById('step-count').textContent === '0'")
        return page.evaluate(WEIGHTS)

    assert page.input_value("#seed") == "1" and page.evaluate(WEIGHTS) == reset(1)  # the page starts from its seed
    for model in ("linear", "hidden"):
        page.check(f"#model-{model}")
        first = reset(7)
        page.click("#step")
        page.wait_for_function("() => document.getElementById('step-count').textContent === '1'")
        assert page.evaluate(WEIGHTS) != first
        assert reset(7) == first
        assert reset(8)["W"] != first["W"]
        page.click("#randomize")
        assert page.input_value("#seed") == "9" and page.evaluate(WEIGHTS) == reset(9)
    assert np.shape(first["hidden"]["W"]) == (8, 2) and np.shape(first["W"]) == (3, 8)


def test_the_learning_rate_is_derived_from_the_points_until_one_is_typed(page, tmp_path):
    """The page starts at the estimator's defaults: no learning rate, so the server derives one (lr=None)."""
    estimator = lc.LinearClassifier()
    assert page.input_value("#lr") == "" and page.text_content("#lr-used") == "from the data"
    assert float(page.input_value("#reg")) == estimator.reg and float(page.input_value("#delta")) == estimator.delta
    plane = page.evaluate("() => ({points: playground.points, loss: playground.loss, classes: playground.b.length})")
    page.click("#step")
    page.wait_for_function("() => document.getElementById('lr-used').textContent.includes(':')")
    expected = state.step_size(replace(_plane_of(plane), reg=estimator.reg), state.Training())
    shown = page.text_content("#lr-used")
    assert shown.startswith("from the data: ") and float(shown.split(": ")[1]) == pytest.approx(expected, abs=5e-5)
    page.screenshot(path=str(tmp_path / "derived-lr.png"))
    page.click("#loss-svm")  # another loss has another curvature: the shown rate is no longer the one used
    assert page.text_content("#lr-used") == "from the data"
    page.click("#step")
    page.wait_for_function("() => document.getElementById('lr-used').textContent.includes(':')")
    svm_rate = state.step_size(replace(_plane_of(plane), loss="svm", reg=estimator.reg), state.Training())
    assert float(page.text_content("#lr-used").split(": ")[1]) == pytest.approx(svm_rate, abs=5e-5)
    page.fill("#lr", "0.2")
    assert page.text_content("#lr-used") == ""  # a typed rate is the one used, and says so itself
    steps_before = int(page.text_content("#step-count"))
    page.click("#step")
    page.wait_for_function(f"() => parseInt(document.getElementById('step-count').textContent) > {steps_before}")
    assert page.text_content("#lr-used") == ""


def _plane_of(shown: dict) -> state.Plane:
    """A plane of the page's points and loss (the weights do not enter the step size)."""
    points = np.array(shown["points"], dtype=float)
    classes = shown["classes"]
    return state.Plane(points=points, labels=np.zeros(len(points), dtype=np.int64), W=np.zeros((classes, 2)),
                       b=np.zeros(classes), loss=shown["loss"], penalty="l2")
