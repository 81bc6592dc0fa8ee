"""How an image compares with the images a model was trained on: brightness and background.

A linear classifier scores whatever it is given, and confidently: a dark shoe photographed on white
paper gets "91% Bag" from a model that only ever saw light clothes on black. ``linclass train`` keeps
two numbers of its training images in the model's metadata — the mean brightness of an image and the
mean brightness of its border (the background), each as the mean and spread over the training images —
and ``linclass predict`` says so when an image lies far outside them.
"""

from __future__ import annotations

from typing import Any, Mapping, TypeGuard

import numpy as np

SAMPLE = 5000            # training images the statistics are taken from
FAR = 4.0                # how many spreads from the training mean an image may lie before it is called far
LEAST_SPREAD = 0.03      # a spread below this (every background black) counts as this much


def brightness(images: np.ndarray) -> dict[str, np.ndarray]:
    """Each image's mean brightness and the mean brightness of its one-pixel border, in [0, 1]."""
    images = np.asarray(images, dtype=np.float64) / 255.0
    flat = images.reshape(len(images), -1)
    border = np.concatenate([images[:, 0].reshape(len(images), -1), images[:, -1].reshape(len(images), -1),
                             images[:, :, 0].reshape(len(images), -1), images[:, :, -1].reshape(len(images), -1)],
                            axis=1)
    return {"mean": flat.mean(axis=1), "border": border.mean(axis=1)}


def training_statistics(images: np.ndarray) -> dict[str, list[float]] | None:
    """``{"mean": [m, s], "border": [m, s]}`` over (a sample of) the training images; None for vectors."""
    if images.ndim not in (3, 4) or len(images) == 0:
        return None
    step = max(1, len(images) // SAMPLE)
    measured = brightness(images[::step])
    return {key: [float(values.mean()), float(values.std())] for key, values in measured.items()}


def unlike_training(image: np.ndarray, statistics: Mapping[str, Any] | None) -> str | None:
    """A sentence saying how ``image`` differs from the training images, or None if it does not, much."""
    if not _well_formed(statistics):  # none kept (an older model), or not what training writes
        return None
    measured = {key: float(values[0]) for key, values in brightness(image[None]).items()}
    far = {key: value for key, value in measured.items()
           if abs(value - statistics[key][0]) > FAR * max(statistics[key][1], LEAST_SPREAD)}
    if not far:
        return None
    parts = [f"its {'background' if key == 'border' else 'mean brightness'} is {value:.2f} where the training "
             f"images' is {statistics[key][0]:.2f} ± {statistics[key][1]:.2f}" for key, value in far.items()]
    background, trained_background = measured["border"], statistics["border"][0]
    if "border" in far and (background > 0.5) != (trained_background > 0.5):
        trained_on = "light on dark" if trained_background < 0.5 else "dark on light"
        parts.append(f"the model learned {trained_on} images, so this one looks inverted to it")
    return "unlike the training images: " + "; ".join(parts) + "; expect a poor guess"


def _well_formed(statistics: object) -> TypeGuard[Mapping[str, Any]]:
    """Whether ``statistics`` is what :func:`training_statistics` writes: two [mean, spread] pairs of numbers."""
    return isinstance(statistics, Mapping) and all(
        isinstance(statistics.get(key), list) and len(statistics[key]) == 2
        and all(type(number) in (int, float) and np.isfinite(number) for number in statistics[key])
        for key in ("mean", "border"))
