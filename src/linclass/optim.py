"""Optimizers and learning-rate schedules: how a gradient becomes a step.

Gradient descent steps against the gradient, ``w ← w - lr · g``. The optimizers here follow
``torch.optim`` in name and in arithmetic (so a PyTorch user's settings carry over), each on a list
of Tensors, updating ``.data`` in place from ``.grad`` (parameters whose ``.grad`` is None are skipped):

* ``SGD(params, lr)``                        ``w ← w - lr g``
* ``SGD(params, lr, momentum=μ)``            ``v ← μ v + g;  w ← w - lr v``
* ``SGD(params, lr, momentum=μ, nesterov=True)``  ``v ← μ v + g;  w ← w - lr (g + μ v)``
* ``Adam(params, lr, betas=(β1, β2), eps)``  ``m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;
  w ← w - lr/(1-β1^t) · m / (√v / √(1-β2^t) + eps)``  (bias-corrected moments, step t = 1, 2, ...)

The velocity ``v`` starts at 0, so the first momentum step uses ``v = g`` as PyTorch's does (PyTorch's
dampening is 0 here). Every buffer is allocated once, when the optimizer is made; a step allocates
nothing.

A schedule changes ``optimizer.lr`` each time its ``step()`` is called (usually once an epoch), as
``torch.optim.lr_scheduler`` does: constant, step decay, exponential decay and cosine annealing.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from linclass.constraints import Integer, Real
from linclass.inplace import bump_version
from linclass.tensor import Tensor

__all__ = [
    "Optimizer", "SGD", "Adam", "make_optimizer", "OptimizerChoice", "OPTIMIZERS",
    "LRSchedule", "ConstantLR", "StepLR", "ExponentialLR", "CosineAnnealingLR", "make_schedule",
    "ScheduleChoice", "SCHEDULES", "schedule_for_run",
]


class Optimizer(ABC):
    """What every optimizer shares: the parameters, the learning rate ``lr``, the L2 ``weight_decay``,
    ``zero_grad``.

    Subclasses implement :meth:`step`.
    """

    def __init__(self, params: Iterable[Tensor], lr: float, weight_decay: float = 0.0) -> None:
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ValueError("the optimizer got an empty parameter list; pass the Tensors to train")
        for p in self.params:
            if not isinstance(p, Tensor) or p.dtype.kind != "f":
                raise TypeError(f"optimizer parameters must be float Tensors, got {_describe(p)}")
        LEARNING_RATE.check("lr", lr)
        _check_non_negative("weight_decay", weight_decay)
        self.lr = lr
        self.weight_decay = weight_decay
        # Scratch space for ``lr · direction`` and for the decayed gradients, so that a step allocates nothing.
        self._scratch = [np.empty_like(p.data) for p in self.params]
        self._decayed = [np.empty_like(p.data) for p in self.params] if weight_decay else []

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward pass (which would otherwise add to them).

        As in PyTorch, ``.grad`` becomes None by default; with ``set_to_none=False`` it is filled with
        zeros in place instead.
        """
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.data[...] = 0

    @abstractmethod
    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""

    # -- state, as torch.optim keeps it: per-parameter buffers and the hyperparameters ------------------
    def state_dict(self) -> dict[str, Any]:
        """A copy of everything a resumed run needs: ``{"state": {i: buffers}, "param_groups": [...]}``,
        the layout of ``torch.optim``'s, with NumPy arrays for the buffers."""
        state = {i: {name: np.array(value) for name, value in self._state(i).items()} for i in range(len(self.params))}
        return {"state": state, "param_groups": [{**self._hyperparameters(), "params": list(range(len(self.params)))}]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take back the state that :meth:`state_dict` gave, for the same parameters (checked)."""
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self.params):
            raise ValueError(f"the state is for {sum(len(g['params']) for g in groups)} parameters, "
                             f"this optimizer has {len(self.params)}")
        hyperparameters = {k: v for k, v in groups[0].items() if k != "params"}
        if set(hyperparameters) != set(self._hyperparameters()):
            raise ValueError(f"the state is of another optimizer: it has {sorted(hyperparameters)}, "
                             f"{type(self).__name__} has {sorted(self._hyperparameters())}")
        for i in range(len(self.params)):
            buffers = state_dict["state"].get(i, {})
            for name, value in self._state(i).items():
                saved = np.asarray(buffers[name])
                if saved.shape != np.shape(value):
                    raise ValueError(f"the saved {name} of parameter {i} has shape {saved.shape}, "
                                     f"the parameter {np.shape(value)}")
            self._load_state(i, buffers)
        for name, value in hyperparameters.items():
            setattr(self, name, tuple(value) if isinstance(value, list) else value)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr}

    def _state(self, i: int) -> dict[str, Any]:
        """Parameter ``i``'s buffers, by their names in PyTorch."""
        return {}

    def _load_state(self, i: int, buffers: dict[str, Any]) -> None:
        """Copy saved buffers into parameter ``i``'s own (an optimizer without buffers has none to copy)."""
        return None

    def _with_weight_decay(self, i: int, g: np.ndarray) -> np.ndarray:
        """``g + weight_decay · w`` (PyTorch's L2 weight decay), in a buffer of its own; ``g`` without."""
        if not self.weight_decay:
            return g
        decayed = self._decayed[i]
        np.multiply(self.params[i].data, self.weight_decay, out=decayed)
        decayed += g
        return decayed

    def _descend(self, i: int, direction: np.ndarray) -> None:
        """``w ← w - lr · direction`` for parameter ``i``, in place."""
        scratch = self._scratch[i]
        np.multiply(direction, self.lr, out=scratch)
        self.params[i].data -= scratch
        bump_version(self.params[i])


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum, as ``torch.optim.SGD``.

    Parameters
    ----------
    params : iterable of Tensor
        The tensors to train.
    lr : float
        The learning rate (> 0).
    momentum : float
        μ in [0, 1): how much of the previous velocity is kept; 0 is plain SGD.
    nesterov : bool
        Step with the look-ahead ``g + μ v`` instead of ``v`` (needs momentum > 0).
    weight_decay : float
        λ >= 0: the gradient gets ``λ w`` added before the step (L2 decay, as PyTorch's).
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        _check_fraction("momentum", momentum)
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0")
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocities = [np.zeros_like(p.data) for p in self.params] if momentum else []

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def _state(self, i: int) -> dict[str, Any]:
        return {"momentum_buffer": self.velocities[i]} if self.momentum else {}

    def _load_state(self, i: int, buffers: dict[str, Any]) -> None:
        if self.momentum:
            np.copyto(self.velocities[i], buffers["momentum_buffer"])

    def step(self) -> None:
        """One step on every parameter whose ``.grad`` is set: ``w ← w - lr · direction``."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = self._with_weight_decay(i, p.grad.data)
            if not self.momentum:
                self._descend(i, g)
                continue
            v = self.velocities[i]
            v *= self.momentum
            v += g
            if self.nesterov:
                look_ahead = self._scratch[i]
                np.multiply(v, self.momentum, out=look_ahead)
                look_ahead += g
                self._descend(i, look_ahead)
            else:
                self._descend(i, v)


class Adam(Optimizer):
    """Adam: steps scaled by running averages of the gradient and of its square, as ``torch.optim.Adam``.

    Parameters
    ----------
    params : iterable of Tensor
        The tensors to train.
    lr : float
        The learning rate (> 0).
    betas : (float, float)
        Decay rates β1, β2 in [0, 1) of the first and second moment averages.
    eps : float
        Added to the denominator (>= 0) so that it is never 0.
    weight_decay : float
        λ >= 0: the gradient gets ``λ w`` added first (L2 decay, as PyTorch's Adam).
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        beta1, beta2 = betas
        _check_fraction("betas[0]", beta1)
        _check_fraction("betas[1]", beta2)
        _check_non_negative("eps", eps)
        self.betas = (beta1, beta2)
        self.eps = eps
        self.first_moments = [np.zeros_like(p.data) for p in self.params]
        self.second_moments = [np.zeros_like(p.data) for p in self.params]
        self.steps = [0] * len(self.params)  # per parameter: one without a gradient is not stepped

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}

    def _state(self, i: int) -> dict[str, Any]:
        return {"step": self.steps[i], "exp_avg": self.first_moments[i], "exp_avg_sq": self.second_moments[i]}

    def _load_state(self, i: int, buffers: dict[str, Any]) -> None:
        self.steps[i] = int(buffers["step"])
        np.copyto(self.first_moments[i], buffers["exp_avg"])
        np.copyto(self.second_moments[i], buffers["exp_avg_sq"])

    def step(self) -> None:
        """One Adam step on every parameter whose ``.grad`` is set."""
        beta1, beta2 = self.betas
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = self._with_weight_decay(i, p.grad.data)
            m, v, scratch = self.first_moments[i], self.second_moments[i], self._scratch[i]
            self.steps[i] += 1
            t = self.steps[i]
            np.multiply(g, 1 - beta1, out=scratch)  # m ← β1 m + (1-β1) g
            m *= beta1
            m += scratch
            np.multiply(g, g, out=scratch)  # v ← β2 v + (1-β2) g²
            scratch *= 1 - beta2
            v *= beta2
            v += scratch
            np.sqrt(v, out=scratch)  # scratch becomes the denominator √v / √(1-β2^t) + eps
            scratch /= math.sqrt(1 - beta2 ** t)
            scratch += self.eps
            np.divide(m, scratch, out=scratch)
            scratch *= self.lr / (1 - beta1 ** t)
            p.data -= scratch
            bump_version(p)


@dataclass(frozen=True)
class OptimizerChoice:
    """An update rule a classifier can train with, as its ``optimizer`` setting names it.

    ``build(params, lr, momentum)`` makes the optimizer; ``uses_momentum`` says whether the momentum
    setting matters (``needs_momentum``: whether it must be > 0); ``adaptive`` whether each step's size is
    the learning rate itself whatever the gradient (Adam), which decides how a diverged rate is lowered.
    """

    name: str
    title: str
    build: Callable[[Iterable[Tensor], float, float], Optimizer]
    uses_momentum: bool = False
    needs_momentum: bool = False
    adaptive: bool = False


OPTIMIZERS: dict[str, OptimizerChoice] = {choice.name: choice for choice in (
    OptimizerChoice("sgd", "plain SGD: w ← w - lr g", lambda params, lr, momentum: SGD(params, lr)),
    OptimizerChoice("momentum", "SGD with momentum",
                    lambda params, lr, momentum: SGD(params, lr, momentum=momentum), uses_momentum=True),
    OptimizerChoice("nesterov", "SGD with Nesterov momentum",
                    lambda params, lr, momentum: SGD(params, lr, momentum=momentum, nesterov=True),
                    uses_momentum=True, needs_momentum=True),
    OptimizerChoice("adam", "Adam (betas 0.9, 0.999)", lambda params, lr, momentum: Adam(params, lr), adaptive=True),
)}
"""The update rules by name, in the order menus list them."""


def make_optimizer(name: str, params: Iterable[Tensor], lr: float, momentum: float = 0.9) -> Optimizer:
    """The optimizer called ``name``, one of :data:`OPTIMIZERS` ("sgd", "momentum", "nesterov", "adam").

    ``momentum`` is used by "momentum" and "nesterov" only; Adam keeps its default betas.
    """
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"optimizer={name!r} is not valid: expected one of {', '.join(map(repr, OPTIMIZERS))}")
    return OPTIMIZERS[name].build(params, lr, momentum)


# -- learning-rate schedules ------------------------------------------------------------------------------


class LRSchedule(ABC):
    """What every schedule shares: it sets ``optimizer.lr`` to ``lr_at(epoch)`` each :meth:`step`.

    ``base_lr`` is the optimizer's learning rate when the schedule is made; ``last_epoch`` counts the
    calls to :meth:`step` (0 before the first), as in PyTorch.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    @abstractmethod
    def lr_at(self, epoch: int) -> float:
        """The learning rate after ``epoch`` calls to :meth:`step`."""

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The learning rate set last, in a list as PyTorch returns it (one entry per parameter group)."""
        return [self.optimizer.lr]


class ConstantLR(LRSchedule):
    """``base_lr · factor`` for the first ``total_iters`` epochs, then ``base_lr``, as PyTorch's.

    With ``factor=1`` (what :func:`make_schedule` uses for "constant") the rate never changes.
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1 / 3, total_iters: int = 5) -> None:
        Real(0, 1).check("factor", factor)
        _check_count("total_iters", total_iters, minimum=0)
        super().__init__(optimizer)
        self.factor = factor
        self.total_iters = total_iters
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.factor if epoch < self.total_iters else self.base_lr


class StepLR(LRSchedule):
    """Step decay: ``base_lr · gamma^(epoch // step_size)``, as PyTorch's."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        _check_count("step_size", step_size, minimum=1)
        _check_positive("gamma", gamma)
        super().__init__(optimizer)
        self.step_size = step_size
        self.gamma = gamma

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRSchedule):
    """Exponential decay: ``base_lr · gamma^epoch``, as PyTorch's."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        _check_positive("gamma", gamma)
        super().__init__(optimizer)
        self.gamma = gamma

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRSchedule):
    """Cosine annealing from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs, as PyTorch's:

    ``eta_min + (base_lr - eta_min) · (1 + cos(π · epoch / T_max)) / 2``; past ``T_max`` it rises again.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        _check_count("T_max", T_max, minimum=1)
        _check_non_negative("eta_min", eta_min)
        super().__init__(optimizer)
        self.T_max = T_max
        self.eta_min = eta_min

    def lr_at(self, epoch: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


@dataclass(frozen=True)
class ScheduleChoice:
    """A learning-rate schedule a classifier can train with, as its ``lr_schedule`` setting names it.

    ``options(epochs)`` gives the keyword arguments of ``cls`` for a run of ``epochs`` epochs.
    """

    name: str
    title: str
    cls: type[LRSchedule]
    options: Callable[[int], dict[str, Any]]


SCHEDULES: dict[str, ScheduleChoice] = {choice.name: choice for choice in (
    ScheduleChoice("constant", "the same rate every epoch", ConstantLR,
                   lambda epochs: {"factor": 1.0, "total_iters": 0}),
    ScheduleChoice("step", "divided by 10 after each third of the run", StepLR,
                   lambda epochs: {"step_size": max(1, epochs // 3), "gamma": 0.1}),
    ScheduleChoice("exponential", "multiplied by 0.9 every epoch", ExponentialLR, lambda epochs: {"gamma": 0.9}),
    ScheduleChoice("cosine", "annealed to 0 along a cosine by the last epoch", CosineAnnealingLR,
                   lambda epochs: {"T_max": epochs}),
)}
"""The learning-rate schedules by name, in the order menus list them."""


def make_schedule(name: str, optimizer: Optimizer, **kwargs: Any) -> LRSchedule:
    """The schedule called ``name`` (one of :data:`SCHEDULES`) on ``optimizer``, with the keyword arguments
    of its class.

    ``"constant"`` (no arguments: the rate never changes), ``"step"`` (:class:`StepLR`: ``step_size``,
    ``gamma=0.1``), ``"exponential"`` (:class:`ExponentialLR`: ``gamma``), ``"cosine"``
    (:class:`CosineAnnealingLR`: ``T_max``, ``eta_min=0``).
    """
    if not isinstance(name, str) or name not in SCHEDULES:
        raise ValueError(f"lr_schedule={name!r} is not valid: expected one of {', '.join(map(repr, SCHEDULES))}")
    choice = SCHEDULES[name]
    if name == "constant":
        if kwargs:
            raise ValueError(f"the constant schedule takes no arguments, got {', '.join(kwargs)}")
        kwargs = choice.options(0)
    try:
        return choice.cls(optimizer, **kwargs)
    except TypeError as error:  # a missing or unknown keyword: say which schedule wanted what
        raise ValueError(f"the {name!r} schedule ({choice.cls.__name__}): {error}") from None


def schedule_for_run(name: str, optimizer: Optimizer, epochs: int) -> LRSchedule:
    """The schedule called ``name`` as a training run of ``epochs`` epochs uses it (see :data:`SCHEDULES`)."""
    return SCHEDULES[name].cls(optimizer, **SCHEDULES[name].options(epochs))


# -- argument checks: one line naming the parameter and its value -------------------------------------------

LEARNING_RATE = Real(0, low_open=True, example="0.01")
"""The rule of a learning rate."""
MOMENTUM = Real(0, 1, high_open=True, example="0.9")
"""The rule of a momentum coefficient (and of Adam's betas)."""


def _check_positive(name: str, value: float) -> None:
    Real(0, low_open=True).check(name, value)


def _check_non_negative(name: str, value: float) -> None:
    Real(0).check(name, value)


def _check_fraction(name: str, value: float) -> None:
    MOMENTUM.check(name, value)


def _check_count(name: str, value: int, minimum: int) -> None:
    Integer(minimum).check(name, value)


def _describe(value: Any) -> str:
    return f"a {value.dtype} Tensor" if isinstance(value, Tensor) else type(value).__name__
