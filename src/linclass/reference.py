"""The reference tables of ``docs/reference.md``, written from the records every layer reads.

The losses, penalties, optimizers, schedules, data formats and hyperparameters are each declared once
(:mod:`linclass.losses`, :mod:`linclass.regularizers`, :mod:`linclass.optim`,
:mod:`linclass.data.catalog`, :mod:`linclass.train`); these tables are printed from those declarations,
so the documentation cannot drift from the code (a test compares the file with :func:`markdown`)::

    python -m linclass.reference > docs/reference.md
"""

from __future__ import annotations

from typing import Iterable, Sequence

__all__ = ["markdown"]


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; ``|`` inside a cell is escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown() -> str:
    """The whole reference page."""
    from linclass.data.catalog import FORMATS
    from linclass.estimator import PARAMETERS
    from linclass.nn.network import NETWORK_DEFAULTS, NETWORK_PARAMETERS
    from linclass.losses import LOSSES
    from linclass.optim import OPTIMIZERS, SCHEDULES
    from linclass.regularizers import PENALTIES

    sections = [
        "# Reference\n\nWritten by `python -m linclass.reference` from the declarations in the code; "
        "do not edit by hand.",
        "## Losses (`loss`, `--loss`)\n\n" + table(
            ("name", "title", "L_i", "options", "probabilities"),
            ((f"`{loss.name}`", loss.title, f"`{loss.formula}`", ", ".join(loss.options) or "—",
              "yes" if loss.probabilities else "no") for loss in LOSSES.values())),
        "## Penalties (`penalty`, `--penalty`)\n\n" + table(
            ("name", "title", "R(W)", "options"),
            ((f"`{item.name}`", item.title, f"`{item.formula}`", ", ".join(item.options) or "—")
             for item in PENALTIES.values())),
        "## Optimizers (`optimizer`, `--optimizer`)\n\n" + table(
            ("name", "update rule", "uses momentum"),
            ((f"`{item.name}`", item.title, "yes" if item.uses_momentum else "no") for item in OPTIMIZERS.values())),
        "## Learning-rate schedules (`lr_schedule`, `--schedule`)\n\n" + table(
            ("name", "the rate", "class"),
            ((f"`{item.name}`", item.title, f"`{item.cls.__name__}`") for item in SCHEDULES.values())),
        "## Data formats (`linclass.datasets.load`, `--data`)\n\n" + table(
            ("name", "what", "image_size", "mmap"),
            ((f"`{item.name}`", item.title, "yes" if item.resizes else "no", "yes" if item.maps else "no")
             for item in FORMATS.values())),
        "## Hyperparameters (`LinearClassifier`, `linclass train`)\n\n" + table(
            ("name", "option", "default", "allowed", "what"),
            ((f"`{item.name}`", "—" if item.flag is None else f"`--{item.flag.replace('_', '-')}`",
              f"`{item.default!r}`", item.constraint.describe(), item.help) for item in PARAMETERS.values())),
        "## A network's own (`MLPClassifier`, `linclass train --model mlp`)\n\nEvery other setting, but "
        "`solver`, is the linear classifier's above, with other defaults for "
        + ", ".join(f"`{name}` (`{value!r}`)" for name, value in NETWORK_DEFAULTS.items()) + ".\n\n" + table(
            ("name", "option", "default", "allowed", "what"),
            ((f"`{item.name}`", f"`--{str(item.flag).replace('_', '-')}`", f"`{item.default!r}`",
              item.constraint.describe(), item.help) for item in NETWORK_PARAMETERS.values())),
    ]
    return "\n\n".join(sections) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
