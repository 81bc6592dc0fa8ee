"""The contenders of the MLP benchmark: one hidden layer on Fashion-MNIST, trained four ways.

Every contender trains the same network on the problem of ``training_contenders.py``: scores
``s = W₂ max(0, W₁ x + b₁) + b₂`` (784 inputs, :data:`HIDDEN` ReLU units, 10 classes), softmax
cross-entropy averaged over the batch plus ``reg · (ΣW₁² + ΣW₂²)`` (biases not regularized), SGD with
momentum (PyTorch's form, ``v ← μ v + g; w ← w - lr v``), batches of 256 drawn by a fresh shuffle each
epoch. The weights start uniform in ``±1/√fan_in`` (PyTorch's default, which linclass draws too);
scikit-learn starts from its own Glorot draw.

The mini-batch contenders are functions ``train(problem, settings, on_epoch)``, as in
``training_contenders.py``. Threads: linclass's estimator chooses its BLAS thread count for the step's
size and the free CPUs (both CPUs on an idle 2-core machine: a step here is 120 MFLOP); PyTorch gets a
thread per CPU this process may run on, the most linclass may choose; linclass's own loop and
scikit-learn use NumPy's BLAS as it comes, a thread per CPU.
"""

from __future__ import annotations

import numpy as np

from training_contenders import OnEpoch, Problem, Settings, Train, pytorch_loop, weights_and_biases

HIDDEN = 100
"""The hidden layer's units."""


def linclass_mlp(problem: Problem, settings: Settings, on_epoch: OnEpoch) -> None:
    """``lc.MLPClassifier`` as users run it, the shared settings; epochs reported by its callback."""
    import linclass as lc

    classifier = lc.MLPClassifier(
        hidden_layer_sizes=(HIDDEN,), activation="relu", loss="softmax", penalty="l2", reg=settings.reg,
        lr=settings.lr, optimizer="momentum", momentum=settings.momentum, batch_size=settings.batch_size,
        epochs=settings.epochs, seed=settings.seed, on_epoch_end=lambda fitted, record: on_epoch(fitted.predict))
    classifier.fit(problem.X_train, problem.y_train)


def linclass_loop(problem: Problem, settings: Settings, on_epoch: OnEpoch) -> None:
    """The network as a PyTorch user writes its loop, with ``lc`` in place of ``torch``: the engine
    without the estimator (no checks, no shuffled copy of the data, no thread choice).

    ``lc.optim`` has no parameter groups, so the weights and the biases get an optimizer each;
    ``weight_decay = 2·reg`` on the weights is the gradient of ``reg · ΣW²``.
    """
    import linclass as lc

    lc.manual_seed(settings.seed)
    X, y = problem.X_train, problem.y_train
    model = lc.nn.Sequential(lc.nn.Linear(X.shape[1], HIDDEN), lc.nn.ReLU(), lc.nn.Linear(HIDDEN, problem.n_classes))
    weights, biases = weights_and_biases(model.named_parameters())
    optimizers = [lc.optim.SGD(weights, lr=settings.lr, momentum=settings.momentum, weight_decay=2 * settings.reg),
                  lc.optim.SGD(biases, lr=settings.lr, momentum=settings.momentum)]
    rng = np.random.default_rng(settings.seed)

    def predict(X_eval: np.ndarray) -> np.ndarray:
        with lc.no_grad():
            return model(lc.as_tensor(X_eval)).data.argmax(axis=1)

    for _ in range(settings.epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), settings.batch_size):
            rows = order[start:start + settings.batch_size]
            for optimizer in optimizers:
                optimizer.zero_grad()
            loss = lc.nn.functional.cross_entropy(model(lc.as_tensor(X[rows])), y[rows])
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
        on_epoch(predict)


def pytorch_mlp(problem: Problem, settings: Settings, on_epoch: OnEpoch) -> None:
    """``nn.Sequential(Linear, ReLU, Linear)`` trained as the linear benchmark's PyTorch contender trains
    its layer (:func:`training_contenders.pytorch_loop`), on a thread per CPU this process may use."""
    import torch

    from linclass.threads import usable_cpus

    torch.set_num_threads(usable_cpus())
    torch.manual_seed(settings.seed)
    model = torch.nn.Sequential(torch.nn.Linear(problem.X_train.shape[1], HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN, problem.n_classes))
    pytorch_loop(model, problem, settings, on_epoch)


ESTIMATOR = "linclass MLPClassifier"
PYTORCH = "PyTorch"

MINIBATCH_CONTENDERS: dict[str, Train] = {
    ESTIMATOR: linclass_mlp,
    "linclass nn loop": linclass_loop,
    PYTORCH: pytorch_mlp,
}
"""Mini-batch contenders by the name the table gives them."""


# -- scikit-learn: a whole fit ---------------------------------------------------------------------------

SKLEARN_NAME = "scikit-learn MLPClassifier (sgd)"


def sklearn_estimators(problem: Problem, settings: Settings, n_examples: int) -> dict[str, object]:
    """scikit-learn's ``MLPClassifier`` with the same network, batches, optimizer and epochs.

    scikit-learn's batch objective is ``mean L_i + α/(2 n_batch) · ΣW²``, so ``α = 2 · reg · batch_size``
    is ours for every full batch (the epoch's last, shorter batch gets a little more decay). Its momentum
    step ``v ← μ v - lr g; w ← w + v`` is PyTorch's at a constant rate; Nesterov's look-ahead is off.
    """
    from sklearn.neural_network import MLPClassifier

    return {SKLEARN_NAME: MLPClassifier(
        hidden_layer_sizes=(HIDDEN,), activation="relu", solver="sgd", alpha=2 * settings.reg * settings.batch_size,
        batch_size=settings.batch_size, learning_rate="constant", learning_rate_init=settings.lr,
        momentum=settings.momentum, nesterovs_momentum=False, max_iter=settings.epochs, shuffle=True,
        random_state=settings.seed)}


SKLEARN_NAMES = (SKLEARN_NAME,)
"""Whole-fit contenders, by the name the table gives them (the keys of :func:`sklearn_estimators`)."""
