"""linclass: image classification with linear classifiers, on its own tensor autograd engine.

>>> import linclass as lc
>>> x = lc.tensor(3., requires_grad=True)
"""

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

from linclass.errors import DataError, DivergenceError, LinclassError, ModelFileError
from linclass.tensor import Tensor, as_tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, tensor
from linclass.ops import (
    abs, clamp, clone, exp, log, log_softmax, logsumexp, matmul, max, maximum, mean, min, minimum, reciprocal,
    relu, reshape, sigmoid, softmax, sqrt, sum, tanh, transpose, unsqueeze, arange, argmax, cast,
)
from linclass import gradcheck, graph
from linclass.losses import softmax_loss, squared_hinge_loss, svm_loss
from linclass import losses, nn, optim, regularizers
from linclass.nn.init import manual_seed
from linclass import data as datasets
from linclass import model, train

# Loaded on first use (PEP 562): scikit-learn and SciPy take about 0.6 s to import and matplotlib
# 0.25 s, while the engine needs NumPy only. Name -> (module, attribute of it, or None for the module).
_LAZY = {
    "LinearClassifier": ("linclass.estimator", "LinearClassifier"),
    "MLPClassifier": ("linclass.nn.classifier", "MLPClassifier"),
    "load": ("linclass.estimator", "load"),
    "estimator": ("linclass.estimator", None),
    "distributed": ("linclass.distributed", None),
    "persist": ("linclass.persist", None),
    "report": ("linclass.report", None),
    "tune": ("linclass.tune", None),
}

if TYPE_CHECKING:  # the lazy names' types, for a type checker; "import x as x" marks a re-export
    from linclass import estimator as estimator, persist as persist, report as report, tune as tune
    from linclass import distributed as distributed
    from linclass.estimator import LinearClassifier as LinearClassifier
    from linclass.nn.classifier import MLPClassifier as MLPClassifier
    from linclass.estimator import load as load

__all__ = [
    "DataError", "DivergenceError", "LinclassError", "ModelFileError",
    "Tensor", "as_tensor", "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled", "tensor",
    "abs", "clamp", "clone", "exp", "log", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min",
    "minimum", "reciprocal", "relu", "reshape", "sigmoid", "softmax", "sqrt", "sum", "tanh", "transpose",
    "unsqueeze", "arange", "argmax", "cast",
    "gradcheck", "graph", "softmax_loss", "squared_hinge_loss", "svm_loss", "losses", "nn", "optim",
    "regularizers", "manual_seed", "datasets", "model", "train",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    """Import a name of :data:`_LAZY` when it is first asked for, and keep it."""
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'linclass' has no attribute {name!r}") from None
    value = importlib.import_module(module_name)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
