"""SVM versus softmax: the same scores judged by the two losses.

The multiclass SVM wants the correct score to beat every other by a margin Δ and charges
``max(0, s_j - s_y + Δ)`` for each class that does not; once all margins are met it is satisfied (loss
0). The softmax classifier reads the scores as unnormalized log-probabilities, turns them into
probabilities ``p_j = e^{s_j} / Σ e^{s_k}`` and charges ``-log p_y``, which is never quite 0: it always
wants more probability on the correct class. The totals drawn come from :mod:`linclass.losses`, so the
numbers are exactly the ones training minimizes.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from linclass.losses import softmax_loss_and_grad, svm_loss_and_grad
from linclass.report.style import CORRECT_COLOR, LINE_COLOR, VAL_COLOR, finish, new_figure, report_style, shorten


def hinge_terms(scores: np.ndarray, y: int, delta: float = 1.0) -> np.ndarray:
    """Each class's term ``max(0, s_j - s_y + Δ)`` of the hinge loss; the correct class's term is 0."""
    scores = np.asarray(scores, dtype=np.float64)
    terms = np.maximum(0.0, scores - scores[y] + delta)
    terms[y] = 0.0
    return terms


def softmax_probabilities(scores: np.ndarray) -> np.ndarray:
    """``e^{s_j} / Σ_k e^{s_k}``, computed after subtracting the largest score so no exponential overflows."""
    shifted = np.exp(np.asarray(scores, dtype=np.float64) - np.max(scores))
    return shifted / shifted.sum()


def plot_loss_comparison(scores: np.ndarray, y: int, delta: float = 1.0, path: str | os.PathLike | None = None,
                         class_names: Sequence[str] | None = None) -> Figure:
    """Draw one example's hinge loss (left) and softmax cross-entropy (right) for the same scores.

    Parameters
    ----------
    scores : ndarray (K,) or (1, K)
        The class scores ``W x + b`` of one example.
    y : int
        Its correct class.
    delta : float
        The SVM margin Δ.
    path : path-like, optional
        Where to save the picture as a PNG.
    class_names : sequence of K str, optional
        Bar labels; "class 0", "class 1", ... when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels side by side, 5 inches high, 12 inches wide (wider for more than 7 classes, up to 20).
    """
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores.ravel() if scores.ndim == 2 and len(scores) == 1 else scores
    if scores.ndim != 1 or not 0 <= int(y) < len(scores):
        raise ValueError(f"scores has shape {np.shape(scores)} and y = {y}: expected K scores of one example "
                         "and a class index in 0..K-1")
    y = int(y)
    names = [f"class {k}" for k in range(len(scores))] if class_names is None else [str(n) for n in class_names]
    if len(names) != len(scores):
        raise ValueError(f"class_names has {len(names)} names for the {len(scores)} scores")
    labels = [f"{shorten(name, 14)}\ns = {score:.2f}" for name, score in zip(names, scores, strict=True)]
    batch, target = scores[None, :], np.array([y])
    with report_style():
        figure = new_figure(float(np.clip(1.3 * len(scores) + 2, 12, 20)), 5)
        left, right = figure.subplots(1, 2)
        _draw_hinge(left, scores, y, labels, delta,
                    svm_loss_and_grad(batch, target, delta=delta)[0])
        _draw_softmax(right, softmax_probabilities(scores), y, labels, softmax_loss_and_grad(batch, target)[0])
        figure.suptitle(f"One example, two losses: the correct class is {names[y]!r}")
        return finish(figure, path)


def _draw_hinge(axes: Axes, scores: np.ndarray, y: int, labels: list[str], delta: float, total: float) -> None:
    terms = hinge_terms(scores, y, delta)
    bars = axes.bar(range(len(terms)), terms, color=VAL_COLOR, edgecolor="black", linewidth=0.6)
    bars[y].set_color("none")
    for k, term in enumerate(terms):
        if k == y:
            text = "correct class:\nno term"
        elif len(terms) <= 5:  # room to show the arithmetic
            correct = f"({scores[y]:.2f})" if scores[y] < 0 else f"{scores[y]:.2f}"
            text = f"max(0, {scores[k]:.2f} − {correct} + {delta:g})\n= {term:.2f}"
        else:
            text = f"{term:.2f}"
        axes.annotate(text, (k, term), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                      fontsize=9 if len(terms) <= 5 else 8, color=CORRECT_COLOR if k == y else "black")
    axes.set_title(f"Multiclass SVM (hinge), Δ = {delta:g}\n"
                   f"Lᵢ = Σ_{{j≠y}} max(0, sⱼ − s_y + Δ) = {total:.3f}")
    axes.set_ylabel("hinge term of each class")
    _class_axis(axes, labels, y, top=max(terms.max(), 0.5))


def _draw_softmax(axes: Axes, probabilities: np.ndarray, y: int, labels: list[str], total: float) -> None:
    colors = [CORRECT_COLOR if k == y else LINE_COLOR for k in range(len(probabilities))]
    axes.bar(range(len(probabilities)), probabilities, color=colors, edgecolor="black", linewidth=0.6)
    for k, probability in enumerate(probabilities):
        axes.annotate(f"{probability:.3f}", (k, probability), xytext=(0, 3), textcoords="offset points",
                      ha="center", va="bottom", fontsize=9)
    axes.set_title("Softmax (cross-entropy)\n"
                   f"Lᵢ = −log p_y = −log {probabilities[y]:.3f} = {total:.3f}")
    axes.set_ylabel("probability pⱼ = exp(sⱼ) / Σₖ exp(sₖ)")
    _class_axis(axes, labels, y, top=1.0)


def _class_axis(axes: Axes, labels: list[str], y: int, top: float) -> None:
    axes.set_xticks(range(len(labels)), labels, fontsize=9 if len(labels) <= 6 else 8 if len(labels) <= 10 else 6)
    axes.get_xticklabels()[y].set_fontweight("bold")
    axes.set_ylim(0, top * 1.22)
    axes.grid(True, axis="y", alpha=0.3)
