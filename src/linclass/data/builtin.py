"""The built-in set: scikit-learn's 8×8 handwritten digits, shipped with scikit-learn (no download).

1797 greyscale images of the digits 0 to 9, each pixel a count 0..16 of set pixels in a 4×4 block of
the original 32×32 bitmap. They are rescaled to 0..255 and stored as uint8, like every other image set,
and split 80/20 (seeded, stratified) into training and test sets.
"""

from __future__ import annotations

import numpy as np

from linclass.data.dataset import Dataset
from linclass.data.splits import holdout_indices

DIGITS_MAX = 16


def load_digits() -> Dataset:
    """scikit-learn's digits as a ``Dataset``: 8×8 uint8 images, classes ``"0"`` .. ``"9"``."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    counts = digits.images.astype(np.int64)
    images = ((counts * 255 + DIGITS_MAX // 2) // DIGITS_MAX).astype(np.uint8)  # 0..16 -> 0..255, rounded
    labels = digits.target.astype(np.int64)
    train, test = holdout_indices(labels, "digits")
    return Dataset(name="digits", X_train=images[train], y_train=labels[train], X_test=images[test],
                   y_test=labels[test], classes=[str(k) for k in range(10)], image_shape=(8, 8),
                   source="scikit-learn (built in)")
