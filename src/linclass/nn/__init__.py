"""Neural networks on the engine, shaped like ``torch.nn``: modules that hold parameters, layers, and
the functional losses, so that a PyTorch user's MLP script runs with ``lc`` in place of ``torch``.

>>> import linclass as lc
>>> net = lc.nn.Sequential(lc.nn.Flatten(), lc.nn.Linear(784, 100), lc.nn.ReLU(), lc.nn.Linear(100, 10))
"""

from linclass.nn import functional, init
from linclass.nn.layers import Flatten, Linear, ReLU, Sequential, Sigmoid, Tanh
from linclass.nn.module import Module, Parameter

__all__ = ["Module", "Parameter", "Linear", "ReLU", "Tanh", "Sigmoid", "Sequential", "Flatten", "functional", "init",
           "MLPClassifier"]


def __getattr__(name: str) -> object:
    """``MLPClassifier`` on first use: it brings scikit-learn, which the layers do not need."""
    if name == "MLPClassifier":
        from linclass.nn.classifier import MLPClassifier

        return MLPClassifier
    raise AttributeError(f"module 'linclass.nn' has no attribute {name!r}")
