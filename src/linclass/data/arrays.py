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
Arrays are never unpickled (``allow_pickle=False``). Every ``.npy`` header (of a file or of an ``.npz``
member) is read and checked against the file's size and the memory budget (:mod:`linclass.limits`)
before its array is allocated; a ``.csv`` table is scanned first, so that a row with a value too many
or too few is named, and the table's size is known before it is parsed. NaN or infinite values are
refused, naming how many there are and where the first is.
"""

from __future__ import annotations

import warnings
import zipfile
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Sequence

import numpy as np

from linclass.data.dataset import Dataset, check_examples, check_finite, encode_labels, non_finite
from linclass.data.splits import holdout_indices
from linclass.errors import DataError
from linclass.files import write_atomically
from linclass.limits import UNLIMITED, check_allocation, check_claim, check_regular_file, check_shape, read_text
from linclass.warning_filters import caught_warnings

ARRAY_NAMES = ("X_train", "y_train", "X_test", "y_test")
# What a damaged .npy file or zip archive can raise while it is read: zipfile raises NotImplementedError
# for a compression method it lacks and RuntimeError for an encrypted member.
READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError)
CLASSES_FILE = "classes.txt"


def read_npz(path: str | Path, image_size: Sequence[int] | None = None, max_memory: int | None = None) -> Dataset:
    """Read a ``.npz`` archive of ``X_train``, ``y_train``, ``X_test``, ``y_test`` (and ``classes``).

    ``max_memory``: the memory budget (:func:`linclass.limits.memory_budget`) each array is held to.
    """
    path = Path(path)
    check_regular_file(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename[:-len(".npy")]: info for info in archive.infolist()
                       if info.filename.endswith(".npy")}
            missing = [name for name in ARRAY_NAMES if name not in members]
            if missing:
                raise DataError(f"{path}: no array {missing[0]!r}; it has {sorted(members)}, a dataset needs "
                                f"{', '.join(ARRAY_NAMES)}")
            contents = {name: _read_member(archive, members[name], path, max_memory)
                        for name in (*ARRAY_NAMES, "classes") if name in members}
    except READ_ERRORS as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz archive ({error})") from None
    classes = contents.get("classes")
    if classes is not None and classes.ndim != 1:
        raise DataError(f"{path}: classes must be a list of names, found an array of shape {classes.shape}")
    return _dataset(path.stem, contents, None if classes is None else list(classes), image_size, str(path))


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, max_memory: int | None) -> np.ndarray:
    """One ``.npy`` member of an archive, its header checked before its array is allocated."""
    with archive.open(info) as stream:
        _check_npy_header(stream, path, info.filename, info.compress_type != zipfile.ZIP_STORED, max_memory)
    with archive.open(info) as stream:
        return np.lib.format.read_array(stream, allow_pickle=False)


def _check_npy_header(stream: IO[bytes], path: Path, member: str | None, compressed: bool,
                      max_memory: int | None) -> None:
    """Read a ``.npy`` header (of the file ``path``, or of its ``member``) and refuse an array that the file
    cannot hold or the memory budget cannot take."""
    where = f"{path}: {member}" if member else str(path)
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0)):
        raise DataError(f"{where}: .npy format version {version[0]}.{version[1]} is not read; "
                        "save the arrays with numpy.save")
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read_header(stream)
    if dtype.hasobject:
        raise DataError(f"{where}: holds Python objects ({dtype}); a dataset holds numbers or text")
    claimed = check_shape(where, shape, dtype.itemsize, max_memory)
    check_claim(path, claimed, f"{member or 'the array'} (shape {shape}, {dtype})", compressed, max_memory)


def has_npy_files(folder: Path) -> bool:
    """Whether ``folder`` holds ``X_train.npy``."""
    return (folder / "X_train.npy").is_file()


def read_npy_folder(folder: str | Path, image_size: Sequence[int] | None = None, mmap: bool = False,
                    max_memory: int | None = None) -> Dataset:
    """Read a folder of ``.npy`` files as written by ``save``; ``mmap=True`` maps them read-only.

    Mapped arrays stay on disk: their headers are checked against the files' sizes, not the memory budget.
    """
    folder = Path(folder)
    arrays = {}
    for name in ARRAY_NAMES:
        path = folder / f"{name}.npy"
        if not path.exists():
            raise DataError(f"{path}: missing; a .npy dataset folder needs {', '.join(ARRAY_NAMES)}")
        arrays[name] = read_npy(path, mmap, UNLIMITED if mmap else max_memory)
    classes_path = folder / CLASSES_FILE
    classes = read_text(classes_path, "the class names", max_memory).splitlines() if classes_path.exists() else None
    return _dataset(folder.resolve().name, arrays, classes, image_size, str(folder))


def read_npy(path: Path, mmap: bool, max_memory: int | None) -> np.ndarray:
    """The array of the ``.npy`` file ``path``, its header checked first (:func:`_check_npy_header`);
    ``mmap=True`` maps it read-only. ``DataError`` naming the file for anything it cannot be."""
    check_regular_file(path)
    try:
        with open(path, "rb") as stream:
            _check_npy_header(stream, path, None, False, max_memory)
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except READ_ERRORS as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"{path}: not a readable .npy file ({error})") from None


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
        write_atomically(folder / f"{name}.npy", partial(np.save, arr=getattr(dataset, name)))
    text = "".join(f"{name}\n" for name in dataset.classes).encode("utf-8")
    write_atomically(folder / CLASSES_FILE, text)
    return folder


def read_csv(path: str | Path, image_size: Sequence[int] | None = None, max_memory: int | None = None) -> Dataset:
    """Read a ``.csv`` table (label, then values) and its ``..test..`` sibling, or split it."""
    path = Path(path)
    labels, features = _parse_csv(path, max_memory)
    test_path = path.with_name(path.name.replace("train", "test"))
    if "train" in path.name and test_path.is_file():
        test_labels, test_features = _parse_csv(test_path, max_memory)
        X_train, X_test = _compact(features, test_features)
        arrays = {"X_train": X_train, "y_train": labels, "X_test": X_test, "y_test": test_labels}
        return _dataset(path.stem.replace("train", "").strip("_-. ") or path.stem, arrays, None, image_size,
                        f"{path} + {test_path.name}")
    (X,) = _compact(features)
    train, test = holdout_indices(labels, str(path))
    arrays = {"X_train": X[train], "y_train": labels[train], "X_test": X[test], "y_test": labels[test]}
    return _dataset(path.stem, arrays, None, image_size, str(path))


def _dataset(name: str, arrays: dict[str, np.ndarray], classes: Sequence[str] | None,
             image_size: Sequence[int] | None, source: str) -> Dataset:
    """Check the four arrays, encode the labels and shape the examples."""
    X_train, X_test = arrays["X_train"], arrays["X_test"]
    for part, X in (("X_train", X_train), ("X_test", X_test)):
        if X.ndim < 2 or X.dtype.kind not in "uif":
            raise DataError(f"{source}: {part} must be a numeric array with one row per example, "
                            f"found {X.dtype} of shape {X.shape}")
        check_finite(X, part, source)
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DataError(f"{source}: training examples are {X_train.shape[1:]} but test examples are {X_test.shape[1:]}")
    y_train, y_test, classes = encode_labels(arrays["y_train"], arrays["y_test"], classes, source)
    for X, y, part in ((X_train, y_train, "training"), (X_test, y_test, "test")):
        check_examples(X, y, len(classes), f"{source} ({part} set)")
    shape = _example_shape(X_train.shape[1:], image_size, source)
    return Dataset(name=name, X_train=X_train.reshape(len(X_train), *shape), y_train=y_train,
                   X_test=X_test.reshape(len(X_test), *shape), y_test=y_test, classes=classes,
                   image_shape=shape, source=source)


def _example_shape(shape: tuple[int, ...], image_size: Sequence[int] | None, source: str) -> tuple[int, ...]:
    if image_size is None:
        return tuple(shape)
    wanted = tuple(int(n) for n in image_size)
    if int(np.prod(wanted)) != int(np.prod(shape)):
        raise DataError(f"{source}: examples have {int(np.prod(shape))} values, which cannot be shaped "
                        f"as image_size={wanted}")
    return wanted


def _parse_csv(path: Path, max_memory: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Labels (numbers as float32, or names as str) and float32 values of a csv table, checked."""
    layout = _scan_csv(path)
    check_allocation(str(path), layout.rows * layout.width * 4 * 2,
                     f"parsing {layout.rows} rows of {layout.width} values", max_memory)
    read = partial(np.loadtxt, path, delimiter=",", skiprows=layout.skip, comments=None, ndmin=2,
                   encoding="utf-8")
    try:
        try:
            table = read(dtype=np.float32)
            labels, values, first_column = table[:, 0], table[:, 1:], 1
        except ValueError:  # labels are names, not numbers
            with caught_warnings():  # NumPy reads text in chunks and warns of every empty line it skips
                warnings.simplefilter("ignore", UserWarning)
                labels = read(usecols=0, dtype=str)[:, 0]
            values = read(usecols=range(1, layout.width), dtype=np.float32)
            table, first_column = values, 2
    except ValueError as error:
        raise DataError(f"{path}: not a table of a label and numbers per row ({error})") from None
    found = non_finite(table)
    if found is not None:
        count, (row, column) = found
        raise DataError(f"{path}: {count} NaN/inf value{'s' * (count > 1)}, first at row {layout.line(row)}, "
                        f"column {column + first_column}")
    return labels, values


@dataclass(frozen=True)
class CsvLayout:
    """What a first pass over a csv file finds: lines to skip, data rows, values per row, blank lines."""

    skip: int
    rows: int
    width: int
    blank_lines: tuple[int, ...]

    def line(self, row: int) -> int:
        """The line of the file (from 1) that holds data row ``row`` (from 0)."""
        line = self.skip + row + 1
        for blank in self.blank_lines:
            line += self.skip < blank <= line
        return line


def _scan_csv(path: Path) -> CsvLayout:
    """Count the rows and check that each has as many values as the first, naming the first that has not.

    ``np.loadtxt`` with ``usecols`` would silently drop a value too many; this pass, which holds one
    line at a time, refuses the row instead and tells the parser how big the table is.
    """
    check_regular_file(path)
    first, skip, width, rows, blank_lines = None, 0, 0, 0, []
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            for number, line in enumerate(stream, start=1):
                line = line.rstrip("\r\n")
                if not line:  # np.loadtxt passes over empty lines
                    blank_lines.append(number)
                    continue
                fields = line.count(",") + 1
                if first is None:
                    first, width = number, fields
                    if width < 2:
                        raise DataError(f"{path}: needs a label column and at least one value column, found "
                                        f"{line[:80]!r}")
                    is_header = not all(_is_number(field) for field in line.split(",")[1:])
                    skip = number if is_header else number - 1
                    rows -= is_header
                elif fields != width:
                    raise DataError(f"{path}: row {number} has {fields} values, but row {first} has {width}; "
                                    "every row needs a label and the same number of values")
                rows += 1
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    if rows <= 0:
        raise DataError(f"{path}: no rows of data")
    return CsvLayout(skip, rows, width, tuple(blank_lines))


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
