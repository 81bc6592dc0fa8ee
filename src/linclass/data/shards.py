"""A folder of ``.npy`` shards with a manifest: a dataset on disk in pieces, to be read a block at a time.

::

    shards/
      manifest.json              {"format": "linclass-shards", "version": 1, "name": ..., "classes": [...],
                                  "feature_shape": [28, 28], "dtype": "uint8",
                                  "splits": {"train": [{"features": "train-00000-X.npy",
                                                        "labels": "train-00000-y.npy", "rows": 13107}, ...],
                                             "validation": [...], "test": [...]}}
      train-00000-X.npy          examples (rows, *feature_shape) of the manifest's dtype
      train-00000-y.npy          int64 class indices 0..K-1, one per example
      ...

Each split is a list of shards, numbered in order; ``train`` is required, ``validation`` and ``test`` are
optional. :func:`write_shards` writes a user's arrays (any labels: they are encoded as class indices, as
the other array formats do), :func:`write_dataset_shards` a :class:`~linclass.datasets.Dataset` with a
validation split carved out as ``linclass train`` would carve it (stratified, seeded). The training rows
are written in a seeded random order, so that the contiguous blocks a stream reads each hold a mix of
classes even when the source was sorted by class. A folder is written into a hidden temporary folder
beside it and renamed into place at the end: an interrupted write leaves no half folder.

:func:`linclass.datasets.load` reads such a folder whole, into memory (its training and validation
shards as the training set); :class:`linclass.distributed.Shards` streams one split from disk.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from linclass.data.arrays import read_npy
from linclass.data.dataset import Dataset, check_examples, check_finite, encode_labels
from linclass.data.splits import holdout_indices, split_indices
from linclass.errors import DataError
from linclass.files import _umask, write_atomically
from linclass.limits import check_allocation, read_text

__all__ = ["MANIFEST", "SPLITS", "Manifest", "ShardEntry", "has_manifest", "read_manifest", "read_shards",
           "write_shards", "write_dataset_shards"]

MANIFEST = "manifest.json"
FORMAT = "linclass-shards"
VERSION = 1
SPLITS = ("train", "validation", "test")
SHARD_BYTES = 64 * 2**20
"""The examples' bytes a shard holds by default."""


@dataclass(frozen=True)
class ShardEntry:
    """One shard of a split: its two files (names in the folder) and its number of rows."""

    features: str
    labels: str
    rows: int


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says of a shards folder, checked."""

    folder: Path
    name: str
    source: str
    classes: list[str]
    feature_shape: tuple[int, ...]
    dtype: np.dtype
    splits: dict[str, list[ShardEntry]]

    @property
    def path(self) -> Path:
        return self.folder / MANIFEST

    def rows(self, split: str) -> int:
        return sum(entry.rows for entry in self.splits.get(split, []))

    def entries(self, split: str) -> list[ShardEntry]:
        """The shards of ``split``; ``DataError`` when the folder has no such split."""
        if split not in SPLITS:
            raise ValueError(f"split={split!r}: expected one of {', '.join(SPLITS)}")
        if not self.splits.get(split):
            raise DataError(f"{self.path}: has no {split} split (it has {', '.join(self.splits)})")
        return self.splits[split]


def has_manifest(folder: Path) -> bool:
    """Whether ``folder`` holds a ``manifest.json`` (and so is a shards folder)."""
    return (folder / MANIFEST).is_file()


def read_manifest(folder: str | Path) -> Manifest:
    """The checked manifest of a shards folder; ``DataError`` naming the file and what is wrong with it."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise DataError(f"{path}: missing; a shards folder has a manifest (linclass shards writes one)")
    try:
        raw = json.loads(read_text(path, "the manifest"))
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not valid JSON ({error}); the manifest is damaged") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise DataError(f"{path}: not a linclass shards manifest (no \"format\": \"{FORMAT}\")")
    if raw.get("version") != VERSION:
        raise DataError(f"{path}: manifest version {raw.get('version')!r}; this linclass reads version {VERSION}")
    field = partial(_field, path, raw)
    classes = field("classes", list)
    shape = field("feature_shape", list)
    if not classes or not all(isinstance(name, str) for name in classes):
        raise DataError(f"{path}: \"classes\" must be a non-empty list of class names")
    if not all(type(n) is int and n >= 1 for n in shape):
        raise DataError(f"{path}: \"feature_shape\" must be a list of sizes >= 1, found {shape}")
    try:
        dtype = np.dtype(field("dtype", str))
    except TypeError:
        raise DataError(f"{path}: \"dtype\" {raw['dtype']!r} is not a NumPy dtype") from None
    if dtype.kind not in "uif":
        raise DataError(f"{path}: \"dtype\" {dtype} is not a numeric dtype")
    splits = {name: _entries(path, name, entries) for name, entries in field("splits", dict).items()}
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown or not splits.get("train"):
        raise DataError(f"{path}: \"splits\" must have a non-empty \"train\" list and only {', '.join(SPLITS)}; "
                        f"found {', '.join(splits) or 'none'}")
    return Manifest(folder, str(raw.get("name", folder.resolve().name)), str(raw.get("source", folder)), classes,
                    tuple(shape), dtype, splits)


def _field(path: Path, raw: dict, key: str, kind: type) -> Any:
    """``raw[key]``, which must be a ``kind``; ``DataError`` naming the manifest otherwise."""
    value = raw.get(key)
    if not isinstance(value, kind):
        raise DataError(f"{path}: \"{key}\" is missing or not a {kind.__name__}")
    return value


def _entries(path: Path, split: str, entries: Any) -> list[ShardEntry]:
    """A split's list of shards, each a plain file name pair in the folder and a positive row count."""
    if not isinstance(entries, list):
        raise DataError(f"{path}: split {split!r} must be a list of shards")
    checked = []
    for number, entry in enumerate(entries):
        ok = isinstance(entry, dict) and type(entry.get("rows")) is int and entry["rows"] >= 1 and all(
            isinstance(entry.get(key), str) and _plain_name(entry[key]) for key in ("features", "labels"))
        if not ok:
            raise DataError(f"{path}: shard {number} of split {split!r} must be {{\"features\": file name, "
                            f"\"labels\": file name, \"rows\": count >= 1}}, found {json.dumps(entry)[:120]}")
        checked.append(ShardEntry(entry["features"], entry["labels"], entry["rows"]))
    return checked


def _plain_name(name: str) -> bool:
    """A file name in the folder itself: no folder part, nothing hidden, no way out of the folder."""
    return bool(name) and name == Path(name).name and not name.startswith(".")


# -- reading a whole folder into memory (linclass.datasets.load) --------------------------------------------

def read_shards(folder: str | Path, image_size: Sequence[int] | None = None, mmap: bool = False,
                max_memory: int | None = None) -> Dataset:
    """A shards folder read whole into memory as a :class:`Dataset`: training and validation shards as the
    training set, test shards as the test set (or, without any, a seeded stratified fifth of the rows)."""
    manifest = read_manifest(folder)
    parts = {split: _read_split(manifest, split, max_memory) for split in SPLITS if manifest.splits.get(split)}
    X_train, y_train = _concatenate([parts["train"], *([parts["validation"]] if "validation" in parts else [])])
    if "test" in parts:
        X_test, y_test = parts["test"]
    else:
        train, test = holdout_indices(y_train, str(manifest.path))
        X_train, y_train, X_test, y_test = X_train[train], y_train[train], X_train[test], y_train[test]
    for X, y, part in ((X_train, y_train, "training"), (X_test, y_test, "test")):
        check_examples(X, y, len(manifest.classes), f"{manifest.folder} ({part} set)")
    return Dataset(name=manifest.name, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
                   classes=manifest.classes, image_shape=manifest.feature_shape, source=str(manifest.folder))


def _read_split(manifest: Manifest, split: str, max_memory: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A split's examples and labels, shard after shard, each file checked against the manifest."""
    entries = manifest.entries(split)
    check_allocation(str(manifest.folder), manifest.rows(split) * _row_bytes(manifest),
                     f"reading the {split} split", max_memory)
    arrays = []
    for entry in entries:
        X = read_npy(manifest.folder / entry.features, False, max_memory)
        y = read_npy(manifest.folder / entry.labels, False, max_memory)
        check_shard(manifest, entry, X.shape, X.dtype, y.shape, y.dtype)
        arrays.append((X, y.astype(np.int64)))
    return _concatenate(arrays)


def check_shard(manifest: Manifest, entry: ShardEntry, shape: tuple[int, ...], dtype: np.dtype,
                label_shape: tuple[int, ...], label_dtype: np.dtype) -> None:
    """``DataError`` naming the shard's file that disagrees with the manifest (rows, dtype, shape, labels)."""
    features, labels = manifest.folder / entry.features, manifest.folder / entry.labels
    if dtype != manifest.dtype or tuple(shape[1:]) != manifest.feature_shape:
        raise DataError(f"{features}: holds {dtype} examples of shape {tuple(shape[1:])}, but the manifest says "
                        f"{manifest.dtype} of shape {manifest.feature_shape}")
    if shape[0] != entry.rows:
        raise DataError(f"{features}: holds {shape[0]} rows, but the manifest says {entry.rows}")
    if label_dtype.kind not in "iu" or tuple(label_shape) != (entry.rows,):
        raise DataError(f"{labels}: holds {label_dtype} of shape {tuple(label_shape)}; expected {entry.rows} "
                        "integer class indices, one per row")


def _concatenate(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])


def _row_bytes(manifest: Manifest) -> int:
    return math.prod(manifest.feature_shape) * manifest.dtype.itemsize + 8


# -- writing ------------------------------------------------------------------------------------------------

@dataclass
class _Rows:
    """The rows of one split to write: ``X[index]`` and ``y[index]`` (all of them, in order, for no index)."""

    X: Any
    y: np.ndarray
    index: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y) if self.index is None else len(self.index)

    def take(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        if self.index is None:
            return np.ascontiguousarray(self.X[start:stop]), self.y[start:stop]
        rows = self.index[start:stop]
        return np.ascontiguousarray(self.X[rows]), self.y[rows]


def write_shards(X: Any, y: Any, folder: str | Path, *, rows_per_shard: int | None = None,
                 classes: Sequence[str] | None = None, validation: tuple[Any, Any] | None = None,
                 test: tuple[Any, Any] | None = None, shuffle: bool = True, seed: int = 0,
                 name: str | None = None) -> Path:
    """Write a user's arrays as a shards folder that :class:`linclass.distributed.Shards` streams.

    Parameters
    ----------
    X : array (N, ...)
        The training examples, numbers of any dtype (kept as they are: uint8 images stay uint8). A memory
        map works: it is read a shard at a time.
    y : array (N,)
        Their labels: class indices ``0..K-1`` with ``classes``, else any labels (encoded as the other array
        formats encode them: non-negative integers are class indices, other labels sorted names).
    folder : path
        A new folder (or an empty one); it appears complete or not at all.
    rows_per_shard : int, optional
        Rows in each file; by default as many as fill 64 MiB.
    classes : sequence of str, optional
        The class names.
    validation, test : (X, y), optional
        Held-out splits, written as they are.
    shuffle, seed
        Write the training rows in a random order drawn from ``seed`` (so that a stream's contiguous
        blocks mix the classes), or as they are.
    name : str, optional
        The dataset's name in the manifest (the folder's name by default).

    Returns
    -------
    Path
        ``folder``.
    """
    folder = Path(folder)
    named = {"train": (X, y), "validation": validation, "test": test}
    given = {split: pair for split, pair in named.items() if pair is not None}
    for split, (features, labels) in given.items():
        _check_arrays(features, labels, split, folder)
    y_train = np.asarray(y)
    others = [np.asarray(labels) for split, (_, labels) in given.items() if split != "train"]
    y_train, y_others, names = encode_labels(y_train, np.concatenate(others) if others else y_train[:0],
                                             classes, str(folder))
    rows = {"train": _Rows(X, y_train, _order(len(y_train), seed) if shuffle else None)}
    start = 0
    for split, (features, labels) in given.items():
        if split != "train":
            rows[split] = _Rows(features, y_others[start:start + len(labels)])
            start += len(labels)
    return _write_folder(folder, rows, names, name or folder.resolve().name, "arrays", rows_per_shard)


def write_dataset_shards(dataset: Dataset, folder: str | Path, *, val_fraction: float | None = 0.1, seed: int = 0,
                         rows_per_shard: int | None = None, shuffle: bool = True) -> Path:
    """Write a :class:`Dataset` as a shards folder: its training set, less a validation split of
    ``val_fraction`` (stratified and seeded as ``linclass train`` splits it: the same seed gives the same
    rows; None for none), and its test set.

    The training rows are written in a random order drawn from ``seed`` unless ``shuffle`` is False.
    The examples may be memory maps (``load(folder, mmap=True)``): they are read a shard at a time.
    """
    y = np.asarray(dataset.y_train)
    if val_fraction is None:
        train, val = np.arange(len(y)), None
    else:
        try:
            train, val = split_indices(y, val_fraction, seed)
        except ValueError as error:
            raise DataError(f"{dataset.source}: val_fraction={val_fraction}: {error}") from None
    if shuffle:
        train = train[_order(len(train), seed)]
    rows = {"train": _Rows(dataset.X_train, y, train)}
    if val is not None:
        rows["validation"] = _Rows(dataset.X_train, y, val)
    rows["test"] = _Rows(dataset.X_test, np.asarray(dataset.y_test))
    return _write_folder(Path(folder), rows, list(dataset.classes), dataset.name, dataset.source, rows_per_shard)


def _order(count: int, seed: int) -> np.ndarray:
    """The seeded random order the training rows are written in."""
    return np.random.default_rng(seed).permutation(count)


def _check_arrays(X: Any, y: Any, split: str, folder: Path) -> None:
    """``DataError`` unless ``X`` holds numeric examples ``(N, ...)`` and ``y`` one label each."""
    dtype = getattr(X, "dtype", None)
    if getattr(X, "ndim", 0) < 2 or dtype is None or dtype.kind not in "uif":
        raise DataError(f"{folder}: the {split} examples must be a numeric array with one row per example, found "
                        f"{dtype} of shape {getattr(X, 'shape', None)}")
    if len(X) != len(y) or len(X) == 0:
        raise DataError(f"{folder}: {len(X)} {split} examples but {len(y)} labels; they must match, at least one")


def _write_folder(folder: Path, splits: dict[str, _Rows], classes: list[str], name: str, source: str,
                  rows_per_shard: int | None) -> Path:
    """Write every split's shards and the manifest into a temporary folder, then rename it to ``folder``."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise DataError(f"{folder}: already exists and is not an empty folder; shards are written into a new "
                        "folder (remove it, or choose another)")
    first = splits["train"].X
    shape, dtype = tuple(int(n) for n in first.shape[1:]), np.dtype(first.dtype)
    for split, rows in splits.items():
        if tuple(rows.X.shape[1:]) != shape or rows.X.dtype != dtype:
            raise DataError(f"{folder}: the {split} examples are {rows.X.dtype} of shape {tuple(rows.X.shape[1:])}, "
                            f"the training examples {dtype} of shape {shape}; they must be alike")
    if rows_per_shard is not None and (not isinstance(rows_per_shard, (int, np.integer)) or rows_per_shard < 1):
        raise ValueError(f"rows_per_shard={rows_per_shard!r} is not valid: expected an integer >= 1")
    per_shard = int(rows_per_shard or max(1, SHARD_BYTES // max(1, math.prod(shape) * dtype.itemsize)))
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        entries = {split: _write_split(temporary, split, rows, len(classes), per_shard, folder)
                   for split, rows in splits.items() if len(rows)}
        manifest = {"format": FORMAT, "version": VERSION, "name": name, "source": source, "classes": classes,
                    "feature_shape": list(shape), "dtype": dtype.str, "splits": entries}
        write_atomically(temporary / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode("utf-8"))
        os.chmod(temporary, 0o777 & ~_umask())
        if folder.exists():
            folder.rmdir()
        os.replace(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return folder


def _write_split(folder: Path, split: str, rows: _Rows, n_classes: int, per_shard: int, target: Path) -> list[dict]:
    """Write one split's shards into ``folder``, ``per_shard`` rows each; their manifest entries. ``target``:
    the folder being written, for messages."""
    entries = []
    for number, start in enumerate(range(0, len(rows), per_shard)):
        X, y = rows.take(start, min(start + per_shard, len(rows)))
        where = f"{target}: the {split} examples {start}..{start + len(X) - 1}"
        check_finite(X, "X", where)
        check_examples(X, y, n_classes, where)
        names = {"features": f"{split}-{number:05d}-X.npy", "labels": f"{split}-{number:05d}-y.npy"}
        write_atomically(folder / names["features"], partial(np.save, arr=X))
        write_atomically(folder / names["labels"], partial(np.save, arr=np.asarray(y, dtype=np.int64)))
        entries.append({**names, "rows": len(X)})
    return entries
