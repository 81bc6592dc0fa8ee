"""The algebraic interpretation: each row of W is a template image of its class.

The score of class k is the dot product ``w_k · x + b_k``, a match between the image and the template
``w_k``: pixels where the weight is large vote for class k when they are bright. Reshaping each row of W
to the image's shape and stretching it to 0..255 (per template, as the CS231n notebooks do) shows what
the classifier has learned — for instance a blurry average of the class, or a two-headed horse.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from linclass.report.style import finish, grid_shape, image_grid, panel_title, report_style, shorten

MAX_TEMPLATES = 100


def template_images(W: np.ndarray, image_shape: Sequence[int]) -> np.ndarray:
    """The rows of ``W`` as images, each stretched to 0..255 on its own.

    Parameters
    ----------
    W : ndarray (K, D) or (K, D + 1)
        One row of weights per class; a last column of biases (the bias trick) is dropped.
    image_shape : (H, W) or (H, W, C)
        The shape of one image, with ``H·W·C = D``.

    Returns
    -------
    ndarray (K, *image_shape) of uint8
        ``255 · (w_k - min w_k) / (max w_k - min w_k)``, rounded; a constant template is all 0.
    """
    W = np.asarray(W, dtype=np.float64)
    image_shape = tuple(int(size) for size in image_shape)
    size = int(np.prod(image_shape))
    if len(image_shape) not in (2, 3) or (len(image_shape) == 3 and image_shape[2] not in (1, 3, 4)):
        raise ValueError(f"image_shape={image_shape}: expected (H, W) or (H, W, C) with C in 1, 3, 4")
    if W.ndim != 2 or W.shape[1] not in (size, size + 1):
        raise ValueError(f"W has shape {W.shape}: expected (K, {size}) or (K, {size + 1}) for images of shape "
                         f"{image_shape}")
    weights = W[:, :size]
    low = weights.min(axis=1, keepdims=True)
    spread = weights.max(axis=1, keepdims=True) - low
    scaled = 255.0 * (weights - low) / np.where(spread > 0, spread, 1.0)
    return np.rint(scaled).astype(np.uint8).reshape(len(W), *image_shape)


def plot_templates(W: np.ndarray, image_shape: Sequence[int], class_names: Sequence[str],
                   path: str | os.PathLike | None = None, what: str = "class", most: int = MAX_TEMPLATES) -> Figure:
    """Show the learned weights of every class as a template image.

    Parameters
    ----------
    W : ndarray (K, D) or (K, D + 1)
        The classifier's weights; a bias column (bias trick) is dropped.
    image_shape : (H, W) or (H, W, C)
        The shape of one input image. Greyscale templates are drawn with a grey colormap (bright =
        large weight), colour templates as RGB images.
    class_names : sequence of K str
        Titles of the templates.
    path : path-like, optional
        Where to save the picture as a PNG.
    what : str
        What a row of ``W`` belongs to, for the title: ``"class"``, or ``"hidden unit"`` for the first
        layer of a network.
    most : int
        The most templates shown (the first ones).

    Returns
    -------
    matplotlib.figure.Figure
        A grid of 1.7 × 1.9 inch panels, the first :data:`MAX_TEMPLATES` classes when there are more.
    """
    images = template_images(W, image_shape)
    if len(class_names) != len(images):
        raise ValueError(f"class_names has {len(class_names)} names for the {len(images)} rows of W")
    shown = min(len(images), most)
    rows, columns = grid_shape(shown)
    with report_style():
        figure, grid = image_grid(rows, columns, cell=(1.7, 1.9), top=0.5, above=0.3)
        for k, axes in enumerate(grid.ravel()):
            axes.set_axis_off()
            if k >= shown:
                continue
            image = images[k].squeeze(axis=2) if images[k].ndim == 3 and images[k].shape[2] == 1 else images[k]
            axes.imshow(image, cmap="gray", vmin=0, vmax=255)
            panel_title(axes, shorten(str(class_names[k]), 18), fontsize=10)
        title = f"Learned templates: each {what}'s weights as an image (bright = large weight)"
        if shown < len(images):
            title += f"\nthe first {shown} of {len(images)} {what}s"
        figure.suptitle(title, fontsize=12 if columns >= 5 else 10)
        return finish(figure, path)
