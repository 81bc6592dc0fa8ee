"""Initial values of parameters, drawn as PyTorch draws them, from one seedable random generator.

``Linear`` starts its weight and bias uniform in ``±1/√fan_in``: PyTorch's ``kaiming_uniform_`` with
``a = √5``, whose bound ``gain · √(3 / fan_in)`` with ``gain = √(2 / (1 + a²))`` is exactly ``1/√fan_in``.
``lc.manual_seed(seed)`` makes the draws repeat, as ``torch.manual_seed`` does.
"""

from __future__ import annotations

import math

import numpy as np

_generator = np.random.default_rng()  # the random state of initialisation, as torch's default generator


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator that initialises parameters; returns it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def uniform(shape: tuple[int, ...], bound: float, dtype: np.dtype,
            generator: np.random.Generator | None = None) -> np.ndarray:
    """Values uniform in ``[-bound, bound)``, from ``generator`` or else the one :func:`manual_seed` seeds."""
    return (_generator if generator is None else generator).uniform(-bound, bound, size=shape).astype(dtype)


def fan_in_bound(fan_in: int) -> float:
    """``1/√fan_in``: the bound of PyTorch's default initialisation of a layer's weight and bias."""
    return 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
