"""Image files through Pillow: open, convert to greyscale or colour, resize, and say what was done.

A linear classifier sees an image as a fixed-length vector of pixel values, so an image must have
exactly the size and the number of channels the model was trained on: ``(H, W)`` is greyscale (Pillow
mode ``L``), ``(H, W, 3)`` is colour (mode ``RGB``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable, SupportsInt

import numpy as np
from PIL import ExifTags, Image, ImageOps

from linclass.errors import DataError
from linclass.limits import MAX_IMAGE_PIXELS, check_regular_file
from linclass.warning_filters import caught_warnings

GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
RESAMPLE = Image.Resampling.BILINEAR


def open_image(path: str | Path) -> Image.Image:
    """Open an image file lazily (header only); ``DataError`` naming the file if Pillow cannot read it.

    An image of more than :data:`linclass.limits.MAX_IMAGE_PIXELS` pixels is refused before it is
    decoded: a small PNG can expand to gigabytes.
    """
    check_regular_file(Path(path))
    try:
        with caught_warnings():  # the size is judged below, by linclass's own limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Image.DecompressionBombError as error:
        raise DataError(f"{path}: image too large to decode ({error})") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: not an image Pillow can read ({error})") from None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise DataError(f"{path}: image is {width}×{height}, more than the {MAX_IMAGE_PIXELS} pixels an image "
                        "may have; shrink it first")
    return image


def mode_for(image_shape: tuple[int, ...]) -> str:
    """The Pillow mode of images shaped ``(H, W)`` (``"L"``) or ``(H, W, 3)`` (``"RGB"``)."""
    if len(image_shape) == 2 or (len(image_shape) == 3 and image_shape[2] == 1):
        return "L"
    if len(image_shape) == 3 and image_shape[2] == 3:
        return "RGB"
    raise ValueError(f"image_shape={tuple(image_shape)}: expected (H, W) for greyscale or (H, W, 3) for colour")


def check_image_size(image_size: Iterable[SupportsInt] | None) -> tuple[int, int] | None:
    """``image_size`` as a (height, width) tuple of positive ints, or None; ``ValueError`` otherwise."""
    if image_size is None:
        return None
    try:
        height, width = (int(n) for n in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"image_size={image_size!r}: expected (height, width)") from None
    if height < 1 or width < 1:
        raise ValueError(f"image_size={image_size!r}: height and width must be positive")
    return height, width


def is_grey(image: Image.Image) -> bool:
    """Whether the image is greyscale by its mode (palette images count as colour)."""
    return image.mode in GREY_MODES


def to_array(image: Image.Image, mode: str, size: tuple[int, int] | None, path: str | Path) -> np.ndarray:
    """Decode ``image``, convert it to ``mode`` and resize it to ``size`` = (H, W) if given; uint8 array.

    Raises ``DataError`` naming ``path`` if the pixel data cannot be decoded (a truncated file).
    """
    try:
        if image.mode != mode:
            image = image.convert(mode)
        if size is not None and image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), RESAMPLE)
        return np.asarray(image, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"{path}: cannot decode the image ({error})") from None


def load_image(path: str | Path, image_shape: tuple[int, ...]) -> tuple[np.ndarray, str]:
    """Read any image file as the uint8 array a model expects, and say what had to be done.

    The image is turned upright by its EXIF orientation, converted to greyscale (``(H, W)``) or RGB
    (``(H, W, 3)``) and resized (bilinear) to ``H×W`` if needed.

    Parameters
    ----------
    path : str or Path
        An image file in any format Pillow reads (PNG, JPEG, BMP, GIF, TIFF, WebP, ...).
    image_shape : tuple of int
        ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``: the model's image shape.

    Returns
    -------
    image : np.ndarray
        ``uint8`` array shaped ``image_shape``.
    note : str
        What was done, e.g. ``"converted RGBA→L, resized 640×480→28×28"`` (sizes are width×height), or
        ``"used as is (28×28 L)"``.

    Raises
    ------
    DataError
        If the file is missing or is not an image Pillow can read; the message names the file.
    """
    mode = mode_for(tuple(image_shape))
    height, width = image_shape[:2]
    steps = []
    with open_image(path) as image:
        upright = _upright(image, path)
        if upright is not image:
            steps.append("rotated by its EXIF orientation")
        if upright.mode != mode:
            steps.append(f"converted {upright.mode}→{mode}")
        if upright.size != (width, height):
            steps.append(f"resized {upright.size[0]}×{upright.size[1]}→{width}×{height}")
        array = to_array(upright, mode, (height, width), path)
    note = ", ".join(steps) or f"used as is ({width}×{height} {mode})"
    return array.reshape(tuple(image_shape)), note


def _upright(image: Image.Image, path: str | Path) -> Image.Image:
    """The image turned by its EXIF orientation tag, or the image itself when it has none."""
    try:
        if image.getexif().get(ExifTags.Base.Orientation, 1) in (0, 1):
            return image
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: cannot decode the image ({error})") from None
