"""CIFAR-10 and CIFAR-100, in both of their distributed formats, read without running any code.

A CIFAR image is 3072 bytes: the 1024 red values of its 32×32 pixels row by row, then the green, then
the blue. Two formats hold them:

* the "python version": pickled dicts (``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and
  ``batches.meta`` for CIFAR-10; ``train``, ``test`` and ``meta`` for CIFAR-100) whose ``data`` is an
  N×3072 uint8 array and whose labels are a list (``labels``; ``fine_labels`` for CIFAR-100);
* the "binary version": records of label byte(s) then 3072 pixel bytes (``data_batch_N.bin``,
  ``test_batch.bin``; CIFAR-100's ``train.bin``/``test.bin`` carry a coarse and a fine label byte),
  with the class names in text files.

Unpickling a file can run arbitrary code, because a pickle may name any function to call. The python
batches are therefore read by ``SafeUnpickler``, which resolves only the few names a CIFAR pickle uses
to rebuild NumPy arrays and refuses every other one before it is looked up. A pickle can also describe
far more than it holds (a list that refers to itself a thousand times, nested nine deep, is a billion
labels in 25 kB), so what it loads is bounded too: at most :data:`MAX_DEPTH` levels of nesting and no
more list items than the file has bytes, and only arrays of plain numbers or text, whose size the file
itself must hold.

Images are returned as N×32×32×3 uint8 (height, width, channel), the layout images have elsewhere.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence, cast

import numpy as np
import numpy.typing as npt

from linclass.data.dataset import Dataset, check_examples
from linclass.errors import DataError
from linclass.limits import check_allocation, file_size, read_text

try:  # NumPy 2 (private names: _frombuffer is not in NumPy's type stubs)
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer  # type: ignore[attr-defined]
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    from numpy.core.numeric import _frombuffer  # type: ignore[no-redef]

SIDE, CHANNELS = 32, 3
PIXELS = SIDE * SIDE * CHANNELS
MAX_DEPTH = 3  # a batch is a dict of arrays, lists of labels or names, and strings: two levels of containers


def _latin1_encode(text: str, encoding: str) -> bytes:
    """``_codecs.encode`` as Python 3 pickles ``bytes`` at protocol 2, and nothing else."""
    if encoding != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


class _ArrayType:
    """Stands for ``numpy.ndarray`` in a pickle: it can be the type ``_reconstruct`` builds, never a call."""


def _plain_dtype(spec: npt.DTypeLike, align: bool = False, copy: bool = False) -> np.dtype:
    """``numpy.dtype`` for numbers and text only: an object dtype would let the pickle size an array freely."""
    dtype = np.dtype(spec, align, copy)
    if dtype.hasobject or dtype.kind == "V":
        raise pickle.UnpicklingError(f"refused the dtype {dtype}; a CIFAR batch holds numbers and text")
    return dtype


def _reconstruct_array(subtype: object, shape: Sequence[int], dtype: np.dtype) -> np.ndarray:
    """``_reconstruct`` as NumPy pickles an array: an empty ndarray, filled from the file's bytes next."""
    if subtype is not _ArrayType or tuple(shape) != (0,):
        raise pickle.UnpicklingError("refused an array reconstruction that NumPy does not write")
    return cast(np.ndarray, _reconstruct(np.ndarray, (0,), dtype))  # typed as object by NumPy's stubs


# The only globals a CIFAR pickle refers to: array and dtype reconstruction (as written by NumPy 1 and 2,
# pickle protocols 2 to 5) and the latin-1 encoding of bytes at protocol 2. Dicts, lists, strings, bytes
# and numbers are pickle opcodes, not globals.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct_array,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct_array,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _ArrayType,
    ("numpy", "dtype"): _plain_dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays, dicts, lists, strings and numbers, and nothing else.

    Any other global (``os.system``, ``builtins.eval``, a class with a ``__reduce__``) is refused with
    ``pickle.UnpicklingError`` before it is imported, so a malicious file cannot run code. Arrays must
    be of numbers or text, rebuilt the way NumPy pickles them, from bytes the file holds.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}; a CIFAR batch holds only "
                                         "NumPy arrays, lists, strings and numbers") from None


def read_python_batch(path: str | Path, max_memory: int | None = None) -> dict[str, Any]:
    """Read one pickled CIFAR file with ``SafeUnpickler`` into a dict with ``str`` keys.

    Raises
    ------
    DataError
        If the file is missing, is not a pickle, names anything but NumPy arrays, is nested deeper or
        refers to more items than a CIFAR batch can, is larger than the memory budget
        (:mod:`linclass.limits`), or is not a dict.
    """
    path = Path(path)
    size = file_size(path)
    check_allocation(str(path), size, "unpickling the file", max_memory)
    try:
        with open(path, "rb") as stream:
            loaded = SafeUnpickler(stream, encoding="bytes").load()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    except pickle.UnpicklingError as error:
        raise DataError(f"{path}: not a CIFAR python batch: {error}") from None
    except Exception as error:  # a damaged pickle can fail in any way; none of them is the caller's bug
        raise DataError(f"{path}: corrupt pickle ({type(error).__name__}: {error})") from None
    if not isinstance(loaded, dict):
        raise DataError(f"{path}: holds a {type(loaded).__name__}, but a CIFAR batch is a dict")
    _check_bounded(loaded, size, path)
    return {_text(key): value for key, value in loaded.items()}


def _check_bounded(loaded: dict, size: int, path: Path) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH`, and more container items than the file has bytes.

    Each item a pickle spells out takes at least one byte of it; more items than bytes means the same
    list is referred to over and over, which multiplies into more than memory holds once it is read.
    """
    pending, items = [(loaded, 1)], 0
    while pending:
        value, depth = pending.pop()
        if not isinstance(value, (dict, list, tuple)):
            continue
        if depth > MAX_DEPTH:
            raise DataError(f"{path}: nested more than {MAX_DEPTH} deep; a CIFAR batch is a dict of arrays, "
                            "lists and strings")
        members = list(value.values()) if isinstance(value, dict) else value
        items += len(members)
        if items > size:
            raise DataError(f"{path}: its lists refer to more than {items} items in a file of {size} bytes; "
                            "they repeat one another, which is not a CIFAR batch")
        pending += [(member, depth + 1) for member in members]


def read_binary_batch(path: str | Path, label_bytes: int,
                      max_memory: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read one binary CIFAR file: ``(pixels N×3072, labels N)``; the label is the last label byte."""
    path = Path(path)
    record = label_bytes + PIXELS
    check_allocation(str(path), file_size(path), "reading the file", max_memory)
    try:
        content = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    if content.size == 0 or content.size % record:
        raise DataError(f"{path}: {content.size} bytes is not a whole number of {record}-byte records "
                        f"({label_bytes} label byte(s) + {PIXELS} pixels); the file is truncated or foreign")
    records = content.reshape(-1, record)
    return records[:, label_bytes:], records[:, label_bytes - 1].astype(np.int64)


@dataclass(frozen=True)
class PythonLayout:
    """File and key names of the pickled ("python version") distribution."""

    train: tuple[str, ...]
    test: str
    meta: str
    names_key: str
    labels_key: str


@dataclass(frozen=True)
class BinaryLayout:
    """File names of the binary distribution; labels are the last of ``label_bytes`` bytes."""

    train: tuple[str, ...]
    test: str
    names_file: str
    label_bytes: int


CIFAR10 = (10,
           PythonLayout(tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta",
                        "label_names", "labels"),
           BinaryLayout(tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin",
                        "batches.meta.txt", 1))
CIFAR100 = (100,
            PythonLayout(("train",), "test", "meta", "fine_label_names", "fine_labels"),
            BinaryLayout(("train.bin",), "test.bin", "fine_label_names.txt", 2))


def has_cifar10(folder: Path) -> bool:
    """Whether ``folder`` holds CIFAR-10's first training batch (python or binary)."""
    return (folder / "data_batch_1").is_file() or (folder / "data_batch_1.bin").is_file()


def has_cifar100(folder: Path) -> bool:
    """Whether ``folder`` holds CIFAR-100's training file (python or binary)."""
    return (folder / "train").is_file() or (folder / "train.bin").is_file()


def read_cifar10(folder: str | Path, name: str = "cifar10", max_memory: int | None = None) -> Dataset:
    """Read CIFAR-10 (python or binary batches) from its folder; ``max_memory``: see :mod:`linclass.limits`."""
    return _read_cifar(Path(folder), name, max_memory, *CIFAR10)


def read_cifar100(folder: str | Path, name: str = "cifar100", max_memory: int | None = None) -> Dataset:
    """Read CIFAR-100 with its 100 fine labels (python or binary files) from its folder."""
    return _read_cifar(Path(folder), name, max_memory, *CIFAR100)


def _read_cifar(folder: Path, name: str, max_memory: int | None, n_classes: int, python: PythonLayout,
                binary: BinaryLayout) -> Dataset:
    layout: PythonLayout | BinaryLayout
    if (folder / python.train[0]).is_file():
        layout, read = python, partial(_read_python_part, layout=python)
        classes = _python_names(folder / python.meta, python.names_key, n_classes, max_memory)
    elif (folder / binary.train[0]).is_file():
        layout, read = binary, partial(_read_binary_part, layout=binary)
        classes = _text_names(folder / binary.names_file, n_classes, max_memory)
    else:
        raise DataError(f"{folder}: neither {python.train[0]} (python version) nor {binary.train[0]} "
                        f"(binary version) is here; this is not a {name} folder")
    read_part = partial(read, n_classes=n_classes, max_memory=max_memory)
    X_train, y_train = _assemble([folder / file for file in layout.train], read_part, max_memory)
    X_test, y_test = _assemble([folder / layout.test], read_part, max_memory)
    return Dataset(name=name, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
                   classes=classes, image_shape=(SIDE, SIDE, CHANNELS), source=str(folder))


def _read_python_part(path: Path, layout: PythonLayout, n_classes: int,
                      max_memory: int | None) -> tuple[np.ndarray, np.ndarray]:
    batch = read_python_batch(path, max_memory)
    for key in ("data", layout.labels_key):
        if key not in batch:
            raise DataError(f"{path}: no {key!r} entry; keys are {sorted(batch)}")
    pixels = batch["data"]
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2 \
            or pixels.shape[1] != PIXELS:
        found = f"{pixels.dtype} array of shape {pixels.shape}" if isinstance(pixels, np.ndarray) \
            else type(pixels).__name__
        raise DataError(f"{path}: 'data' must be a uint8 array N×{PIXELS}, found a {found}")
    labels = _label_vector(batch[layout.labels_key], path)
    check_examples(pixels, labels, n_classes, str(path))
    return pixels, labels


def _read_binary_part(path: Path, layout: BinaryLayout, n_classes: int,
                      max_memory: int | None) -> tuple[np.ndarray, np.ndarray]:
    pixels, labels = read_binary_batch(path, layout.label_bytes, max_memory)
    check_examples(pixels, labels, n_classes, str(path))
    return pixels, labels


def _label_vector(labels: object, path: Path) -> np.ndarray:
    try:
        vector = np.asarray(labels)
    except (ValueError, TypeError):
        vector = None
    if vector is None or vector.ndim != 1 or vector.dtype.kind not in "iu":
        raise DataError(f"{path}: labels must be a list of integers, found {type(labels).__name__}")
    return vector.astype(np.int64)


def _assemble(paths: list[Path], read_part: Callable[[Path], tuple[np.ndarray, np.ndarray]],
              max_memory: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Read batch files into one N×32×32×3 array, reordering each image's planes into pixels.

    Every image takes 3072 bytes of its file, so the files' sizes bound the number of images: the array
    is allocated once, up front, and each batch is copied into it as soon as it is read, so that only
    one batch at a time is held besides the result.
    """
    capacity = sum(file_size(path) // PIXELS for path in paths)
    check_allocation(str(paths[0].parent), capacity * PIXELS, f"{capacity} images", max_memory)
    images = np.empty((capacity, SIDE, SIDE, CHANNELS), dtype=np.uint8)
    labels: list[np.ndarray] = []
    start = 0
    for path in paths:
        pixels, part_labels = read_part(path)
        if start + len(pixels) > capacity:  # cannot happen with a file that really holds its pixels
            raise DataError(f"{path}: holds {len(pixels)} images, more than its {file_size(path)} bytes can")
        planes = pixels.reshape(len(pixels), CHANNELS, SIDE, SIDE)
        images[start:start + len(pixels)] = planes.transpose(0, 2, 3, 1)
        labels.append(part_labels)
        start += len(pixels)
    return images[:start], np.concatenate(labels)


def _python_names(path: Path, key: str, n_classes: int, max_memory: int | None) -> list[str]:
    meta = read_python_batch(path, max_memory)
    names = meta.get(key)
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, (bytes, str)) for name in names):
        raise DataError(f"{path}: no list of class names under {key!r}")
    return _checked_names([_text(name) for name in names], n_classes, path)


def _text_names(path: Path, n_classes: int, max_memory: int | None) -> list[str]:
    lines = read_text(path, "the class names", max_memory).splitlines()
    return _checked_names([line.strip() for line in lines if line.strip()], n_classes, path)


def _checked_names(names: list[str], n_classes: int, path: Path) -> list[str]:
    if len(names) != n_classes:
        raise DataError(f"{path}: {len(names)} class names, expected {n_classes}")
    return names


def _text(value: object) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
