"""``MLPClassifier``: a network of fully connected layers behind scikit-learn's contract, on the engine.

The linear classifier's score function ``W x + b`` becomes ``W₂ σ(W₁ x + b₁) + b₂`` (one hidden layer of
``hidden_layer_sizes=(100,)`` units by default; more with more sizes), trained by the same loop, with the
same losses, penalties, optimizers and schedules, each declared once: every setting it shares with
:class:`linclass.LinearClassifier` comes from the same declaration, and the two it adds,
``hidden_layer_sizes`` and ``activation``, carry the names of scikit-learn's ``MLPClassifier``.

>>> clf = lc.MLPClassifier(hidden_layer_sizes=(100,), epochs=20).fit(X_train, y_train)
>>> clf.score(X_test, y_test), clf.coefs_[0].shape    # accuracy, (D, 100) as scikit-learn lays it out
>>> clf.save("mlp.linclass"); clf = lc.load("mlp.linclass")
"""

from __future__ import annotations

import copy

import numpy as np

from linclass.distributed.cluster import CLUSTER_PARAMETERS
from linclass.estimator import PARAMETERS, TrainedClassifier, document_parameters
from linclass.nn.network import NETWORK_DEFAULTS, NETWORK_PARAMETERS, NetworkTrainer, build_network
from linclass.tensor import Tensor, no_grad
from linclass.train import TrainConfig, Trainer

__all__ = ["MLPClassifier", "MLP_PARAMETERS"]

MLP_PARAMETERS = {"loss": PARAMETERS["loss"], **NETWORK_PARAMETERS,
                  **{name: declaration.with_default(NETWORK_DEFAULTS[name]) if name in NETWORK_DEFAULTS else declaration
                     for name, declaration in PARAMETERS.items()
                     if name not in ("loss", "solver", *CLUSTER_PARAMETERS)}}
"""The network's parameters: the loss, the layers, then every setting of the linear classifier but the
solver (a network's steps always run on the autograd engine) and those of a Dask cluster (a network trains in
one process), with the defaults of
:data:`linclass.nn.network.NETWORK_DEFAULTS` where a network starts elsewhere."""


class MLPClassifier(TrainedClassifier):
    """A multi-layer perceptron ``s = W_L σ(... σ(W₁ x + b₁) ...) + b_L`` trained by mini-batch gradient descent.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    network_ : linclass.nn.Sequential
        The trained network, ``Linear → σ → ... → Linear``; ``network_(lc.tensor(X))`` gives the scores.
    coefs_ : list of ndarray
        Each layer's weights, laid out as scikit-learn's (inputs × outputs): views of the network's.
    intercepts_ : list of ndarray
        Each layer's biases.
    classes_, n_features_in_, history_, n_iter_, threads_, preprocessor_, metadata_
        As :class:`linclass.LinearClassifier`'s.
    """

    PARAMETERS = MLP_PARAMETERS
    FITTED = ("network_", "coefs_", "intercepts_")

    def _new_trainer(self, weights: dict[str, np.ndarray] | None, config: TrainConfig,
                     rng: np.random.Generator | None, history: dict | None, n_features: int = 0) -> Trainer:
        inputs = n_features if weights is None else weights["0.weight"].shape[1]
        network = build_network(inputs, tuple(self.hidden_layer_sizes), len(self.classes_), self.activation,
                                generator=np.random.default_rng(self.seed) if rng is None else rng)
        if weights is not None:
            network.load_state_dict({name: np.asarray(array, dtype=np.float32) for name, array in weights.items()})
        return NetworkTrainer(network, config, rng, history)

    def _expose(self, trainer: Trainer, with_trainer: bool = True) -> None:
        assert isinstance(trainer, NetworkTrainer)
        self.network_ = trainer.network
        arrays = trainer.parameter_arrays()
        self.coefs_ = [array.T for name, array in arrays.items() if name.endswith("weight")]
        self.intercepts_ = [array for name, array in arrays.items() if name.endswith("bias")]
        if with_trainer:
            self._trainer = trainer

    def _weights(self) -> dict[str, np.ndarray]:
        return {name: parameter.data for name, parameter in self.network_.named_parameters()}

    def _raw_scores(self, X: np.ndarray) -> np.ndarray:
        """The network's scores in ``X``'s dtype: float64 features go through a float64 copy of the
        network, so that, as the linear classifier's, a row's scores do not depend on the rows beside it."""
        network = self.network_ if X.dtype == np.float32 else copy.deepcopy(self.network_).to(X.dtype)
        with no_grad():
            return network(Tensor(X)).data


document_parameters(MLPClassifier)
