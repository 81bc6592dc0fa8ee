"""Pictures of a linear classifier and the self-contained HTML report of a training run.

Each ``plot_*`` function draws one idea of the lecture with matplotlib (an Agg canvas, no ``pyplot``, so
a program's own backend and settings are left alone), returns the ``Figure`` and, given ``path``,
saves it as a PNG. :func:`write_report` gathers the pictures and numbers of a run into ``report.html``.

==========================  =========================================================================
``plot_history``            loss per iteration and accuracy per epoch (learning curves)
``plot_templates``          each class's weights as an image (the algebraic interpretation)
``plot_confusion_matrix``   which classes are mistaken for which
``plot_examples``           test images with their top predictions
``plot_tune_heatmap``       validation accuracy over learning rate × regularization
``plot_decision_regions``   regions, zero-score lines and normals in 2-D (the geometric interpretation)
``plot_loss_comparison``    one example's hinge loss next to its softmax cross-entropy
``write_report``            the run as one self-contained HTML page
==========================  =========================================================================
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Where each public name lives. They are imported on first use (PEP 562), so that ``import linclass`` —
# and with it every command-line call — does not pay for loading matplotlib (about 0.25 s) until a
# picture is drawn.
_HOME = {
    "plot_history": "curves", "smooth": "curves",
    "plot_templates": "templates", "template_images": "templates",
    "confusion_matrix": "confusion", "plot_confusion_matrix": "confusion",
    "plot_examples": "examples", "top_predictions": "examples",
    "plot_tune_heatmap": "tuning",
    "plot_decision_regions": "geometry", "winning_class_grid": "geometry",
    "plot_loss_comparison": "loss_comparison", "hinge_terms": "loss_comparison",
    "softmax_probabilities": "loss_comparison",
    "write_report": "html", "FIGURES": "html", "REPORT_NAME": "html",
}
__all__ = list(_HOME)

if TYPE_CHECKING:  # the names for type checkers; ``as`` marks each as re-exported
    from linclass.report.confusion import confusion_matrix as confusion_matrix
    from linclass.report.confusion import plot_confusion_matrix as plot_confusion_matrix
    from linclass.report.curves import plot_history as plot_history
    from linclass.report.curves import smooth as smooth
    from linclass.report.examples import plot_examples as plot_examples
    from linclass.report.examples import top_predictions as top_predictions
    from linclass.report.geometry import plot_decision_regions as plot_decision_regions
    from linclass.report.geometry import winning_class_grid as winning_class_grid
    from linclass.report.html import FIGURES as FIGURES
    from linclass.report.html import REPORT_NAME as REPORT_NAME
    from linclass.report.html import write_report as write_report
    from linclass.report.loss_comparison import hinge_terms as hinge_terms
    from linclass.report.loss_comparison import plot_loss_comparison as plot_loss_comparison
    from linclass.report.loss_comparison import softmax_probabilities as softmax_probabilities
    from linclass.report.templates import plot_templates as plot_templates
    from linclass.report.templates import template_images as template_images
    from linclass.report.tuning import plot_tune_heatmap as plot_tune_heatmap


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'linclass.report' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"linclass.report.{_HOME[name]}"), name)
    globals()[name] = value  # found directly next time
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
