"""A folder of images with one subfolder per class.

Either ``folder/<class>/<image>`` — the loader then keeps a seeded, stratified 20 % aside as the test
set — or ``folder/train/<class>/<image>`` and ``folder/test/<class>/<image>``. Class names are the
subfolder names in sorted order. Every file in a class folder must be an image Pillow reads (hidden
files such as ``.DS_Store`` are skipped). If all images are greyscale the set is greyscale
(N×H×W), otherwise every image is converted to RGB (N×H×W×3). Images are resized to ``image_size``
= (H, W) when it is given; otherwise they must all have the same size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from linclass.data.dataset import Dataset
from linclass.data.images import check_image_size, is_grey, open_image, to_array
from linclass.data.splits import holdout_indices
from linclass.errors import DataError, printable
from linclass.limits import array_bytes, check_allocation

def read_image_folder(folder: str | Path, image_size: Sequence[int] | None = None,
                      max_memory: int | None = None) -> Dataset:
    """Read an image folder (see the module's description) into a ``Dataset``.

    Parameters
    ----------
    folder : str or Path
        The folder holding one subfolder per class, or ``train/`` and ``test/`` each holding them.
    image_size : (int, int), optional
        Resize every image to height×width; without it all images must have one size.
    max_memory : int, optional
        The most bytes the images may take together (:func:`linclass.limits.memory_budget`).

    Raises
    ------
    DataError
        For an empty folder or class folder, a class folder whose name holds control characters, a file
        that is not an image or is too large to decode, images that would take more than the memory
        budget, or (without ``image_size``) an image whose size differs from the others; the message
        names the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    size = check_image_size(image_size)
    if (folder / "train").is_dir() or (folder / "test").is_dir():
        return _read_train_and_test(folder, size, max_memory)
    classes = _class_folders(folder)
    files, labels = _list_images(folder, classes)
    train, test = holdout_indices(labels, str(folder))
    order = np.concatenate([train, test])
    return _dataset(folder, [files[i] for i in order], labels[order], len(train), classes, size, max_memory)


def _read_train_and_test(folder: Path, size: tuple[int, int] | None, max_memory: int | None) -> Dataset:
    for part in ("train", "test"):
        if not (folder / part).is_dir():
            raise DataError(f"{folder}: has {'test' if part == 'train' else 'train'}/ but no {part}/ subfolder; "
                            "give both, or put the class folders directly in it for a seeded split")
    classes = _class_folders(folder / "train")
    unknown = sorted(set(_class_folders(folder / "test")) - set(classes))
    if unknown:
        raise DataError(f"{folder / 'test' / unknown[0]}: class {unknown[0]!r} has no folder in {folder / 'train'}")
    train_files, y_train = _list_images(folder / "train", classes)
    test_files, y_test = _list_images(folder / "test", classes, allow_empty=True)
    if not test_files:
        raise DataError(f"{folder / 'test'}: no test images in its class folders")
    return _dataset(folder, train_files + test_files, np.concatenate([y_train, y_test]), len(train_files),
                    classes, size, max_memory)


def _dataset(folder: Path, files: list[Path], labels: np.ndarray, n_train: int, classes: list[str],
             size: tuple[int, int] | None, max_memory: int | None) -> Dataset:
    """Read ``files`` (training images first) into one array; the two splits are views of it."""
    images = _read_images(folder, files, size, max_memory)
    return Dataset(name=folder.resolve().name, X_train=images[:n_train], y_train=labels[:n_train],
                   X_test=images[n_train:], y_test=labels[n_train:], classes=classes,
                   image_shape=images.shape[1:], source=str(folder))


def _class_folders(folder: Path) -> list[str]:
    classes = sorted(entry.name for entry in folder.iterdir() if entry.is_dir() and not _hidden(entry))
    if not classes:
        raise DataError(f"{folder}: no class subfolders; an image folder holds one subfolder of images per class")
    unprintable = [name for name in classes if printable(name) != name]
    if unprintable:
        raise DataError(f"{folder / printable(unprintable[0])}: a class folder whose name holds control characters "
                        "(a line break or a terminal escape sequence); rename it, it becomes the class's name")
    return classes


def _list_images(folder: Path, classes: list[str], allow_empty: bool = False) -> tuple[list[Path], np.ndarray]:
    files, labels = [], []
    for label, name in enumerate(classes):
        class_folder = folder / name
        members = sorted(entry for entry in class_folder.iterdir() if entry.is_file() and not _hidden(entry)) \
            if class_folder.is_dir() else []
        if not members and not allow_empty:
            raise DataError(f"{class_folder}: class folder without images")
        files += members
        labels += [label] * len(members)
    return files, np.array(labels, dtype=np.int64)


def _read_images(folder: Path, files: list[Path], image_size: tuple[int, int] | None,
                 max_memory: int | None) -> np.ndarray:
    """Read every file into one uint8 array, greyscale unless some image is in colour."""
    sizes, grey = [], True
    for path in files:  # first pass: headers only, to fix the mode and size before decoding
        with open_image(path) as image:
            sizes.append(image.size)
            grey = grey and is_grey(image)
    if image_size is None:
        image_size = _common_size(files, sizes)
    mode = "L" if grey else "RGB"
    shape = (len(files), *image_size) + (() if grey else (3,))
    check_allocation(str(folder), array_bytes(shape, 1), f"{len(files)} images of {'×'.join(map(str, shape[1:]))}",
                     max_memory)
    images = np.empty(shape, dtype=np.uint8)
    for i, path in enumerate(files):
        with open_image(path) as image:
            images[i] = to_array(image, mode, image_size, path)
    return images


def _common_size(files: list[Path], sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The (H, W) all images share; ``DataError`` naming the first image of another size."""
    width, height = sizes[0]
    for path, size in zip(files, sizes, strict=True):
        if size != (width, height):
            raise DataError(f"{path}: image is {size[0]}×{size[1]} but {files[0]} is {width}×{height} "
                            "(width×height); resize them all with image_size=(H, W) (--image-size HxW on the "
                            "command line)")
    return height, width


def _hidden(entry: Path) -> bool:
    return entry.name.startswith(".")
