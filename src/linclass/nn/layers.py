"""Layers: ``Linear`` (the score function ``x Wᵀ + b``), the activations that bend it, ``Flatten`` and
``Sequential``, as in ``torch.nn``."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from linclass import ops
from linclass.nn import functional as F
from linclass.nn import init
from linclass.nn.module import Module, Parameter
from linclass.tensor import Tensor


class Linear(Module):
    """``y = x Wᵀ + b``: each of the ``out_features`` rows of W is a template a unit matches ``x`` with.

    W is ``out_features × in_features`` and b has ``out_features`` entries, both drawn uniform in
    ``±1/√in_features`` (PyTorch's default; see :mod:`linclass.nn.init`), from ``generator`` when given.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = init.fan_in_bound(in_features)
        self.weight = Parameter(init.uniform((out_features, in_features), bound, np.dtype(dtype), generator))
        self.bias = Parameter(init.uniform((out_features,), bound, np.dtype(dtype), generator)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """``max(0, x)``, elementwise: the bend that lets a second layer do what one line cannot."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Tanh(Module):
    """``tanh(x)``, elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.tanh(x)


class Sigmoid(Module):
    """``1 / (1 + e^-x)``, elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.sigmoid(x)


class Flatten(Module):
    """Dimensions ``start_dim`` to ``end_dim`` joined into one: images N×H×W become rows N×(H·W)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        start, end = (d % len(shape) for d in (self.start_dim, self.end_dim))
        return ops.reshape(x, shape[:start] + (-1,) + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Modules applied one after another; they are named ``0``, ``1``, ... as in PyTorch."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, module in enumerate(modules):
            setattr(self, str(i), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
