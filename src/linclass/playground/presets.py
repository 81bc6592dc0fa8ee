"""Toy data sets in the plane for the playground: seeded, so the same name always gives the same points.

The plane shown on the page spans [-5, 5] on both axes; every preset fits inside it. Two of the
presets a linear classifier can separate (or nearly), the others it cannot — and seeing the lines
struggle on moons, circles, XOR and spirals, and a hidden layer bend the boundary around them, is the
point of showing them.

Moons and XOR are two-class data sets; with K > 2 classes each keeps its idea: K moons interleaved in a
row, and a K × K checkerboard whose cell (row, column) holds class (row + column) mod K — for K = 2 the
four quadrants, opposite ones alike.
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


def moons(rng: np.random.Generator, classes: int, per_class: int) -> np.ndarray:
    """Interleaved half circles (scikit-learn's two moons), alternately opening down and up, in a row.

    Moon k is the unit half circle around (1.25 k, k mod 2 / 2), its upper half for even k and its lower
    half for odd k, so each moon reaches into the next one's hollow; the row is scaled to fill the plane.
    """
    angles = rng.uniform(0, np.pi, classes * per_class)
    k = np.repeat(np.arange(classes), per_class)
    side = np.where(k % 2 == 0, 1.0, -1.0)
    points = np.stack([1.25 * k + np.cos(angles), 0.5 * (k % 2) + side * np.sin(angles)], axis=1)
    points += 0.1 * rng.standard_normal(points.shape)
    lowest, highest = points.min(axis=0), points.max(axis=0)
    scale = 0.9 * 2 * PLANE_LIMIT / max(highest - lowest)
    return scale * (points - (lowest + highest) / 2)


def xor(rng: np.random.Generator, classes: int, per_class: int) -> np.ndarray:
    """Clusters on a K × K checkerboard, class (row + column) mod K: for two classes, XOR.

    With K = 2 the clusters sit in the four quadrants and opposite quadrants share a class, so no line
    separates the classes; class k's points take its K cells in turn.
    """
    cell = 0.92 * 2 * PLANE_LIMIT / classes
    centres = (np.arange(classes) + 0.5) * cell - classes * cell / 2
    k = np.repeat(np.arange(classes), per_class)
    row = np.tile(np.arange(per_class), classes) % classes
    column = (k - row) % classes
    points = np.stack([centres[column], centres[row]], axis=1)
    return points + 0.12 * cell * rng.standard_normal(points.shape)


PRESETS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "separable": separable_blobs,
    "overlapping": overlapping_blobs,
    "moons": moons,
    "circles": circles,
    "xor": xor,
    "spirals": spirals,
}


def make_preset(name: str, classes: int = 3, per_class: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate preset ``name``: points (N, 2) float64 inside the shown plane, labels (N,) int64.

    Parameters
    ----------
    name : str
        One of ``PRESETS``: "separable", "overlapping", "moons", "circles", "xor", "spirals".
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
