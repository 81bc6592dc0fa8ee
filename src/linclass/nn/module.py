"""``Module``: what every layer and network shares, as in ``torch.nn.Module``.

A module holds parameters (leaf tensors that require grad) and sub-modules, both found by assigning
them as attributes (``self.fc1 = Linear(784, 100)``), in the order they were assigned. Everything else
derives from that: ``parameters()`` for the optimizer, dotted ``named_parameters()`` and
``state_dict()`` for saving, ``zero_grad()``, ``train()`` / ``eval()``, and a ``repr`` laid out as
PyTorch's.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from linclass.tensor import Tensor, no_grad, tensor


def Parameter(data: Any, requires_grad: bool = True) -> Tensor:
    """A leaf tensor that trains: what a module registers when it is assigned as an attribute.

    (In PyTorch a subclass of Tensor; here a plain leaf tensor, since a module registers every leaf
    that requires grad.)
    """
    return tensor(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad,
                  dtype=data.dtype if isinstance(data, (Tensor, np.ndarray)) else None)


class Module:
    """Base class of layers and networks: subclasses assign their parts in ``__init__`` and define
    ``forward``; calling the module runs ``forward``."""

    _parameters: dict[str, Tensor]  # set by __init__, past __setattr__, which files assignments into them
    _modules: dict[str, Module]
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() before assigning {name}")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Module):
            self._modules[name] = value
        elif isinstance(value, Tensor) and value.requires_grad and value.is_leaf:
            self._parameters[name] = value
        object.__setattr__(self, name, value)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- what it holds ------------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module and all below it, depth first, with dotted names ("" for this one)."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Every parameter once, with its dotted name (``0.weight``, ``fc1.bias``), in assignment order."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, parameter in module._parameters.items():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    # -- training -----------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (None, or zeros in place with ``set_to_none=False``)."""
        for parameter in self.parameters():
            if set_to_none:
                parameter.grad = None
            elif parameter.grad is not None:
                parameter.grad.zero_()

    def train(self, mode: bool = True) -> "Module":
        """Set training mode on this module and all below it; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def to(self, dtype: Any) -> "Module":
        """Every parameter converted to ``dtype`` in place (the same tensors, new values); returns self."""
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype)
            parameter.grad = None
        return self

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    # -- saving -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Tensor]:
        """Every parameter by its dotted name, detached (sharing memory), as PyTorch's."""
        return {name: parameter.detach() for name, parameter in self.named_parameters()}

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> None:
        """Copy saved values into the parameters in place; with ``strict``, the names must match."""
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}: "
                               f"missing keys {missing}, unexpected keys {unexpected}")
        with no_grad():
            for name, parameter in own.items():
                if name not in state_dict:
                    continue
                value = np.asarray(state_dict[name].data if isinstance(state_dict[name], Tensor) else state_dict[name])
                if value.shape != parameter.shape:
                    raise RuntimeError(f"size mismatch for {name}: copying a param with shape {value.shape}, "
                                       f"the shape in the current model is {parameter.shape}")
                parameter.copy_(value)

    # -- printing -----------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """What goes between the parentheses of this module's own line (its settings)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "\n  ".join(([self.extra_repr()] if self.extra_repr() else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"
