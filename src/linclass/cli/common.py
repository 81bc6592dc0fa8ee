"""Options and helpers shared by the sub-commands.

Every user mistake ends in one line on stderr and a non-zero exit code: option values are checked by
the argparse types below as the command line is parsed (so a negative learning rate is refused before
any data is loaded), and :class:`OneLineErrorParser` prints argparse's own complaints as one line too.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Mapping, NoReturn

import numpy as np

from linclass.constraints import Boolean, Constraint, Hyperparameter, Integer, OneOf, Real, Sizes
from linclass.distributed.blocks import STREAM_SETTINGS
from linclass.errors import LinclassError

if TYPE_CHECKING:
    from linclass.data import Dataset


class OneLineErrorParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: what is wrong, and where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args: Iterable[str] | None = None, namespace: Any = None) -> tuple[Any, list[str]]:
        """As argparse's, but a sub-command refuses options it does not know itself (``linclass train: ...``).

        ``namespace`` is, as there, any object to set the options on (a new ``Namespace`` when None), and
        comes back first.
        """
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self._subparsers is None:  # a sub-command's parser: nothing after it could use them
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def common_options() -> argparse.ArgumentParser:
    """A parent parser with the options every sub-command accepts (``parents=[common_options()]``)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    return parent


# --- argparse types: each converts one option's text or says, in one line, what it expected ----------

def checked_type(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a function that reads an option's text or raises ValueError with the reason."""

    def checked(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return checked


def constraint_type(constraint: Constraint) -> Callable[[str], Any]:
    """An argparse type: the option's text read and checked by ``constraint``
    (:mod:`linclass.constraints`), refused with the words every other layer uses for that rule."""
    return checked_type(constraint.parse)


positive_int = constraint_type(Integer(1))
"""A whole number >= 1, e.g. a number of examples to show."""
open_fraction = constraint_type(Real(0, 1, low_open=True, high_open=True, example="0.1"))
"""A fraction strictly between 0 and 1, e.g. the share of training data kept for validation."""


def image_size(text: str) -> tuple[int, int]:
    """``"32x32"`` (height × width; ``X`` or ``×`` too) → ``(32, 32)``, both whole numbers of at least 1, and
    no more pixels than :data:`linclass.limits.MAX_IMAGE_PIXELS`: refused before any image is resized."""
    from linclass.limits import MAX_IMAGE_PIXELS

    parts = text.strip().lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not HxW (height x width), e.g. 32x32")
    height, width = (int(part) for part in parts)
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"{text}: height and width must be at least 1, e.g. 32x32")
    if height * width > MAX_IMAGE_PIXELS:
        raise argparse.ArgumentTypeError(f"{text}: {height * width} pixels an image is more than the "
                                         f"{MAX_IMAGE_PIXELS} linclass reads into memory, e.g. 32x32")
    return height, width


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """``MODEL``, the saved model a command works on: a model file, or the run folder that holds one."""
    parser.add_argument("model", metavar="MODEL", help="a model file, or a run folder written by linclass train")


def add_image_size_option(group: argparse._ActionsContainer) -> None:
    """``--image-size HxW``, the ``image_size`` of :func:`linclass.datasets.load`."""
    group.add_argument("--image-size", type=image_size, metavar="HxW",
                       help="resize every image of an image folder to H×W pixels (needed when their sizes "
                            "differ), or the shape of one example of .npz/.csv/.npy arrays")


def list_of(kind: Callable[[str], Any]) -> Callable[[str], list]:
    """A comma-separated list of values of ``kind``: ``"1e-3,1e-2"`` → ``[0.001, 0.01]``."""

    def convert(text: str) -> list:
        items = [item.strip() for item in text.split(",")]
        if not all(items):
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of values")
        return [kind(item) for item in items]

    return convert


# --- data -----------------------------------------------------------------------------------------

def load_data(name_or_path: str, root: str | None = None, image_size: tuple[int, int] | None = None) -> Dataset:
    """:func:`linclass.datasets.load`, but a name that is neither a path nor a known set and looks like a
    known one (``fashion-mnsit``) is refused with the name it was probably meant to be."""
    from linclass import data
    from linclass.data.catalog import ALIASES, canonical_name

    text = str(name_or_path)
    if canonical_name(text) is None and not Path(text).expanduser().exists():
        names = [*data.known_datasets(), *ALIASES]
        close = difflib.get_close_matches(text.strip().lower().replace("_", "-"), names, n=1, cutoff=0.6)
        if close:
            raise LinclassError(f"{text}: no such file or folder, and not a known dataset; did you mean "
                                f"{canonical_name(close[0])}?")
    return data.load(name_or_path, root=root, image_size=image_size)


# --- output ----------------------------------------------------------------------------------------

def print_json(summary: Mapping[str, Any], stream: IO[str] | None = None) -> None:
    """Print ``summary`` as one line of JSON (NumPy numbers become plain numbers)."""
    print(json.dumps(summary, default=json_value), file=stream or sys.stdout, flush=True)


def json_value(value: Any) -> Any:
    """What ``json.dumps`` writes for a value it does not know: NumPy numbers and arrays, paths."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def percent(value: float | None) -> str:
    """``0.9134`` as ``"91.3%"``; None as ``"—"``."""
    return "—" if value is None else f"{value:.1%}"


class ProgressBar:
    """One line on stderr, rewritten after each step of a long job (an epoch, a trial).

    It is drawn only on a terminal (a log file or a pipe gets no carriage-return clutter) and not with
    ``--quiet``; otherwise every method does nothing.

    Parameters
    ----------
    total : int
        The number of steps the job will have; with ``open_ended``, the most it may have.
    label : str
        What a step is called: ``"epoch"``, ``"trial"``.
    open_ended : bool, optional
        The job stops when it is done (training until converged) rather than after ``total`` steps: the
        line counts the steps and says at most how many, with no bar that would stay nearly empty.
    enabled : bool, optional
        Draw the bar; by default when ``stream`` is a terminal.
    stream : file, optional
        Where to draw it (stderr).
    """

    WIDTH = 24

    def __init__(self, total: int, label: str = "epoch", enabled: bool | None = None,
                 stream: IO[str] | None = None, open_ended: bool = False) -> None:
        self.total, self.label, self.open_ended = total, label, open_ended
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.drawn = False

    def update(self, done: int, details: str = "") -> None:
        """Redraw the bar after step ``done``, followed by ``details``."""
        if not self.enabled:
            return
        self.stream.write("\r" + self.line(done, details) + "\x1b[K")
        self.stream.flush()
        self.drawn = True

    def line(self, done: int, details: str = "") -> str:
        """The bar's text, e.g. ``epoch  3/20 [######------------------] loss 0.412 ... 1.2 s``, or
        ``epoch 3 (until converged, at most 1000) loss 0.412 ... 1.2 s`` when open-ended."""
        parts = [self._count(done), details, f"{time.perf_counter() - self.start:.1f} s"]
        return " ".join(part for part in parts if part)

    def _count(self, done: int) -> str:
        if self.open_ended:
            return f"{self.label} {done} (until converged, at most {self.total})"
        filled = round(self.WIDTH * min(done, self.total) / max(self.total, 1))
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        return f"{self.label} {done:>{len(str(self.total))}}/{self.total} [{bar}]"

    def close(self) -> None:
        """End the bar's line, so that what is printed next starts on a line of its own."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def epoch_details(record: Mapping[str, Any]) -> str:
    """An epoch's numbers for the progress bar: ``loss 0.4120 train 91.2% val 89.8%``."""
    return (f"loss {record['loss']:.4f} train {percent(record.get('train_accuracy'))} "
            f"val {percent(record.get('val_accuracy'))}")


# --- options of the commands that train ------------------------------------------------------------
# Each training option is a hyperparameter of linclass.train.TrainConfig that declares a flag: its name,
# rule, help and default come from that declaration (linclass.train.HYPERPARAMETERS), nothing is
# written here again. Options are parsed with default None, so that a command can tell what was given
# (``--resume`` refuses to change a run's settings) and then fills the defaults in.

CENTERS = ("mean", "standardize", "none")
DATA_DEFAULTS = {"data": "digits", "root": None, "image_size": None, "val_fraction": 0.1, "center": "mean",
                 "block_size": STREAM_SETTINGS["block_size"].default}
"""The defaults of the options that choose and prepare the data (they are not the classifier's)."""


MODELS = {"linear": ("linclass.estimator", "LinearClassifier", "a linear classifier, s = W x + b"),
          "mlp": ("linclass.nn.classifier", "MLPClassifier",
                  "a network of fully connected layers, s = W₂ σ(W₁ x + b₁) + b₂ (see --hidden)")}
"""What ``--model`` chooses: the classifier class (module, name) and what it is."""
NETWORK_ONLY = ("hidden", "activation")
LINEAR_ONLY = {"solver": "a network's steps always run on the autograd engine",
               "sync_every": "a network trains in one process", "averaging": "a network trains in one process"}
"""The options of ``--model linear`` alone, and why a network has none of them."""


def option_hyperparameters(group: str | None = None) -> list[Hyperparameter]:
    """The hyperparameters the command line offers as options (those of ``group`` only, when given): every
    setting of the linear classifier, and those a network adds."""
    from linclass.distributed.cluster import CLUSTER_PARAMETERS
    from linclass.nn.network import NETWORK_PARAMETERS
    from linclass.train import HYPERPARAMETERS

    return [item for item in (*HYPERPARAMETERS.values(), *CLUSTER_PARAMETERS.values(), *NETWORK_PARAMETERS.values())
            if item.flag is not None and (group is None or item.group == group)]


def check_model_options(args: argparse.Namespace) -> None:
    """Refuse an option given for the other kind of model (``--hidden`` without ``--model mlp``, ``--solver``
    with it), rather than train without it."""
    network = getattr(args, "model", None) == "mlp"
    for flag in (*LINEAR_ONLY, "cluster") if network else NETWORK_ONLY:
        if getattr(args, flag, None) is not None:
            why = LINEAR_ONLY.get(flag, "a network trains in one process") if network else \
                "a linear classifier has no hidden layer"
            raise LinclassError(f"--{flag.replace('_', '-')} applies to --model {'linear' if network else 'mlp'} "
                                f"only: {why}")


def model_class(name: str) -> Any:
    """The classifier class ``--model`` names (importing it: scikit-learn comes with it)."""
    import importlib

    module, attribute, _ = MODELS[name]
    return getattr(importlib.import_module(module), attribute)


def option_value(hyperparameter: Hyperparameter, value: Any) -> Any:
    """A hyperparameter's value as the command line writes it: None among names is ``"none"``, layer
    sizes are ``"100,50"``."""
    if value is None and isinstance(hyperparameter.constraint, OneOf):
        return "none"
    if isinstance(hyperparameter.constraint, Sizes) and value is not None:
        return ",".join(str(size) for size in value)
    return value


def option_type(hyperparameter: Hyperparameter) -> Callable[[str], Any]:
    """An argparse type: the option's text read and checked by the hyperparameter's own rule, and kept as
    the command line writes it (:func:`option_value`), so that ``config.json`` reads back the same."""
    convert = constraint_type(hyperparameter.constraint)
    return lambda text: option_value(hyperparameter, convert(text))


def add_hyperparameter_option(group: argparse._ActionsContainer, hyperparameter: Hyperparameter) -> None:
    """``--flag`` for ``hyperparameter``, its help ending with its default."""
    flag = "--" + str(hyperparameter.flag).replace("_", "-")
    constraint, default = hyperparameter.constraint, option_value(hyperparameter, hyperparameter.default)
    from linclass.nn.network import NETWORK_DEFAULTS

    shown = default is not None and not isinstance(constraint, Boolean)
    network = f"; {NETWORK_DEFAULTS[hyperparameter.name]} with --model mlp" if hyperparameter.name in NETWORK_DEFAULTS \
        else ""
    help = hyperparameter.help.replace("%", "%%") + (f" (default {constraint.show(default)}{network})" if shown else "")
    if isinstance(constraint, Boolean):
        group.add_argument(flag, action="store_true", default=None, help=help)
    elif isinstance(constraint, OneOf):
        group.add_argument(flag, choices=constraint.names, help=help)
    else:
        group.add_argument(flag, type=option_type(hyperparameter), metavar=hyperparameter.metavar, help=help)


def training_defaults(model: str = "linear") -> dict[str, Any]:
    """The defaults of ``train`` and ``tune``: the data's, the model's, then every hyperparameter option's
    (by its flag), a network's own where it has them (:data:`linclass.nn.network.NETWORK_DEFAULTS`)."""
    from linclass.nn.network import NETWORK_DEFAULTS

    own = NETWORK_DEFAULTS if model == "mlp" else {}
    options = {str(item.flag): option_value(item, own.get(item.name, item.default))
               for item in option_hyperparameters()}
    return {**DATA_DEFAULTS, "model": model, **options}


def classifier_parameters(options: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the classifier ``--model`` names that the command-line options ask for
    (``"none"`` read as None, ``"100,50"`` as layer sizes)."""
    skipped = LINEAR_ONLY if options.get("model") == "mlp" else NETWORK_ONLY
    parameters = {}
    for item in option_hyperparameters():
        if item.flag in skipped:
            continue
        value = options.get(str(item.flag))
        parameters[item.name] = item.constraint.parse(value) if isinstance(value, str) else value
    return parameters


def data_options() -> argparse.ArgumentParser:
    """``--data``, ``--root``, ``--image-size``, ``--val-fraction``, ``--seed``, ``--center``: what to train on."""
    from linclass.data.catalog import FORMATS, KNOWN

    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("data")
    group.add_argument("--data", metavar="NAME|PATH",
                       help=f"a known dataset ({', '.join(KNOWN)}; see linclass datasets) or a path: "
                            f"{'; '.join(item.title for item in FORMATS.values())} "
                            f"(default {DATA_DEFAULTS['data']}, built in)")
    group.add_argument("--root", metavar="DIR", help="look for the dataset here first")
    add_image_size_option(group)
    group.add_argument("--val-fraction", type=open_fraction, metavar="F",
                       help="share of the training data kept aside for validation, stratified (default 0.1)")
    for hyperparameter in option_hyperparameters("data"):
        add_hyperparameter_option(group, hyperparameter)
    group.add_argument("--center", choices=CENTERS,
                       help="preprocessing after scaling to [0, 1]: subtract the training mean image, also "
                            "divide by each feature's standard deviation, or nothing (default mean)")
    return parent


def stream_options() -> argparse.ArgumentParser:
    """``--block-size``: how ``linclass train`` reads a shards folder, the data larger than memory it streams."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("data larger than memory (a shards folder, as linclass shards writes)")
    add_hyperparameter_option(group, STREAM_SETTINGS["block_size"])
    return parent


def hyperparameter_options(group: str,
                           first: Callable[[argparse._ArgumentGroup], Any] | None = None) -> argparse.ArgumentParser:
    """A parent parser with the options of the hyperparameters declared in ``group`` (after those that
    ``first`` adds to the group)."""
    parent = argparse.ArgumentParser(add_help=False)
    section = parent.add_argument_group(group)
    if first is not None:
        first(section)
    for hyperparameter in option_hyperparameters(group):
        add_hyperparameter_option(section, hyperparameter)
    return parent


def optimization_options() -> argparse.ArgumentParser:
    """How the weights are found: penalty, optimizer, schedule, batches, epochs, early stopping..."""
    return hyperparameter_options("training")


def model_options() -> argparse.ArgumentParser:
    """``--model``, the loss and the two hyperparameters that matter most (``--loss``, ``--reg``, ``--lr``)."""
    return hyperparameter_options("model", lambda group: group.add_argument(
        "--model", choices=tuple(MODELS), help="; ".join(f"{name}: {what}" for name, (_, _, what) in MODELS.items())
        + f" (default {training_defaults()['model']})"))


def network_options() -> argparse.ArgumentParser:
    """``--hidden``, ``--activation``: the layers of ``--model mlp``."""
    return hyperparameter_options("network")


def cluster_options() -> argparse.ArgumentParser:
    """``--cluster``, ``--sync-every``, ``--averaging``: training on a Dask cluster (the ``dask`` extra)."""
    from linclass.distributed.cluster import parse_cluster

    return hyperparameter_options("cluster", lambda group: group.add_argument(
        "--cluster", type=checked_type(parse_cluster), metavar="local:N|tcp://HOST:PORT",
        help="train data-parallel on a Dask cluster: local:N starts one of N worker processes on this machine, "
             "tcp://HOST:PORT joins a running scheduler (pip install 'linclass[dask]')"))


def output_options() -> argparse.ArgumentParser:
    """``--out``, ``--json``, ``--quiet``: where a run goes and what it prints."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("output")
    group.add_argument("--out", metavar="DIR", help="the run's folder (default runs/<data>-<loss>-<time>)")
    group.add_argument("--json", action="store_true", help="print one JSON object on stdout instead of a summary")
    group.add_argument("--quiet", action="store_true",
                       help="no progress: neither the bar (on a terminal) nor a line per step on stderr (elsewhere)")
    return parent


def fill_defaults(args: argparse.Namespace, defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The options of ``args`` as a dict, with ``defaults`` (:func:`training_defaults`) for those not given."""
    defaults = training_defaults(getattr(args, "model", None) or "linear") if defaults is None else defaults
    options = vars(args).copy()
    for key, value in defaults.items():
        if options.get(key) is None:
            options[key] = value
    return options
