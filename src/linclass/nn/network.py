"""A multi-layer perceptron as a classifier trains it: its settings, its layers, and its trainer.

The score function of the linear classifier, ``s = W x + b``, becomes a chain of them with a bend
between: ``s = W₂ σ(W₁ x + b₁) + b₂`` for one hidden layer, where σ is the activation (ReLU by default).
Each row of ``W₁`` is a template a hidden unit matches the input with, as a row of ``W`` is a class's
template in the linear classifier.

Training is the linear classifier's loop (:class:`linclass.train.Trainer`: batches, optimizer,
schedule, early stopping, divergence guard, exact resume), with the network's forward pass as the
score function and every step differentiated by the engine. The settings the network adds are
declared here, as :class:`linclass.train.TrainConfig` declares the others, so the estimator, the
command line (``--hidden``, ``--activation``) and tune read them from one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from linclass.constraints import OneOf, Sizes, declare, declared
from linclass.losses import LOSSES
from linclass.nn.layers import Linear, ReLU, Sequential, Sigmoid, Tanh
from linclass.nn.module import Module
from linclass.tensor import Tensor, no_grad
from linclass.train import TrainConfig, Trainer

__all__ = ["ACTIVATIONS", "NetworkSettings", "NETWORK_PARAMETERS", "NETWORK_DEFAULTS", "build_network",
           "NetworkTrainer", "network_flops"]

ACTIVATIONS: dict[str, type[Module]] = {"relu": ReLU, "tanh": Tanh, "logistic": Sigmoid}
"""The hidden units' nonlinearities, by scikit-learn's names for them."""


@dataclass(frozen=True)
class NetworkSettings:
    """The settings a network adds to a linear classifier's, with scikit-learn's ``MLPClassifier`` names."""

    hidden_layer_sizes: tuple[int, ...] = declare((100,), Sizes(), "the units of each hidden layer, input side first",
                                                  flag="hidden", metavar="N[,N...]", group="network")
    activation: str = declare("relu", OneOf(tuple(ACTIVATIONS)), "the hidden units' nonlinearity σ",
                              group="network")


NETWORK_PARAMETERS = declared(NetworkSettings)
"""The declarations of :class:`NetworkSettings` by name."""

NETWORK_DEFAULTS = {"lr": 1e-3, "epochs": 20}
"""Where a network starts from other defaults than the linear classifier's: scikit-learn's
``MLPClassifier``'s Adam at 0.001 (the step size :mod:`linclass.step_size` derives bounds a linear
score's change; a network's scores move through its layers), for 20 epochs (a 100-unit network reached
88.6% on Fashion-MNIST in 20; trained until converged it overfits, where scikit-learn stops it on
validation)."""


def build_network(n_features: int, hidden_layer_sizes: tuple[int, ...], n_classes: int, activation: str,
                  generator: np.random.Generator | None = None, dtype: Any = np.float32) -> Sequential:
    """``Linear → σ → ... → Linear``: ``n_features`` inputs, a hidden layer per size, ``n_classes`` scores.

    The layers start as PyTorch's do (uniform in ``±1/√fan_in``), drawn from ``generator`` when given,
    and hold their parameters in ``dtype``.
    """
    sizes = [n_features, *hidden_layer_sizes]
    layers: list[Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [Linear(fan_in, fan_out, dtype=dtype, generator=generator), ACTIVATIONS[activation]()]
    layers.append(Linear(sizes[-1], n_classes, dtype=dtype, generator=generator))
    return Sequential(*layers)


def network_flops(batch: int, network: Module) -> float:
    """The multiply-adds of one step on ``batch`` rows, forward and backward: three products per layer."""
    return float(sum(6 * batch * layer.in_features * layer.out_features
                     for layer in network.modules() if isinstance(layer, Linear)))


class NetworkTrainer(Trainer):
    """:class:`linclass.train.Trainer` for a network: the same loop, the network's forward as the scores.

    Every step backpropagates through the network on the autograd engine, from the loss's fused op (one
    node, its kernel's gradient) rather than the composed formula the linear autograd path checks; the
    penalty ``λ R`` of every layer's weight matrix (and of the biases too with ``regularize_bias``) is added
    by its kernel after ``backward()``, as the fused path adds it, rather than drawn as a graph of
    ~10⁵ weights every step.
    """

    def __init__(self, network: Module, config: TrainConfig, rng: np.random.Generator | None = None,
                 history: dict | None = None) -> None:
        self.config = config
        self.network = network
        self._start(dict(network.named_parameters()), rng, history)

    def forward(self, X: Tensor) -> Tensor:
        return self.network(X)

    def predict_scores(self, X: np.ndarray) -> np.ndarray:
        with no_grad():
            return self.network(Tensor(np.asarray(X, dtype=np.float32))).data

    def _penalized(self) -> list[Tensor]:
        return [parameter for name, parameter in self.parameters.items()
                if name.endswith("weight") or self.config.regularize_bias]

    def _objective(self, scores: Tensor, y: np.ndarray) -> Tensor:
        config = self.config
        return LOSSES[config.loss].fused(scores, y, **config.loss_options)

    def _penalty_by_kernel(self) -> float:
        if not self.config.regularized:
            return 0.0
        return sum(self._add_penalty(theta.data, theta.grad.data) for theta in self._penalized()
                   if theta.grad is not None)

    def _step_flops(self, batch: int, features: int) -> float:
        return network_flops(batch, self.network)

    def _uses_fused_kernels(self) -> bool:
        return False


def parameter_arrays(network: Module) -> dict[str, Any]:
    """The network's parameters as arrays, by their ``state_dict`` names (``0.weight``, ``0.bias``, ...)."""
    return {name: parameter.data for name, parameter in network.named_parameters()}
