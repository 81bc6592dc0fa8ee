"""Datasets stored as arrays: ``.npz`` archives, folders of ``.npy`` files, and ``.csv`` tables.

* ``.npz``: arrays ``X_train``, ``y_train``, ``X_test``, ``y_test`` and optionally ``classes`` (strings).
* a folder of ``X_train.npy``, ``y_train.npy``, ``X_test.npy``, ``y_test.npy`` and optionally
  ``classes.txt`` (one name per line), as ``save`` writes it. Its arrays can be memory-mapped
  (``mmap=True``): they then stay on disk and are read page by page as they are used, so a set larger
  than memory can be trained on in mini-batches. (An ``.npz`` archive cannot be memory-mapped.)
* ``.csv``: one example per row, the label first, then the pixel or feature values; a header row is
  optional. A file named ``..train..`` with a sibling named ``..test..`` (``mnist_train.csv`` and
  ``mnist_test.csv``) gives both sets; a single file is split, 20 % test, seeded and stratified.
  Values that are all integers in 0..255 are kept as uint8 pixels, anything else becomes float32.

Labels may be class indices ``0..K-1`` or names; see ``encode_labels``. ``image_size`` gives the shape
of one example (e.g. ``(28, 28)`` for 784 values per row); by default it is what the arrays have.
Arrays are never unpickled (``allow_pickle=False``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from linclass.data.dataset import Dataset, check_examples, encode_labels
from linclass.data.splits import holdout_indices
from linclass.errors import DataError
from linclass.files import write_atomically

ARRAY_NAMES = ("X_train", "y_train", "X_test", "y_test")
CLASSES_FILE = "classes.txt"


def read_npz(path: str | Path, image_size: Sequence[int] | None = None) -> Dataset:
    """Read a ``.npz`` archive of ``X_train``, ``y_train``, ``X_test``, ``y_test`` (and ``classes``)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, TypeError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a readable .npz archive ({error})") from None
    missing = [name for name in ARRAY_NAMES if name not in contents]
    if missing:
        raise DataError(f"{path}: no array {missing[0]!r}; it has {sorted(contents)}, a dataset needs "
                        f"{', '.join(ARRAY_NAMES)}")
    classes = contents.get("classes")
    return _dataset(path.stem, contents, None if classes is None else list(classes), image_size, str(path))


def has_npy_files(folder: Path) -> bool:
    """Whether ``folder`` holds ``X_train.npy``."""
    return (folder / "X_train.npy").is_file()


def read_npy_folder(folder: str | Path, image_size: Sequence[int] | None = None, mmap: bool = False) -> Dataset:
    """Read a folder of ``.npy`` files as written by ``save``; ``mmap=True`` maps them read-only."""
    folder = Path(folder)
    arrays = {}
    for name in ARRAY_NAMES:
        path = folder / f"{name}.npy"
        try:
            arrays[name] = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except FileNotFoundError:
            raise DataError(f"{path}: missing; a .npy dataset folder needs {', '.join(ARRAY_NAMES)}") from None
        except (OSError, ValueError, EOFError) as error:
            raise DataError(f"{path}: not a readable .npy file ({error})") from None
    classes_path = folder / CLASSES_FILE
    classes = classes_path.read_text(encoding="utf-8").splitlines() if classes_path.is_file() else None
    return _dataset(folder.resolve().name, arrays, classes, image_size, str(folder))


def save(dataset: Dataset, folder: str | Path) -> Path:
    """Write ``dataset`` as a folder of ``.npy`` files (and ``classes.txt``) that ``load`` reads back.

    Converting a set once this way lets later runs memory-map it: ``load(folder, mmap=True)``. Each
    file is written with :func:`linclass.files.write_atomically`, so an interrupted save leaves no
    half-written file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if any("\n" in name or "\r" in name for name in dataset.classes):
        raise DataError(f"{folder}: class names with line breaks cannot be saved in {CLASSES_FILE}")
    for name in ARRAY_NAMES:
        write_atomically(folder / f"{name}.npy", lambda stream, a=getattr(dataset, name): np.save(stream, a))
    text = "".join(f"{name}\n" for name in dataset.classes).encode("utf-8")
    write_atomically(folder / CLASSES_FILE, text)
    return folder


def read_csv(path: str | Path, image_size: Sequence[int] | None = None) -> Dataset:
    """Read a ``.csv`` table (label, then values) and its ``..test..`` sibling, or split it."""
    path = Path(path)
    labels, features = _parse_csv(path)
    test_path = path.with_name(path.name.replace("train", "test"))
    if "train" in path.name and test_path.is_file():
        test_labels, test_features = _parse_csv(test_path)
        X_train, X_test = _compact(features, test_features)
        arrays = {"X_train": X_train, "y_train": labels, "X_test": X_test, "y_test": test_labels}
        return _dataset(path.stem.replace("train", "").strip("_-. ") or path.stem, arrays, None, image_size,
                        f"{path} + {test_path.name}")
    (X,) = _compact(features)
    train, test = holdout_indices(labels, str(path))
    arrays = {"X_train": X[train], "y_train": labels[train], "X_test": X[test], "y_test": labels[test]}
    return _dataset(path.stem, arrays, None, image_size, str(path))


def _dataset(name: str, arrays: dict, classes, image_size, source: str) -> Dataset:
    """Check the four arrays, encode the labels and shape the examples."""
    X_train, X_test = arrays["X_train"], arrays["X_test"]
    for part, X in (("X_train", X_train), ("X_test", X_test)):
        if X.ndim < 2 or X.dtype.kind not in "uif":
            raise DataError(f"{source}: {part} must be a numeric array with one row per example, "
                            f"found {X.dtype} of shape {X.shape}")
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DataError(f"{source}: training examples are {X_train.shape[1:]} but test examples are {X_test.shape[1:]}")
    y_train, y_test, classes = encode_labels(arrays["y_train"], arrays["y_test"], classes, source)
    for X, y, part in ((X_train, y_train, "training"), (X_test, y_test, "test")):
        check_examples(X, y, len(classes), f"{source} ({part} set)")
    shape = _example_shape(X_train.shape[1:], image_size, source)
    return Dataset(name=name, X_train=X_train.reshape(len(X_train), *shape), y_train=y_train,
                   X_test=X_test.reshape(len(X_test), *shape), y_test=y_test, classes=classes,
                   image_shape=shape, source=source)


def _example_shape(shape: tuple[int, ...], image_size, source: str) -> tuple[int, ...]:
    if image_size is None:
        return tuple(shape)
    wanted = tuple(int(n) for n in image_size)
    if int(np.prod(wanted)) != int(np.prod(shape)):
        raise DataError(f"{source}: examples have {int(np.prod(shape))} values, which cannot be shaped "
                        f"as image_size={wanted}")
    return wanted


def _parse_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels (numbers as float32, or names as str) and float32 values of a csv table."""
    try:
        with open(path, encoding="utf-8") as stream:
            first = stream.readline()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    fields = first.strip().split(",")
    if len(fields) < 2:
        raise DataError(f"{path}: needs a label column and at least one value column, found {first.strip()!r}")
    skip = int(not all(_is_number(field) for field in fields[1:]))
    try:
        try:
            table = np.loadtxt(path, delimiter=",", skiprows=skip, dtype=np.float32, ndmin=2, encoding="utf-8")
            return table[:, 0], table[:, 1:]
        except ValueError:  # labels are names, not numbers
            labels = np.loadtxt(path, delimiter=",", skiprows=skip, usecols=0, dtype=str, ndmin=1, encoding="utf-8")
            values = np.loadtxt(path, delimiter=",", skiprows=skip, usecols=range(1, len(fields)),
                                dtype=np.float32, ndmin=2, encoding="utf-8")
            return labels, values
    except ValueError as error:
        raise DataError(f"{path}: not a table of a label and numbers per row ({error})") from None


def _compact(*tables: np.ndarray) -> tuple[np.ndarray, ...]:
    """The tables as uint8 pixels if all their values are integers in 0..255, else as float32."""
    pixels = all(table.size and table.min() >= 0 and table.max() <= 255 and np.all(table == np.round(table))
                 for table in tables)
    dtype = np.uint8 if pixels else np.float32
    return tuple(np.ascontiguousarray(table, dtype=dtype) for table in tables)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
