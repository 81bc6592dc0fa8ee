"""linclass: image classification with linear classifiers, on its own tensor autograd engine.

>>> import linclass as lc
>>> x = lc.tensor(3., requires_grad=True)
"""

__version__ = "0.1.0"

from linclass.errors import DataError, DivergenceError, LinclassError, ModelFileError
from linclass.tensor import Tensor, as_tensor, is_grad_enabled, no_grad, tensor
from linclass.ops import (
    abs, clamp, exp, log, log_softmax, logsumexp, matmul, max, maximum, mean, min, minimum, relu,
    reshape, sigmoid, softmax, sqrt, sum, tanh, transpose, arange, argmax, cast,
)
from linclass import gradcheck, graph
from linclass.losses import softmax_loss, squared_hinge_loss, svm_loss
from linclass import losses, optim, regularizers
from linclass import data as datasets
from linclass import report
from linclass import model, persist, train, tune
from linclass.estimator import LinearClassifier
from linclass.persist import load
