"""The named datasets linclass knows, and ``load``, which turns a name or a path into a ``Dataset``.

=============  ============================================  =========================================
name           what                                          where it comes from
=============  ============================================  =========================================
digits         8×8 greyscale digits, 1797 images, 10 classes  built into scikit-learn (no download)
fashion-mnist  28×28 greyscale clothes, 60000 + 10000, 10     IDX files; ``apt-get install
                                                              dataset-fashion-mnist``
mnist          28×28 greyscale digits, 60000 + 10000, 10      IDX files
cifar10        32×32 colour photos, 50000 + 10000, 10         python or binary batches
cifar100       32×32 colour photos, 50000 + 10000, 100        python or binary files (fine labels)
=============  ============================================  =========================================

Anything else is a path, of one of the kinds in :data:`FORMATS`: a folder of class subfolders of images,
a folder of ``.npy`` arrays, a folder of ``.npy`` shards with a manifest, a folder of IDX or CIFAR files, an
``.npz`` archive or a ``.csv`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from linclass.data import arrays, cifar, idx, shards
from linclass.data.builtin import load_digits
from linclass.data.dataset import Dataset, check_classes
from linclass.data.folder import read_image_folder
from linclass.data.locate import ENVIRONMENT_VARIABLE, check_root, describe_search, find_folder
from linclass.errors import DataError

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(k) for k in range(10)]
IDX_FILES = ("train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
             "t10k-labels-idx1-ubyte.gz")


@dataclass(frozen=True)
class KnownDataset:
    """A named dataset: what it is, where it may lie, how to read it and how to get it."""

    name: str
    description: str
    subfolders: tuple[str, ...]
    holds_set: Callable[[Path], bool] | None  # None for a set built into the library
    read: Callable[[Path | None, int | None], Dataset]  # (folder, None for a built-in set; max_memory)
    how_to_get: str


def _found(folder: Path | None) -> Path:
    """The folder :func:`locate` found for a set read from files (only the built-in set has none)."""
    if folder is None:
        raise DataError("a dataset read from files was given no folder: locate() finds one for every such set")
    return folder


KNOWN = {known.name: known for known in (
    KnownDataset("digits", "8×8 greyscale handwritten digits, 1797 images, 10 classes (scikit-learn)", (),
                 None, lambda folder, max_memory: load_digits(), "ships with scikit-learn, no download"),
    KnownDataset("fashion-mnist", "28×28 greyscale clothing, 60000 training + 10000 test images, 10 classes",
                 ("fashion-mnist", "fashion_mnist", "FashionMNIST/raw", "FashionMNIST", "Fashion-MNIST"),
                 idx.has_idx_files,
                 lambda folder, max_memory: idx.read_idx_dataset(_found(folder), "fashion-mnist",
                                                                 FASHION_MNIST_CLASSES, max_memory),
                 "apt-get install dataset-fashion-mnist (installs /usr/share/datasets/fashion-mnist), or put "
                 f"{IDX_FILES} from https://github.com/zalandoresearch/fashion-mnist in "
                 f"~/.cache/linclass/fashion-mnist"),
    KnownDataset("mnist", "28×28 greyscale handwritten digits, 60000 training + 10000 test images, 10 classes",
                 ("mnist", "MNIST/raw", "MNIST"), idx.has_idx_files,
                 lambda folder, max_memory: idx.read_idx_dataset(_found(folder), "mnist", DIGIT_CLASSES, max_memory),
                 f"put {IDX_FILES} (e.g. from https://ossci-datasets.s3.amazonaws.com/mnist/) in "
                 "~/.cache/linclass/mnist"),
    KnownDataset("cifar10", "32×32 colour photos, 50000 training + 10000 test images, 10 classes",
                 ("cifar-10-batches-py", "cifar-10-batches-bin", "cifar10", "cifar-10"), cifar.has_cifar10,
                 lambda folder, max_memory: cifar.read_cifar10(_found(folder), max_memory=max_memory),
                 "unpack https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (or the binary version) in "
                 "~/.cache/linclass"),
    KnownDataset("cifar100", "32×32 colour photos, 50000 training + 10000 test images, 100 fine classes",
                 ("cifar-100-python", "cifar-100-binary", "cifar100", "cifar-100"), cifar.has_cifar100,
                 lambda folder, max_memory: cifar.read_cifar100(_found(folder), max_memory=max_memory),
                 "unpack https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz (or the binary version) in "
                 "~/.cache/linclass"),
)}
ALIASES = {"fashionmnist": "fashion-mnist", "cifar-10": "cifar10", "cifar-100": "cifar100"}


def known_datasets() -> list[str]:
    """The names ``load`` accepts besides paths: digits, fashion-mnist, mnist, cifar10, cifar100."""
    return list(KNOWN)


def canonical_name(name: str) -> str | None:
    """The catalog name for ``name`` (case, ``_`` for ``-`` and aliases forgiven), or None."""
    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    return key if key in KNOWN else None


def describe(name: str, root: str | Path | None = None) -> dict:
    """What the catalog knows about a named set and whether it is here, without reading it.

    Returns
    -------
    dict
        ``name``, ``description``, ``found`` (the folder it would be read from, ``"built in"``, or None),
        ``looked_in`` (where it was searched) and ``how_to_get``; all strings (``found`` may be None).
    """
    check_root(root)
    known = _known(name)
    if known.holds_set is None:
        return {"name": known.name, "description": known.description, "found": "built in",
                "looked_in": "", "how_to_get": known.how_to_get}
    folder = find_folder(known.subfolders, known.holds_set, root)
    return {"name": known.name, "description": known.description,
            "found": None if folder is None else str(folder),
            "looked_in": describe_search(known.subfolders, root), "how_to_get": known.how_to_get}


def locate(name: str, root: str | Path | None = None) -> Path | None:
    """The folder a named set would be read from (None for the built-in set).

    Raises
    ------
    DataError
        If ``root`` is not a folder, or the set is not found; the message says where it was looked for
        and how to get it.
    """
    check_root(root)
    known = _known(name)
    if known.holds_set is None:
        return None
    folder = find_folder(known.subfolders, known.holds_set, root)
    if folder is None:
        raise DataError(f"{known.name} not found; looked in {describe_search(known.subfolders, root)}. "
                        f"To get it: {known.how_to_get}; or pass root= (--root) or set "
                        f"{ENVIRONMENT_VARIABLE} to the folder that holds it")
    return folder


def load(name_or_path: str | Path, root: str | Path | None = None,
         image_size: Sequence[int] | None = None, mmap: bool = False, max_memory: int | None = None) -> Dataset:
    """Load a dataset by name or path, with its training and test splits.

    Parameters
    ----------
    name_or_path : str or Path
        A known name (``known_datasets()``: ``"digits"``, ``"fashion-mnist"``, ``"mnist"``,
        ``"cifar10"``, ``"cifar100"``) or a path: a folder of class subfolders of images (with optional
        ``train/`` and ``test/``), a folder of ``.npy`` arrays (as ``save`` writes), a folder of ``.npy``
        shards (as ``linclass shards`` writes: read whole; its training and validation shards become the
        training set), a folder of IDX or CIFAR files, an ``.npz`` archive or a ``.csv`` table. Names
        win over paths; write ``./digits``
        for a folder called ``digits``.
    root : str or Path, optional
        Where to look first for a named set: its own folder or the folder above it. Then come
        ``$LINCLASS_DATA``, ``~/.cache/linclass`` and ``/usr/share/datasets``. It must be a folder.
    image_size : (H, W), optional
        For an image folder: resize every image to H×W. For arrays (``.npz``, ``.csv``, ``.npy``): the
        shape of one example, e.g. ``(28, 28)`` for rows of 784 values.
    mmap : bool
        Memory-map a folder of ``.npy`` files instead of reading it into memory.
    max_memory : int, optional
        The most bytes one array read from the files may take; a file whose header claims more is
        refused before anything is allocated. By default ``$LINCLASS_MAX_MEMORY`` or half of the
        machine's memory, at most 8 GiB (:mod:`linclass.limits`).

    Returns
    -------
    Dataset
        Images as uint8 arrays N×H×W or N×H×W×C, labels int64 in 0..K-1, class names, image shape.

    Raises
    ------
    DataError
        If ``root`` is not a folder, the set is not found (the message says where it was looked for and
        how to get it), a file is malformed or claims more than ``max_memory`` (the message names the
        file and the problem), or the training set holds fewer than two classes.

    Examples
    --------
    >>> data = load("fashion-mnist")
    >>> data.X_train.shape, data.classes[9]
    ((60000, 28, 28), 'Ankle boot')
    """
    data = _read(name_or_path, root, image_size, mmap, max_memory)
    check_classes(data.y_train, data.classes, data.source)
    return data


def _read(name_or_path: str | Path, root: str | Path | None, image_size: Sequence[int] | None, mmap: bool,
          max_memory: int | None) -> Dataset:
    """The dataset that ``load``'s arguments name, as its reader returns it."""
    check_root(root)
    name = canonical_name(str(name_or_path)) if isinstance(name_or_path, str) else None
    if name is not None:
        _refuse_options(name, image_size, mmap)
        folder = locate(name, root)  # None only for the built-in set, whose reader reads no folder
        return KNOWN[name].read(folder, max_memory)
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise DataError(f"{name_or_path}: no such file or folder, and not a known dataset "
                        f"({', '.join(known_datasets())})")
    data_format = format_of(path)
    if data_format is not None:
        if mmap and not data_format.maps:
            _refuse_options(str(path), None, mmap)
        if not data_format.resizes:
            _refuse_options(str(path), image_size, False)
        return data_format.read(path, image_size, mmap, max_memory)
    raise DataError(f"{path}: cannot read a {path.suffix or 'suffixless'} file as a dataset; give "
                    + ", ".join(f"{item.title}" for item in FORMATS.values()))


@dataclass(frozen=True)
class DataFormat:
    """A kind of file or folder ``load`` reads, declared once: how to tell it, how to read it, what it allows.

    ``recognizes(path)`` says whether ``path`` is one; ``read(path, image_size, mmap, max_memory)`` reads
    it. ``resizes``: whether it takes ``image_size`` (images of any size, or rows of values to reshape);
    ``maps``: whether it can be memory-mapped.
    """

    name: str
    title: str
    recognizes: Callable[[Path], bool]
    read: Callable[[Path, Sequence[int] | None, bool, int | None], Dataset]
    resizes: bool = False
    maps: bool = False


def _suffix(suffix: str) -> Callable[[Path], bool]:
    return lambda path: path.is_file() and path.suffix.lower() == suffix


FORMATS: dict[str, DataFormat] = {item.name: item for item in (
    DataFormat("shards", "a folder of .npy shards with a manifest.json (as linclass shards writes; linclass train "
               "streams it from disk, block by block)", lambda path: path.is_dir() and shards.has_manifest(path),
               shards.read_shards),
    DataFormat("npy-folder", "a folder of .npy arrays (as linclass.datasets.save writes)",
               lambda path: path.is_dir() and arrays.has_npy_files(path),
               lambda path, size, mmap, budget: arrays.read_npy_folder(path, size, mmap, budget),
               resizes=True, maps=True),
    DataFormat("idx", "a folder of IDX files (MNIST's format)", lambda path: path.is_dir() and idx.has_idx_files(path),
               lambda path, size, mmap, budget: idx.read_idx_dataset(path, path.resolve().name, max_memory=budget)),
    DataFormat("cifar10", "a folder of CIFAR-10 batches", lambda path: path.is_dir() and cifar.has_cifar10(path),
               lambda path, size, mmap, budget: cifar.read_cifar10(path, path.resolve().name, budget)),
    DataFormat("cifar100", "a folder of CIFAR-100 files", lambda path: path.is_dir() and cifar.has_cifar100(path),
               lambda path, size, mmap, budget: cifar.read_cifar100(path, path.resolve().name, budget)),
    DataFormat("image-folder", "a folder of class subfolders of images", Path.is_dir,
               lambda path, size, mmap, budget: read_image_folder(path, size, budget), resizes=True),
    DataFormat("npz", "an .npz archive of X_train, y_train, X_test, y_test", _suffix(".npz"),
               lambda path, size, mmap, budget: arrays.read_npz(path, size, budget), resizes=True),
    DataFormat("csv", "a .csv table (label, then values)", _suffix(".csv"),
               lambda path, size, mmap, budget: arrays.read_csv(path, size, budget), resizes=True),
)}
"""Every kind of path ``load`` reads, in the order they are tried (the first that recognizes a path reads it)."""


def format_of(path: Path) -> DataFormat | None:
    """The format ``load`` reads the existing ``path`` as: the first of :data:`FORMATS` that recognizes it."""
    return next((item for item in FORMATS.values() if item.recognizes(path)), None)


def _refuse_options(what: str, image_size: Sequence[int] | None, mmap: bool) -> None:
    """``DataError`` (a ``ValueError``) for an option the set cannot use, so the command line says it in one line."""
    if image_size is not None:
        raise DataError(f"image_size={tuple(image_size)}: {what} has images of a fixed size; leave image_size "
                        "(--image-size) out, it applies to image folders and arrays")
    if mmap:
        raise DataError(f"mmap=True: {what} cannot be memory-mapped; convert it once with "
                        "linclass.datasets.save(data, folder), then load(folder, mmap=True)")


def _known(name: str) -> KnownDataset:
    key = canonical_name(name)
    if key is None:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(known_datasets())}")
    return KNOWN[key]
