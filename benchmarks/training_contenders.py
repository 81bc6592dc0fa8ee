"""The contenders of the training benchmark: one linear classifier on Fashion-MNIST, trained many ways.

Every mini-batch contender trains the same model the same way: scores ``X W + b`` (10 classes),
softmax cross-entropy averaged over the batch plus ``reg · ΣW²`` (biases not regularized), SGD with
momentum, batches of 256 drawn by a fresh shuffle each epoch, weights starting at zero. Each is a
function ``train(problem, settings, on_epoch)`` that calls ``on_epoch(predict)`` after every epoch;
``predict(X)`` gives the predicted labels, and the caller times everything except its own callback.

The scikit-learn contenders fit once, as a whole (``fit(problem, settings, subset)``), with their
regularization matched to ours where their objective allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, TypeVar

import numpy as np

Predict = Callable[[np.ndarray], np.ndarray]
OnEpoch = Callable[[Predict], None]
Train = Callable[["Problem", "Settings", OnEpoch], None]
"""A mini-batch contender: ``train(problem, settings, on_epoch)``."""


@dataclass(frozen=True)
class Settings:
    """The training recipe every mini-batch contender follows."""

    epochs: int = 15
    batch_size: int = 256
    lr: float = 0.05
    momentum: float = 0.9
    reg: float = 1e-4
    seed: int = 0


@dataclass
class Problem:
    """Fashion-MNIST as float32 features: 50000 training examples, the 10000 test examples."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(self.y_train.max()) + 1


def load_problem() -> Problem:
    """Fashion-MNIST's 60000 training images less a 10000-image validation split, scaled to [0, 1],
    minus the training mean image; the official 10000 test images, preprocessed the same way."""
    import linclass as lc  # here, not at the top: a process that times another contender does not import it

    data = lc.datasets.load("fashion-mnist")
    X_train, y_train, _, _ = lc.datasets.train_val_split(data.X_train, data.y_train, val_size=10000, seed=0)
    preprocessor = lc.datasets.Preprocessor(scale=True, center="mean")
    return Problem(preprocessor.fit_transform(X_train), y_train,
                   preprocessor.transform(data.X_test), data.y_test)


# -- mini-batch contenders -------------------------------------------------------------------------------


def numpy_loop(problem: Problem, settings: Settings, on_epoch: OnEpoch) -> None:
    """The loop as one writes it by hand in vectorized NumPy (the CS231n way)."""
    X, y = problem.X_train, problem.y_train
    n, d = X.shape
    k = problem.n_classes
    lr, mu, reg, batch = settings.lr, settings.momentum, settings.reg, settings.batch_size
    rng = np.random.default_rng(settings.seed)
    W = np.zeros((d, k), dtype=np.float32)
    b = np.zeros(k, dtype=np.float32)
    velocity_W, velocity_b = np.zeros_like(W), np.zeros_like(b)

    def predict(X_eval):  # W and b change in place, so this predicts with the weights of the moment
        return (X_eval @ W + b).argmax(axis=1)

    for _ in range(settings.epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            rows = order[start:start + batch]
            X_batch, y_batch = X[rows], y[rows]
            scores = X_batch @ W + b
            scores -= scores.max(axis=1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=1, keepdims=True)
            probs[np.arange(len(rows)), y_batch] -= 1
            probs /= len(rows)
            grad_W = X_batch.T @ probs + 2 * reg * W
            grad_b = probs.sum(axis=0)
            velocity_W *= mu
            velocity_W += grad_W
            velocity_b *= mu
            velocity_b += grad_b
            W -= lr * velocity_W
            b -= lr * velocity_b
        on_epoch(predict)


def pytorch(problem: Problem, settings: Settings, on_epoch: OnEpoch) -> None:
    """``nn.Linear`` + ``nn.CrossEntropyLoss`` + ``optim.SGD(momentum)`` on the CPU with 2 threads, trained
    by :func:`pytorch_loop` from zero weights."""
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(settings.seed)
    model = torch.nn.Linear(problem.X_train.shape[1], problem.n_classes)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    pytorch_loop(model, problem, settings, on_epoch)


def pytorch_loop(model: Any, problem: Problem, settings: Settings, on_epoch: OnEpoch) -> None:
    """Train a ``torch.nn`` model with the shared recipe: cross-entropy, ``optim.SGD(momentum)``.

    The arrays are shared with NumPy (``torch.from_numpy``, no copy); batches are gathered by indexing
    a tensor with a ``randperm`` slice, PyTorch's fastest in-memory way (a ``DataLoader`` over a
    ``TensorDataset`` collates example by example and is several times slower). ``weight_decay =
    2·reg`` on the weights alone is the gradient of ``reg · ΣW²``.
    """
    import torch

    X, y = torch.from_numpy(problem.X_train), torch.from_numpy(problem.y_train)
    weights, biases = weights_and_biases(model.named_parameters())
    optimizer = torch.optim.SGD([{"params": weights, "weight_decay": 2 * settings.reg}, {"params": biases}],
                                lr=settings.lr, momentum=settings.momentum)
    loss_function = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(settings.seed)

    def predict(X_eval: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(X_eval)).argmax(dim=1).numpy()

    for _ in range(settings.epochs):
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), settings.batch_size):
            rows = order[start:start + settings.batch_size]
            optimizer.zero_grad()
            loss = loss_function(model(X[rows]), y[rows])
            loss.backward()
            optimizer.step()
        on_epoch(predict)


P = TypeVar("P")  # a parameter of some library's network


def weights_and_biases(named_parameters: Iterable[tuple[str, P]]) -> tuple[list[P], list[P]]:
    """The weight matrices (penalized) and the biases (not), from a module's ``named_parameters()``."""
    parameters = list(named_parameters)
    return ([p for name, p in parameters if name.endswith("weight")],
            [p for name, p in parameters if not name.endswith("weight")])


def linclass_classifier(solver: str, threads: int | None = None) -> Train:
    """``lc.LinearClassifier(solver=solver, threads=threads)`` with the shared settings; epochs reported by its
    callback. ``threads=None`` lets linclass choose the BLAS thread count."""

    def train(problem: Problem, settings: Settings, on_epoch: OnEpoch) -> None:
        import linclass as lc

        classifier = lc.LinearClassifier(
            loss="softmax", penalty="l2", reg=settings.reg, lr=settings.lr, optimizer="momentum",
            momentum=settings.momentum, batch_size=settings.batch_size, epochs=settings.epochs,
            seed=settings.seed, solver=solver, threads=threads,
            on_epoch_end=lambda fitted, record: on_epoch(fitted.predict))
        classifier.fit(problem.X_train, problem.y_train)

    train.__doc__ = f"linclass's LinearClassifier, solver={solver!r}, threads={threads!r}."
    return train


MINIBATCH_CONTENDERS: dict[str, Train] = {
    "linclass fused": linclass_classifier("fused"),
    "linclass autograd": linclass_classifier("autograd"),
    "NumPy loop": numpy_loop,
    "PyTorch": pytorch,
}
"""Mini-batch contenders by the name the table gives them."""


# -- scikit-learn: whole fits ---------------------------------------------------------------------------


def sklearn_estimators(problem: Problem, settings: Settings, n_examples: int) -> dict[str, object]:
    """scikit-learn's linear classifiers, regularized like ours where the objective allows.

    LogisticRegression minimizes ``½‖W‖² + C Σ_i L_i``; dividing by ``C n`` gives ``mean L_i +
    ‖W‖²/(2Cn)``, so ``C = 1/(2 · reg · n)`` is our softmax objective. LinearSVC (one-vs-rest squared
    hinge by default, C=0.1) and SGDClassifier (one-vs-rest hinge) are set as users commonly run them.
    """
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.svm import LinearSVC

    return {
        "scikit-learn LogisticRegression (lbfgs)": LogisticRegression(
            C=1 / (2 * settings.reg * n_examples), solver="lbfgs", max_iter=100),
        "scikit-learn LinearSVC (C=0.1)": LinearSVC(C=0.1, random_state=settings.seed),
        "scikit-learn SGDClassifier (hinge)": SGDClassifier(loss="hinge", random_state=settings.seed, n_jobs=2),
    }


SKLEARN_NAMES = ("scikit-learn LogisticRegression (lbfgs)", "scikit-learn LinearSVC (C=0.1)",
                 "scikit-learn SGDClassifier (hinge)")
"""Whole-fit contenders, by the name the table gives them (the keys of :func:`sklearn_estimators`)."""


def subset(problem: Problem, n_examples: int | None) -> Problem:
    """The first ``n_examples`` training examples (Fashion-MNIST stores them in random order), all test ones."""
    if n_examples is None or n_examples >= len(problem.X_train):
        return problem
    return Problem(problem.X_train[:n_examples], problem.y_train[:n_examples], problem.X_test, problem.y_test)
