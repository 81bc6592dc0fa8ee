"""Toy data sets in the plane for the playground: seeded, so the same name always gives the same points.

The plane shown on the page spans [-5, 5] on both axes; every preset fits inside it. Two of the
presets a linear classifier can separate (or nearly), two it cannot — and seeing the lines struggle on
circles and spirals is the point of showing them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

PLANE_LIMIT = 5.0  # the page shows [-PLANE_LIMIT, PLANE_LIMIT] on both axes


def _blobs(rng: np.random.Generator, classes: int, per_class: int, radius: float, spread: float) -> np.ndarray:
    """Gaussian clouds whose centres sit evenly on a circle of ``radius``."""
    angles = 2 * np.pi * np.arange(classes) / classes + np.pi / 2
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return np.repeat(centres, per_class, axis=0) + spread * rng.standard_normal((classes * per_class, 2))


def separable_blobs(rng: np.random.Generator, classes: int, per_class: int) -> np.ndarray:
    """Tight, well-apart clouds: some W, b classifies every point correctly."""
    return _blobs(rng, classes, per_class, radius=3.0, spread=0.55)


def overlapping_blobs(rng: np.random.Generator, classes: int, per_class: int) -> np.ndarray:
    """Wide clouds close together: every classifier makes mistakes, the loss never reaches zero."""
    return _blobs(rng, classes, per_class, radius=1.8, spread=1.1)


def circles(rng: np.random.Generator, classes: int, per_class: int) -> np.ndarray:
    """Concentric rings, one per class: no line separates a ring from the disc inside it."""
    radii = np.repeat(np.linspace(1.0, 4.2, classes), per_class)
    angles = rng.uniform(0, 2 * np.pi, classes * per_class)
    radii = radii + 0.2 * rng.standard_normal(classes * per_class)
    return radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def spirals(rng: np.random.Generator, classes: int, per_class: int) -> np.ndarray:
    """Interleaved spiral arms (CS231n's spiral data): far from linearly separable."""
    radius = np.tile(np.linspace(0.2, 4.5, per_class), classes)
    turn = 4.0  # radians each arm winds through
    start = np.repeat(np.arange(classes) * 2 * np.pi / classes, per_class)
    angle = start + np.tile(np.linspace(0, turn, per_class), classes) + 0.2 * rng.standard_normal(classes * per_class)
    return radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)


PRESETS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "separable": separable_blobs,
    "overlapping": overlapping_blobs,
    "circles": circles,
    "spirals": spirals,
}


def make_preset(name: str, classes: int = 3, per_class: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate preset ``name``: points (N, 2) float64 inside the shown plane, labels (N,) int64.

    Parameters
    ----------
    name : str
        One of ``PRESETS``: "separable", "overlapping", "circles", "spirals".
    classes : int
        Number of classes K (labels 0..K-1).
    per_class : int
        Points per class.
    seed : int
        Seed of the NumPy generator; the same arguments always give the same points.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    points = PRESETS[name](np.random.default_rng(seed), classes, per_class)
    labels = np.repeat(np.arange(classes, dtype=np.int64), per_class)
    limit = PLANE_LIMIT - 0.2
    return np.clip(points, -limit, limit), labels
