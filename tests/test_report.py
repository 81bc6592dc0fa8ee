"""Report pictures and the self-contained HTML report.

Each picture is saved and read back with Pillow at the size its figure promises; the numbers behind the
pictures are checked against references we did not write (scikit-learn's confusion matrix, a direct
argmax of the scores, the lecture's SVM-vs-softmax example, the library's loss kernels).
"""

from __future__ import annotations

import base64
import math
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from linclass import report
from linclass.losses import softmax_loss_and_grad, svm_loss_and_grad
from linclass.report.style import CORRECT_COLOR, WRONG_COLOR, finish, new_figure, panel_title_of
from linclass.report.tuning import log_positions, short_number

CLASSES = ["T-shirt", "trouser", "pullover", "dress"]


def history(epochs: int = 6, iterations_per_epoch: int = 20, with_val: bool = True, start_loss: float = 2.3):
    loss = (start_loss * np.exp(-np.linspace(0, 3, epochs * iterations_per_epoch))).tolist()
    records = [{"epoch": e, "loss": loss[e * iterations_per_epoch - 1], "train_accuracy": 0.5 + 0.07 * e,
                "val_accuracy": (0.45 + 0.06 * e - 0.02 * (e > 4)) if with_val else None,
                "learning_rate": 0.1, "seconds": 0.5 * e} for e in range(1, epochs + 1)]
    return {"loss": loss, "epochs": records, "best_epoch": 4 if with_val else None, "stopped_early": False}


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        return image.size


def promised_size(figure) -> tuple[int, int]:
    width, height = figure.get_size_inches() * figure.dpi
    return round(width), round(height)


# -- every picture: saved as a PNG of the promised size, no global matplotlib state ----------------------


def every_picture(rng, folder: Path) -> dict[str, tuple[object, Path]]:
    W = rng.standard_normal((4, 6 * 5 + 1))
    probabilities = rng.dirichlet(np.ones(4), size=20)
    trials = [{"lr": lr, "reg": reg, "val_accuracy": float(rng.uniform(0.3, 0.9))}
              for lr in (1e-3, 1e-2, 1e-1) for reg in (0.0, 1e-3, 1e-1)]
    drawings = {
        "history": lambda path: report.plot_history(history(), path),
        "templates": lambda path: report.plot_templates(W, (6, 5), CLASSES, path),
        "confusion": lambda path: report.plot_confusion_matrix(
            report.confusion_matrix(rng.integers(0, 4, 50), rng.integers(0, 4, 50), 4), CLASSES, path),
        "examples": lambda path: report.plot_examples(rng.integers(0, 256, (20, 6, 5), dtype=np.uint8),
                                                      rng.integers(0, 4, 20), probabilities, CLASSES, path),
        "tune": lambda path: report.plot_tune_heatmap(trials, path),
        "regions": lambda path: report.plot_decision_regions(rng.standard_normal((3, 2)), rng.standard_normal(3),
                                                             rng.standard_normal((30, 2)), rng.integers(0, 3, 30),
                                                             path=path),
        "loss_comparison": lambda path: report.plot_loss_comparison(np.array([-2.85, 0.86, 0.28]), 2, path=path),
    }
    return {name: (draw(folder / f"{name}.png"), folder / f"{name}.png") for name, draw in drawings.items()}


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    before = dict(matplotlib.rcParams)
    drawn = every_picture(np.random.default_rng(0), folder)
    return drawn, before


def test_every_picture_is_a_png_of_the_promised_pixel_size(pictures):
    drawn, _ = pictures
    for name, (figure, path) in drawn.items():
        assert figure.dpi == 100, name
        assert png_size(path) == promised_size(figure), name
    assert png_size(drawn["history"][1]) == (1200, 450)
    assert png_size(drawn["loss_comparison"][1]) == (1200, 500)
    assert png_size(drawn["regions"][1]) == (900, 700)


def test_drawing_leaves_pyplot_and_the_users_settings_alone(pictures):
    drawn, before = pictures
    from matplotlib import _pylab_helpers

    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0  # nothing registered with pyplot
    assert dict(matplotlib.rcParams) == before


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "picture.png"
    path.write_bytes(b"old")
    figure = new_figure(2, 2)

    def broken_savefig(stream, **options):
        stream.write(b"half a pic")
        raise OSError("disk full")

    figure.savefig = broken_savefig
    with pytest.raises(OSError, match="disk full"):
        finish(figure, path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["picture.png"]


# -- learning curves ---------------------------------------------------------------------------------------


def test_smooth_is_a_centred_moving_average():
    values = np.random.default_rng(1).standard_normal(50)
    smoothed = report.smooth(values, window=5)
    np.testing.assert_allclose(smoothed[2:-2], np.convolve(values, np.ones(5) / 5, mode="valid"))
    assert smoothed[0] == pytest.approx(values[:3].mean()) and smoothed[-1] == pytest.approx(values[-3:].mean())
    assert smoothed[1] == pytest.approx(values[:4].mean())
    np.testing.assert_allclose(report.smooth(np.full(30, 7.0)), 7.0)


def test_smooth_does_not_plunge_with_the_last_loss():
    """A last batch far below the others moves the curve's end by its share of the window, not to itself."""
    losses = np.r_[np.full(499, 1.0), 0.1]
    smoothed = report.smooth(losses)  # a window of 20 (1/25 of the run): the end averages the last 11 losses
    assert smoothed[-1] == pytest.approx(1.0 - 0.9 / 11)


def test_history_uses_a_log_axis_only_when_the_loss_spans_a_decade():
    falling = report.plot_history(history(start_loss=50.0))  # 50 → 2.5: more than a decade
    flat = report.plot_history(history(start_loss=2.3) | {"loss": np.linspace(2.3, 0.5, 120).tolist()})
    assert falling.axes[0].get_yscale() == "log"
    assert flat.axes[0].get_yscale() == "linear"


def test_history_draws_raw_and_smoothed_loss_and_both_accuracies_with_the_best_epoch():
    run = history()
    figure = report.plot_history(run)
    loss_axes, accuracy_axes = figure.axes[:2]
    raw, smoothed = loss_axes.get_lines()
    np.testing.assert_allclose(raw.get_ydata(), run["loss"])
    np.testing.assert_allclose(smoothed.get_ydata(), report.smooth(run["loss"]))
    train, val, best = accuracy_axes.get_lines()
    np.testing.assert_allclose(train.get_ydata(), [r["train_accuracy"] for r in run["epochs"]])
    np.testing.assert_allclose(val.get_ydata(), [r["val_accuracy"] for r in run["epochs"]])
    assert list(best.get_xdata()) == [4, 4]
    assert "best epoch 4" in best.get_label()


def test_history_without_validation_draws_training_accuracy_only():
    figure = report.plot_history(history(with_val=False))
    assert [line.get_label() for line in figure.axes[1].get_lines()] == ["training (during the epoch)"]


def test_history_of_nothing_still_draws():
    figure = report.plot_history({"loss": [], "epochs": [], "best_epoch": None, "stopped_early": False})
    assert "no iterations recorded" in [text.get_text() for text in figure.axes[0].texts]


# -- templates ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image_shape", [(6, 5), (4, 3, 3)])
def test_templates_of_weights_built_from_images_are_those_images(rng, image_shape):
    images = rng.integers(0, 256, (4, *image_shape)).astype(np.uint8)
    flat = images.reshape(4, -1)
    flat[:, 0], flat[:, 1] = 0, 255  # each image spans 0..255, so min-max scaling gives it back exactly
    scale, shift = rng.uniform(0.01, 3, (4, 1)), rng.normal(0, 5, (4, 1))
    W = np.hstack([scale * flat + shift, rng.standard_normal((4, 1))])  # + a bias column (bias trick)
    np.testing.assert_array_equal(report.template_images(W, image_shape), images)
    figure = report.plot_templates(W, image_shape, CLASSES)
    shown = [axes for axes in figure.axes if axes.images]
    assert [panel_title_of(axes).get_text() for axes in shown] == CLASSES
    for axes, image in zip(shown, images, strict=True):
        np.testing.assert_array_equal(axes.images[0].get_array(), image)


def test_each_template_is_stretched_on_its_own():
    W = np.array([[0.0, 1.0, 2.0, 4.0], [-100.0, 0.0, 0.0, 100.0], [3.0, 3.0, 3.0, 3.0]])
    expected = [[0, 64, 128, 255], [0, 128, 128, 255], [0, 0, 0, 0]]  # 255·(w - min)/(max - min), rounded
    np.testing.assert_array_equal(report.template_images(W, (2, 2)).reshape(3, 4), expected)


def test_templates_refuse_weights_of_the_wrong_width():
    with pytest.raises(ValueError, match=r"expected \(K, 30\) or \(K, 31\)"):
        report.template_images(np.zeros((4, 29)), (6, 5))


def test_templates_grid_shows_at_most_a_hundred_classes():
    figure = report.plot_templates(np.random.default_rng(0).standard_normal((120, 4)), (2, 2),
                                   [f"class {k}" for k in range(120)])
    assert sum(bool(axes.images) for axes in figure.axes) == 100
    assert "first 100 of 120" in figure.get_suptitle()


# -- confusion matrix ------------------------------------------------------------------------------------


def test_confusion_matrix_equals_scikit_learns(rng):
    from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

    y_true, y_pred = rng.integers(0, 7, 500), rng.integers(0, 7, 500)
    y_pred[y_pred == 3] = 2  # a class that is never predicted
    np.testing.assert_array_equal(report.confusion_matrix(y_true, y_pred, 9),
                                  sklearn_confusion_matrix(y_true, y_pred, labels=range(9)))


def test_confusion_matrix_refuses_labels_out_of_range():
    with pytest.raises(ValueError, match=r"y_pred must hold class indices in 0\.\.2"):
        report.confusion_matrix([0, 1], [0, 3], 3)


def test_confusion_plot_colours_row_fractions_and_writes_the_counts():
    cm = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 0]])
    figure = report.plot_confusion_matrix(cm, ["a", "b", "c"])
    axes = figure.axes[0]
    np.testing.assert_allclose(axes.images[0].get_array(), [[0.8, 0.2, 0], [0.25, 0.75, 0], [0, 0, 0]])
    assert sorted(text.get_text() for text in axes.texts) == ["1", "2", "3", "8"]
    assert "78.6%" in axes.get_title()  # 11 of 14
    counts = report.plot_confusion_matrix(cm, ["a", "b", "c"], normalize=False).axes[0]
    np.testing.assert_array_equal(counts.images[0].get_array(), cm)


def test_confusion_plot_of_many_classes_writes_no_counts():
    cm = np.eye(25, dtype=int) * 3
    assert len(report.plot_confusion_matrix(cm, [str(k) for k in range(25)]).axes[0].texts) == 0


# -- examples ----------------------------------------------------------------------------------------------


def test_top_predictions_read_like_the_lecture():
    assert report.top_predictions(np.array([0.15, 0.82, 0.01, 0.02]), ["dog", "cat", "mug", "hat"]) == [
        "82% cat", "15% dog", "2% hat"]


def test_examples_are_titled_with_their_top_classes_green_when_right_red_when_wrong(rng):
    probabilities = np.array([[0.7, 0.2, 0.06, 0.04], [0.1, 0.6, 0.25, 0.05]])
    images = rng.integers(0, 256, (2, 5, 5, 3), dtype=np.uint8)
    figure = report.plot_examples(images, np.array([0, 2]), probabilities, CLASSES, k=2)
    titles = {panel_title_of(axes).get_text(): panel_title_of(axes).get_color() for axes in figure.axes if axes.images}
    assert titles == {"70% T-shirt\n20% trouser": CORRECT_COLOR, "60% trouser\n25% pullover": WRONG_COLOR}


def test_examples_shows_n_images_at_most():
    figure = report.plot_examples(np.zeros((40, 4, 4), np.uint8), np.zeros(40, int), np.full((40, 2), 0.5),
                                  ["a", "b"], n=9)
    assert sum(bool(axes.images) for axes in figure.axes) == 9


# -- hyperparameter search -----------------------------------------------------------------------------


def test_log_positions_put_zero_a_decade_below_the_smallest_value():
    np.testing.assert_allclose(log_positions([1e-3, 0.0, 1e-1]), [-3, -4, -1])
    assert [short_number(v) for v in (3e-4, 0.01, 0.0, 1e3, 250.0, 0.79)] == ["3e-4", "0.01", "0", "1e3", "250", "0.79"]


def test_a_full_grid_is_drawn_as_cells_holding_the_accuracies():
    lrs, regs = [1e-3, 1e-2, 1e-1], [0.0, 1e-4, 1e-2, 1.0]
    accuracy = {(lr, reg): 0.1 * i + 0.01 * j for i, lr in enumerate(lrs) for j, reg in enumerate(regs)}
    trials = [{"lr": lr, "reg": reg, "val_accuracy": accuracy[lr, reg]} for lr in lrs for reg in regs]
    trials[0]["val_accuracy"] = None  # diverged
    figure = report.plot_tune_heatmap(trials)
    mesh = figure.axes[0].collections[0].get_array()  # rows: reg ascending, columns: lr ascending
    expected = np.array([[accuracy[lr, reg] for lr in lrs] for reg in regs])
    expected[0, 0] = np.nan  # masked, drawn grey
    np.testing.assert_allclose(np.ma.filled(mesh, np.nan).reshape(4, 3), expected)
    assert figure.axes[0].get_title().endswith("best 23.0% at lr = 0.1, λ = 1")  # 0.1·2 + 0.01·3
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["0.001", "0.01", "0.1"]


def test_a_random_search_is_drawn_as_points_with_one_panel_per_loss(rng):
    trials = [{"lr": float(10 ** rng.uniform(-4, 0)), "reg": float(10 ** rng.uniform(-5, 0)),
               "val_accuracy": float(rng.uniform(0.2, 0.9)), "loss": loss}
              for loss in ("svm", "softmax") for _ in range(15)]
    figure = report.plot_tune_heatmap(trials)
    panels = [axes for axes in figure.axes if axes.get_title()]
    assert [axes.get_title().splitlines()[0] for axes in panels] == ["loss: softmax", "loss: svm"]
    for axes, loss in zip(panels, ("softmax", "svm"), strict=True):
        mine = [t for t in trials if t["loss"] == loss]
        points = axes.collections[1]
        np.testing.assert_allclose(points.get_offsets(), np.log10([[t["lr"], t["reg"]] for t in mine]))
        np.testing.assert_allclose(points.get_array(), [t["val_accuracy"] for t in mine])


# -- decision regions ------------------------------------------------------------------------------------


def test_winning_class_grid_is_the_argmax_of_the_scores_at_every_point(rng):
    W, b = rng.standard_normal((5, 2)), rng.standard_normal(5)
    xs, ys = np.linspace(-3, 3, 17), np.linspace(-2, 4, 11)
    expected = [[int(np.argmax(W @ np.array([x, y]) + b)) for x in xs] for y in ys]
    np.testing.assert_array_equal(report.winning_class_grid(W, b, xs, ys), expected)


def test_winning_class_grid_on_a_hand_worked_plane():
    W, b = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]), np.array([0.0, 0.0, -5.0])
    # class 0 where x > 0, class 1 where x < 0, class 2 above y = 5 + |x|
    grid = report.winning_class_grid(W, b, np.array([-2.0, 2.0]), np.array([0.0, 10.0]))
    np.testing.assert_array_equal(grid, [[1, 0], [2, 2]])


def test_decision_regions_background_is_the_winning_class_grid(rng):
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(3)
    X, y = rng.standard_normal((40, 2)), rng.integers(0, 3, 40)
    figure = report.plot_decision_regions(W, b, X, y, ["a", "b", "c"])
    axes = figure.axes[0]
    background = axes.images[0]
    left, right, bottom, top = background.get_extent()
    shown = background.get_array()
    xs, ys = np.linspace(left, right, shown.shape[1]), np.linspace(bottom, top, shown.shape[0])
    np.testing.assert_array_equal(shown, report.winning_class_grid(W, b, xs, ys))
    assert left <= X[:, 0].min() and X[:, 0].max() <= right and bottom <= X[:, 1].min() and X[:, 1].max() <= top
    for k, line in enumerate(axes.get_lines()):  # each class's line is where its score is zero
        np.testing.assert_allclose(np.column_stack(line.get_data()) @ W[k] + b[k], 0, atol=1e-9)


def test_decision_regions_refuse_points_that_are_not_2d():
    with pytest.raises(ValueError, match="2 coordinates"):
        report.plot_decision_regions(np.zeros((3, 2)), np.zeros(3), np.zeros((5, 3)), np.zeros(5, int))


# -- SVM versus softmax -----------------------------------------------------------------------------------


def test_loss_comparison_on_the_lectures_example():
    scores, y = np.array([-2.85, 0.86, 0.28]), 2
    np.testing.assert_allclose(report.hinge_terms(scores, y), [0.0, 1.58, 0.0])
    probabilities = report.softmax_probabilities(scores)
    np.testing.assert_allclose(probabilities, np.exp(scores) / np.exp(scores).sum())
    assert -math.log(probabilities[y]) == pytest.approx(1.04, abs=5e-3)  # CS231n's rounded value
    figure = report.plot_loss_comparison(scores, y, class_names=["cat", "dog", "ship"])
    hinge, softmax = figure.axes
    np.testing.assert_allclose([bar.get_height() for bar in hinge.patches], [0.0, 1.58, 0.0])
    np.testing.assert_allclose([bar.get_height() for bar in softmax.patches], probabilities)
    svm_total = svm_loss_and_grad(scores[None], np.array([y]))[0]
    softmax_total = softmax_loss_and_grad(scores[None], np.array([y]))[0]
    assert hinge.get_title().endswith(f"= {svm_total:.3f}")
    assert softmax.get_title().endswith(f"= {softmax_total:.3f}")


def test_loss_comparison_bars_add_up_to_the_librarys_hinge_loss(rng):
    scores, y = rng.normal(0, 2, 8), 5
    figure = report.plot_loss_comparison(scores, y, delta=2.0)
    total = sum(bar.get_height() for bar in figure.axes[0].patches)
    assert total == pytest.approx(svm_loss_and_grad(scores[None], np.array([y]), delta=2.0)[0])


@pytest.mark.parametrize("class_names", [["cat", "dog"], ["cat", "dog", "ship", "frog"]])
def test_loss_comparison_refuses_a_name_count_other_than_the_scores(class_names):
    with pytest.raises(ValueError, match=rf"class_names has {len(class_names)} names for the 3 scores"):
        report.plot_loss_comparison(np.array([-2.85, 0.86, 0.28]), 0, class_names=class_names)


# -- the HTML report -------------------------------------------------------------------------------------


class Links(HTMLParser):
    """Collects every attribute that can point somewhere, the section headings and the text."""

    def __init__(self):
        super().__init__()
        self.references, self.headings, self.text, self._in_h2 = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.references += [(tag, name, value) for name, value in attrs if name in ("src", "href", "srcset")]
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        self._in_h2 = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_h2:
            self.headings.append(data)


@pytest.fixture(scope="module")
def written(pictures, tmp_path_factory):
    drawn, _ = pictures
    run_dir = tmp_path_factory.mktemp("run") / "nested"
    images = {name: path for name, (_, path) in drawn.items()}
    images["extra <plot>"] = drawn["history"][1]
    path = report.write_report(
        run_dir, title="Softmax on <Fashion-MNIST> & friends",
        data_summary={"dataset": "fashion-mnist", "classes": CLASSES, "training examples": 50000},
        hyperparameters={"loss": "softmax", "lr": 0.01, "reg": 1e-4, "early_stopping": True, "penalty": None},
        metrics={"test_accuracy": np.float64(0.8412), "val_accuracy": 0.85},
        history={**history(), "kept_epoch": 4}, images=images, timings={"train": 12.5},
        notes="Line one.\n\n<script>x</script>")
    return path, images


def test_a_history_that_does_not_say_which_weights_were_kept_claims_none(tmp_path):
    path = report.write_report(tmp_path, title="t", data_summary={}, hyperparameters={}, metrics={},
                               history=history(), images={}, timings={})
    text = path.read_text(encoding="utf-8")
    assert "validation accuracy was best at epoch 4" in text and "weights kept" not in text


def test_report_is_written_into_the_run_folder_with_nothing_else(written):
    path, _ = written
    assert path == path.parent / "report.html"
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def test_report_embeds_every_picture_and_refers_to_nothing_outside(written):
    path, images = written
    page = path.read_text(encoding="utf-8")
    parser = Links()
    parser.feed(page)
    sources = [value for tag, name, value in parser.references if name == "src"]
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    embedded = {base64.b64decode(source.split(",", 1)[1]) for source in sources}
    assert embedded == {Path(p).read_bytes() for p in images.values()}
    assert all(value.startswith("#") for tag, name, value in parser.references if name == "href")
    for outside in ("http:", "https:", "file:", "url(", "<link", "<script", "@import"):
        assert outside not in page.lower()


def test_report_has_every_section_and_escapes_all_text(written):
    path, _ = written
    page = path.read_text(encoding="utf-8")
    parser = Links()
    parser.feed(page)
    for heading in ("Data", "Hyperparameters", "Results", "Training curves", "Hyperparameter search",
                    "Learned templates", "Confusion matrix", "Examples", "Geometric interpretation",
                    "SVM versus softmax", "More figures", "Timings", "Notes"):
        assert heading in parser.headings
    text = "".join(parser.text)
    assert "Softmax on <Fashion-MNIST> & friends" in text  # shown as written, not parsed as markup
    assert "<script>x</script>" in text
    assert "84.1%" in text and "12.5 s" in text and "T-shirt, trouser, pullover, dress" in text
    assert "the weights kept are those of epoch 4" in text


def test_report_says_when_a_picture_is_missing_and_refuses_a_file_that_is_not_png(tmp_path):
    path = report.write_report(tmp_path, title="t", data_summary={}, hyperparameters={}, metrics={}, history=None,
                               images={}, timings={})
    assert path.read_text(encoding="utf-8").count("No figure was drawn for this run.") == 4
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"images\['templates'\].*is not a PNG"):
        report.write_report(tmp_path, title="t", data_summary={}, hyperparameters={}, metrics={}, history=None,
                            images={"templates": tmp_path / "notes.txt"}, timings={})
