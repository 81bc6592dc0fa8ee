"""The run report: one self-contained HTML page that tells a training run from data to timings.

Everything the page needs is inside it: the CSS is inline and every picture is a PNG embedded as a
base64 ``data:`` URI, so the single file can be mailed, archived or opened offline and still shows
everything. All text from the run (class names, notes, hyperparameters) is escaped.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from linclass.files import write_atomically

REPORT_NAME = "report.html"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The pictures a report knows how to explain: key of ``images`` → (heading, caption for a student).
FIGURES = {
    "history": (
        "Training curves",
        "Left: the total loss (data loss + λ·R(W)) of every mini-batch, faint, with its moving average. "
        "It should fall quickly, then flatten; a loss that explodes means the learning rate is too large, "
        "one that barely moves means it is too small. Right: accuracy on the training set during each epoch "
        "(counted on its mini-batches while the weights still move, so it trails the weights the epoch "
        "ends with, most in the first epoch) and on the validation set after each epoch. A validation "
        "curve far below the training curve is overfitting; the dashed "
        "line marks the epoch of the best validation accuracy, the star the epoch whose weights the model "
        "kept (the same one with early stopping; the last one without).",
    ),
    "tune": (
        "Hyperparameter search",
        "Validation accuracy of each trial over learning rate and regularization strength λ, both on log "
        "scales. The trial drawn in red (outlined cell or star) had the best validation accuracy; grey "
        "trials diverged. Good settings usually lie on a diagonal band: a stronger regularization wants "
        "a smaller step, and vice versa.",
    ),
    "templates": (
        "Learned templates",
        "Each row w_k of W reshaped into an image: the class score w_k·x + b_k is a dot product, a "
        "template match between the image and this picture. Bright pixels have large weights — they "
        "vote for the class when the image is bright there. A linear classifier has one template per "
        "class, so it learns a kind of average of all the ways the class can look.",
    ),
    "unit_templates": (
        "What the hidden units look for",
        "Each row of the first layer's weights W₁ reshaped into an image, one per hidden unit (the first "
        "few): a unit's activation σ(w·x + b) is a template match between the image and this picture, as a "
        "class score is in a linear classifier. The second layer then scores the classes from how well "
        "each template matched, so a class can be recognised by several templates, not one average.",
    ),
    "confusion": (
        "Confusion matrix",
        "Row i, column j: how many {split} images of true class i were predicted as class j. The diagonal "
        "holds the correct predictions; each row is coloured by its share, so the diagonal colour is "
        "the recall of that class. Dark cells off the diagonal name the pairs of classes that look alike "
        "to a linear template.",
    ),
    "examples": (
        "Examples",
        "{Split} images drawn at random, each with the classifier's three most probable classes "
        "(softmax of the scores). Green titles are correct predictions, red titles mistakes; the line "
        "under each image gives the true class. Look at how confident the mistakes are.",
    ),
    "regions": (
        "Geometric interpretation",
        "On two-dimensional data: each colour is the region where that class has the highest score. "
        "The line of class k is where its score w_k·x + b_k is zero; the arrow w_k is perpendicular to "
        "it and points to where the score grows. The boundaries between regions are straight, so a "
        "linear classifier cannot carve out curved or separated regions.",
    ),
    "loss_comparison": (
        "SVM versus softmax",
        "The same scores of one example judged by the two losses. Left, the hinge: each wrong class "
        "costs max(0, s_j − s_y + Δ), so once the correct score beats every other by Δ the loss is 0. "
        "Right, the softmax: the scores become probabilities and the loss is −log of the correct "
        "class's probability, which keeps asking for more.",
    ),
}
REQUIRED_FIGURES = ("history", "templates", "confusion", "examples")
DURING_THE_EPOCH = (
    "The training accuracy of an epoch is counted on its mini-batches as they are trained on, while the "
    "weights still move (it costs nothing, but lags behind); the training accuracy under Results is that "
    "of the kept weights, measured on the whole training set after training, so the two differ."
)

CSS = """
body { margin: 0; background: #fafafa; color: #222;
       font: 16px/1.55 "Source Serif Pro", Georgia, "DejaVu Serif", serif; }
main { max-width: 64rem; margin: 0 auto; padding: 2rem 2rem 4rem; background: #fff; }
p, figcaption, .lede { max-width: 46rem; }
h1 { font-size: 1.9rem; margin: 0 0 .3rem; line-height: 1.2; }
h2 { font-size: 1.35rem; margin: 2.4rem 0 .6rem; padding-bottom: .2rem; border-bottom: 1px solid #ddd; }
h1, h2, nav, table, figcaption, .lede { font-family: "Source Sans Pro", "Helvetica Neue", Arial,
       "DejaVu Sans", sans-serif; }
.lede { color: #555; margin: 0 0 1.2rem; }
nav { font-size: .9rem; margin-bottom: 1.5rem; }
nav a { color: #08519c; text-decoration: none; margin-right: .9rem; white-space: nowrap; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; }
th, td { padding: .28rem .8rem; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #bbb; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th[scope=row] { font-weight: 600; color: #333; }
figure { margin: 1rem 0 1.6rem; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; border: 1px solid #eee; }
figcaption { font-size: .9rem; color: #555; margin-top: .5rem; line-height: 1.45; }
figcaption strong { color: #222; }
details summary { cursor: pointer; color: #08519c; font-family: sans-serif; font-size: .9rem; }
.missing { color: #888; font-style: italic; }
.notes p { margin: .5rem 0; }
"""


def write_report(run_dir: str | os.PathLike, *, title: str, data_summary: Mapping[str, Any],
                 hyperparameters: Mapping[str, Any], metrics: Mapping[str, Any], history: Mapping[str, Any] | None,
                 images: Mapping[str, str | os.PathLike], timings: Mapping[str, Any],
                 notes: str | None = None, split: str = "test") -> Path:
    """Write ``report.html`` in ``run_dir``: the whole run on one self-contained page.

    Parameters
    ----------
    run_dir : path-like
        The run's folder (created when missing).
    title : str
        The page's heading.
    data_summary, hyperparameters, metrics, timings : dict
        Shown as tables, one row per key (timings in seconds).
    history : dict or None
        A classifier's ``history_``; its epochs are listed in a table under the training curves.
    images : dict of str to path
        PNG files to embed. The keys ``"history"``, ``"templates"``, ``"confusion"``, ``"examples"``
        (always given a section), and ``"tune"``, ``"regions"``, ``"loss_comparison"`` get their own
        heading and an explanatory caption; any other key is shown under "More figures".
    notes : str, optional
        Free text at the end; blank lines separate paragraphs.
    split : str, optional
        The split the confusion matrix and the examples show (``"test"``, ``"validation"``), named in
        their captions.

    Returns
    -------
    pathlib.Path
        The path of ``report.html``, written atomically.
    """
    embedded = {key: embed_png(key, path) for key, path in images.items()}
    sections = [
        ("data", "Data", _table(data_summary)),
        ("hyperparameters", "Hyperparameters", _table(hyperparameters)),
        ("metrics", "Results", _table(metrics)),
        ("history", FIGURES["history"][0], _figure_html("history", embedded) + _history_html(history)),
    ]
    # A network's report shows its hidden units' templates in place of the classes' ones.
    required = [key for key in REQUIRED_FIGURES if not (key == "templates" and "unit_templates" in embedded)]
    for key in ("tune", "templates", "unit_templates", "confusion", "examples", "regions", "loss_comparison"):
        if key in embedded or key in required:
            sections.append((key, FIGURES[key][0], _figure_html(key, embedded, split)))
    others = [key for key in embedded if key not in FIGURES]
    if others:
        sections.append(("more", "More figures", "".join(_figure_html(key, embedded) for key in others)))
    sections.append(("timings", "Timings", _table(timings, unit=" s")))
    if notes:
        sections.append(("notes", "Notes", _notes_html(notes)))
    page = _page(title, metrics, sections)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return write_atomically(run_dir / REPORT_NAME, page.encode("utf-8"))


def embed_png(key: str, path: str | os.PathLike) -> str:
    """The PNG file at ``path`` as a ``data:image/png;base64,...`` URI."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"images[{key!r}] = {str(path)!r}: cannot read it ({error.strerror}); give the path "
                         "of a PNG file") from None
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"images[{key!r}] = {str(path)!r} is not a PNG file; the report embeds PNG only")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def format_value(value: Any) -> str:
    """A value as a table shows it: floats to 4 significant digits, None as a dash, containers as JSON."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and all(isinstance(item, (int, float, str)) for item in value):
        return ", ".join(format_value(item) for item in value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def _page(title: str, metrics: Mapping[str, Any], sections: list[tuple[str, str, str]]) -> str:
    nav = "\n".join(f'<a href="#{anchor}">{html.escape(heading)}</a>' for anchor, heading, _ in sections)
    body = "".join(f'<section id="{anchor}">\n<h2>{html.escape(heading)}</h2>\n{content}\n</section>\n'
                   for anchor, heading, content in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{html.escape(title)}</h1>\n{_lede(metrics)}<nav>{nav}</nav>\n{body}</main>\n</body>\n</html>\n"
    )


def _lede(metrics: Mapping[str, Any]) -> str:
    """A one-line summary of the accuracies, the numbers a reader looks for first."""
    parts = [f"{key.replace('_', ' ')} {value:.1%}" for key, value in metrics.items()
             if "accuracy" in key and isinstance(value, (float, np.floating)) and 0 <= value <= 1]
    return f'<p class="lede">{html.escape(" · ".join(parts))}</p>\n' if parts else ""


def _table(mapping: Mapping[str, Any], unit: str = "") -> str:
    if not mapping:
        return '<p class="missing">Nothing recorded.</p>'
    rows = []
    for key, value in mapping.items():
        text = format_value(value)
        number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        cell = f'<td class="number">{html.escape(text + unit)}</td>' if number else f"<td>{html.escape(text)}</td>"
        rows.append(f'<tr><th scope="row">{html.escape(str(key))}</th>{cell}</tr>')
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def _figure_html(key: str, embedded: Mapping[str, str], split: str = "test") -> str:
    heading, caption = FIGURES.get(key, (key.replace("_", " "), ""))
    caption = caption.replace("{split}", split).replace("{Split}", split.capitalize())
    if key not in embedded:
        return '<p class="missing">No figure was drawn for this run.</p>'
    caption_html = f"<strong>{html.escape(heading)}.</strong> {html.escape(caption)}" if caption \
        else f"<strong>{html.escape(heading)}</strong>"
    return (f'<figure>\n<img src="{embedded[key]}" alt="{html.escape(heading)}">\n'
            f"<figcaption>{caption_html}</figcaption>\n</figure>")


def _history_html(history: Mapping[str, Any] | None) -> str:
    """A sentence on how training ended and the table of per-epoch numbers."""
    if not history or not history.get("epochs"):
        return ""
    epochs = history["epochs"]
    sentence = f"{len(epochs)} epoch{'s' if len(epochs) != 1 else ''}, {len(history.get('loss', []))} iterations"
    if history.get("stopped_early"):
        sentence += "; stopped early because validation accuracy stopped improving"
    best, kept = history.get("best_epoch"), history.get("kept_epoch")  # kept: not in histories that predate it
    if kept is not None:
        sentence += f"; the weights kept are those of epoch {kept}"
    if best is not None and best != kept:
        sentence += f"; validation accuracy was best at epoch {best}"
    columns = [("epoch", "epoch"), ("loss", "loss"), ("train_accuracy", "training accuracy (during the epoch)"),
               ("val_accuracy", "validation accuracy"), ("learning_rate", "learning rate"),
               ("seconds", "seconds (total)")]
    head = "".join(f'<th scope="col">{html.escape(label)}</th>' for _, label in columns)
    rows = "\n".join("<tr>" + "".join(f'<td class="number">{html.escape(format_value(record.get(key)))}</td>'
                                      for key, _ in columns) + "</tr>" for record in epochs)
    table = f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"
    if len(epochs) > 12:
        table = f"<details>\n<summary>Numbers of every epoch</summary>\n{table}\n</details>"
    return f"<p>{html.escape(sentence)}. {html.escape(DURING_THE_EPOCH)}</p>\n{table}"


def _notes_html(notes: str) -> str:
    paragraphs = [part.strip() for part in notes.split("\n\n") if part.strip()]
    return '<div class="notes">' + "".join(f"<p>{html.escape(part)}</p>" for part in paragraphs) + "</div>"
