"""Shared test fixtures.

Tests that need something outside the project (PyTorch, Graphviz's ``dot``, the Fashion-MNIST package,
Chromium) skip with the reason on a machine without it; under ``CI=true`` they never skip: a missing
tool there is a failure, so a green CI always means every test ran.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true: .ci/run installs it)")
    pytest.skip(reason)


def need_module(name: str):
    """Import and return ``name``, or skip (fail under CI) when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"Python package {name!r} is not installed")


def need_program(name: str, package: str) -> str:
    """The path of program ``name``, or skip (fail under CI) naming the Debian package that has it."""
    path = shutil.which(name)
    if path is None:
        _missing(f"{name!r} not found: apt-get install -y {package}")
    return path


def need_file(path: str, why: str) -> Path:
    """``path``, or skip (fail under CI) saying ``why`` the test needs it."""
    if not Path(path).exists():
        _missing(f"{path} does not exist: {why}")
    return Path(path)


def need_fashion_mnist() -> Path:
    """The Fashion-MNIST folder of the Debian package, or skip (fail under CI)."""
    if not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        _missing(f"Fashion-MNIST not found in {FASHION_MNIST_DIR}: apt-get install -y dataset-fashion-mnist")
    return FASHION_MNIST_DIR


@pytest.fixture
def torch():
    """PyTorch, the reference the engine and losses are compared against."""
    module = need_module("torch")
    module.set_default_dtype(module.float64)
    yield module
    module.set_default_dtype(module.float32)


@pytest.fixture
def torch_float32():
    """PyTorch with its own default dtype, float32: for comparing dtypes and printed values."""
    return need_module("torch")


@pytest.fixture
def rng():
    """A seeded random generator, fresh for each test."""
    import numpy as np

    return np.random.default_rng(0)
