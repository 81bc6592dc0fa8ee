"""Training rows read from ``.npy`` files a block at a time, never whole: the stream a trainer trains on.

A split's rows lie in one or more pairs of ``.npy`` files, features ``(n, ...)`` and labels ``(n,)``, one
pair after the other: the shards of a folder (:mod:`linclass.distributed.shards`) or one pair of arrays
(:class:`NpyArrays`). :class:`BlockSource` cuts them, as one sequence, into contiguous blocks of at most
``block_rows`` rows (a block may span two files) and, every epoch (:meth:`BlockSource.blocks`),

1. visits the blocks in a new random order;
2. reads a block's rows, with plain reads, into a buffer allocated once;
3. permutes the rows within the block, a new permutation every epoch;
4. converts them to float32 into a second buffer allocated once, and preprocesses them there, in place
   (:meth:`linclass.datasets.Preprocessor.map_in_place`);

and hands the trainer that block's features and labels, which its mini-batch steps then run over
(:meth:`linclass.train.Trainer.fit_stream`). The trainer's seeded generator draws both orders, so a seed
fixes the result bit for bit.

Why plain reads, not the memory map: each file is opened as a map (``np.load(mmap_mode="r")``), which
reads and checks its header (shape, dtype, layout) and nothing else, but a map's pages, once read, stay
in the process's resident memory until the system runs short, so an epoch read through the map would
grow the process to the file's size. A read goes through the kernel's page cache, which is not the
process's: the peak resident memory is the buffers' (``block_size``) and the interpreter's, whatever N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from linclass.constraints import ByteSize, declare, declared
from linclass.data.arrays import read_npy
from linclass.data.dataset import non_finite
from linclass.data.preprocess import Preprocessor
from linclass.errors import DataError
from linclass.limits import UNLIMITED, check_allocation, describe_bytes

__all__ = ["StreamSettings", "STREAM_SETTINGS", "NpyFile", "BlockSource", "NpyArrays"]

LABEL_BYTES = 8  # labels become int64 class indices


@dataclass(frozen=True)
class StreamSettings:
    """How data larger than memory is read, declared once for the library and the command line."""

    block_size: int = declare(64 * 2**20, ByteSize(2**16, "64M"),
                              "the memory one block of training rows read from disk takes (its read and float32 "
                              "buffers, for a shards folder); the training set streams through it block by block, "
                              "so it bounds the memory training needs whatever the data's size (a block holds at "
                              "least one mini-batch)", metavar="SIZE", group="data")


STREAM_SETTINGS = declared(StreamSettings)
"""The declarations of :class:`StreamSettings` by name (``--block-size``)."""


@dataclass(frozen=True)
class NpyFile:
    """A ``.npy`` file's layout, from its header: where its C-ordered rows start, their shape and dtype."""

    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int

    @classmethod
    def open(cls, path: str | Path) -> NpyFile:
        """Open ``path`` as a memory map (reading its header only); ``DataError`` naming the file if it is not
        a readable, C-ordered ``.npy`` array of at least one row."""
        path = Path(path)
        mapped = read_npy(path, mmap=True, max_memory=UNLIMITED)
        if mapped.ndim == 0 or len(mapped) == 0:
            raise DataError(f"{path}: holds no rows (shape {mapped.shape}); an array of examples has one row each")
        if not mapped.flags.c_contiguous:
            raise DataError(f"{path}: is stored in Fortran order, so its rows are not contiguous on disk; save "
                            "numpy.ascontiguousarray(array) instead")
        if not isinstance(mapped, np.memmap):
            raise DataError(f"{path}: cannot be memory-mapped ({type(mapped).__name__})")
        return cls(path, tuple(mapped.shape), mapped.dtype, int(mapped.offset))

    @property
    def rows(self) -> int:
        return self.shape[0]

    @property
    def row_bytes(self) -> int:
        return math.prod(self.shape[1:]) * self.dtype.itemsize

    def read_rows(self, start: int, out: np.ndarray) -> None:
        """Read ``len(out)`` rows from row ``start`` on into ``out`` (C-contiguous, of this file's dtype)."""
        buffer = out.reshape(-1).view(np.uint8).data
        with open(self.path, "rb") as stream:
            stream.seek(self.offset + start * self.row_bytes)
            done = 0
            while done < len(buffer):
                count = stream.readinto(buffer[done:])
                if not count:
                    raise DataError(f"{self.path}: ends within row {start + done // max(self.row_bytes, 1)}; its "
                                    f"header says {self.rows} rows: the file was cut short")
                done += count


class BlockSource:
    """The rows of one split, in ``.npy`` files read block by block (see the module's description).

    Parameters
    ----------
    parts : sequence of (features, labels) NpyFile pairs
        The files holding the rows, in order: features ``(n, ...)`` of one numeric dtype and shape, labels
        ``(n,)`` of class indices ``0..K-1``.
    classes : sequence of str
        The class names; label ``k`` is ``classes[k]``.
    where : str
        The folder or files the rows come from, for messages.
    block_size : int, optional
        The bytes one block's buffers may take (:data:`STREAM_SETTINGS`' default, 64 MiB); the number of
        rows a block holds follows from it.
    block_rows : int, optional
        The rows of a block, instead of ``block_size``.
    shuffle : bool
        Visit the blocks in a random order and permute the rows within each, every epoch; False reads the
        rows as they are stored.
    preprocessor : Preprocessor, optional
        Applied to every block (fitted, e.g. by :meth:`fit_preprocessor`); without one, the features are only
        converted to float32.

    Attributes
    ----------
    feature_shape : tuple of int
        The shape of one example as stored (``(28, 28)``).
    dtype : numpy dtype
        The features' dtype as stored.
    labels : int64 ndarray
        ``0..K-1``, the class indices the labels are (a classifier fitted on the source has them as
        ``classes_``).
    """

    def __init__(self, parts: Sequence[tuple[NpyFile, NpyFile]], classes: Sequence[str], *, where: str,
                 block_size: int | None = None, block_rows: int | None = None, shuffle: bool = True,
                 preprocessor: Preprocessor | None = None) -> None:
        if not parts:
            raise DataError(f"{where}: no files of rows")
        self.where = where
        self.parts = list(parts)
        first = self.parts[0][0]
        self.feature_shape, self.dtype = first.shape[1:], first.dtype
        for features, labels in self.parts:
            _check_pair(features, labels, first)
        self.starts = np.cumsum([0] + [features.rows for features, _ in self.parts])
        self.classes = [str(name) for name in classes]
        self.labels = np.arange(len(self.classes), dtype=np.int64)
        self.block_size = STREAM_SETTINGS["block_size"].check(
            STREAM_SETTINGS["block_size"].default if block_size is None else block_size)
        if block_rows is not None and (not isinstance(block_rows, (int, np.integer)) or block_rows < 1):
            raise ValueError(f"block_rows={block_rows!r} is not valid: expected an integer >= 1")
        self._block_rows = block_rows
        self.shuffle = bool(shuffle)
        self.preprocessor = None if preprocessor is None else self._fits(preprocessor)
        self._buffers: dict[str, np.ndarray] = {}

    # -- what a trainer asks ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def n_features(self) -> int:
        """D: the values of one example as the classifier sees it (with the bias feature, if preprocessed so)."""
        bias = self.preprocessor is not None and self.preprocessor.bias_trick
        return math.prod(self.feature_shape) + int(bias)

    @property
    def shape(self) -> tuple[int, int]:
        """``(N, D)``: the shape of the float32 features, were they read whole."""
        return len(self), self.n_features

    def block_rows(self, multiple: int = 1) -> int:
        """The rows of a block: as many as ``block_size`` holds (or ``block_rows``), made a multiple of
        ``multiple`` (a mini-batch's rows: then every block but the last is whole batches); all N rows when
        they fit."""
        rows = self._block_rows or max(1, self.block_size // self._bytes_per_row())
        if rows >= len(self):
            return len(self)
        return min(max(multiple, rows // multiple * multiple), len(self))

    def blocks(self, rng: np.random.Generator | None = None,
               multiple: int = 1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One epoch: every row once, block after block, as float32 features ``(n, D)`` and int64 labels.

        The blocks come in a random order, their rows permuted, both drawn from ``rng`` (in the stored order
        when ``rng`` is None or ``shuffle`` is False). Each block is a view of buffers reused for the next
        one: use it before asking for the next.
        """
        rows = self.block_rows(multiple)
        shuffled = rng is not None and self.shuffle
        starts = np.arange(0, len(self), rows)
        if shuffled:
            assert rng is not None
            starts = rng.permutation(starts)
        for start in starts:
            yield self._block(int(start), min(int(start) + rows, len(self)), rows, rng if shuffled else None)

    # -- reading -------------------------------------------------------------------------------------------
    def read(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``start:stop`` (all by default) as new arrays in memory: examples as stored ``(n, ...)`` and
        int64 labels. For the small parts of a dataset (validation, test, a sample); held to the memory
        budget of :mod:`linclass.limits`."""
        stop = len(self) if stop is None else min(stop, len(self))
        count = max(0, stop - start)
        check_allocation(self.where, count * (self._row_bytes() + LABEL_BYTES), f"reading {count} rows")
        X = np.empty((count, *self.feature_shape), dtype=self.dtype)
        y = np.empty(count, dtype=self.parts[0][1].dtype)
        self._read(start, X, y)
        return X, y.astype(np.int64)

    def raw_blocks(self, rows: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every row once, in the stored order, block after block: examples as stored ``(n, ...)`` and their
        labels, views of buffers reused for the next block."""
        rows = self.block_rows() if rows is None else rows
        raw = self._buffer("raw", (rows, *self.feature_shape), self.dtype)
        labels = self._buffer("raw_labels", (rows,), self.parts[0][1].dtype)
        for start in range(0, len(self), rows):
            count = min(rows, len(self) - start)
            self._read(start, raw[:count], labels[:count])
            yield raw[:count], labels[:count]

    def fit_preprocessor(self, preprocessor: Preprocessor) -> Preprocessor:
        """Fit ``preprocessor`` on these rows in one pass over the blocks (:meth:`Preprocessor.fit_blocks`),
        unless it is fitted already, and apply it to every block from now on; return it."""
        if preprocessor.input_shape is None:
            preprocessor.fit_blocks(raw for raw, _ in self.raw_blocks())
        self.preprocessor = self._fits(preprocessor)
        return preprocessor

    def _fits(self, preprocessor: Preprocessor) -> Preprocessor:
        """``preprocessor``, once it is known to be fitted on examples of this source's shape."""
        shape = preprocessor.input_shape
        if shape is None:
            raise ValueError("the preprocessor is not fitted; pass it to fit_preprocessor, which fits it on the rows")
        if math.prod(shape) != math.prod(self.feature_shape):
            raise ValueError(f"the preprocessor was fitted on examples of shape {shape}, but {self.where} holds "
                             f"examples of shape {self.feature_shape}")
        return preprocessor

    def __repr__(self) -> str:
        shape = "×".join(str(n) for n in self.feature_shape)
        return (f"{type(self).__name__}({self.where!r}: {len(self)} rows of {shape} {self.dtype} in "
                f"{len(self.parts)} file pair(s), {len(self.classes)} classes, blocks of {self.block_rows()} rows)")

    # -- one block --------------------------------------------------------------------------------------
    def _block(self, start: int, stop: int, rows: int,
               rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``start:stop`` read, permuted by ``rng`` (if given), converted and preprocessed into the
        float32 buffer (of ``rows`` rows); its features and labels."""
        count = stop - start
        raw = self._buffer("raw", (rows, *self.feature_shape), self.dtype)[:count]
        raw_labels = self._buffer("raw_labels", (rows,), self.parts[0][1].dtype)[:count]
        self._read(start, raw, raw_labels)
        labels = self._buffer("labels", (rows,), np.dtype(np.int64))[:count]
        if rng is not None:
            order = rng.permutation(count)
            shuffled = self._buffer("shuffled", (rows, *self.feature_shape), self.dtype)[:count]
            raw = np.take(raw, order, axis=0, out=shuffled, mode="clip")
            labels[...] = raw_labels[order]
        else:
            labels[...] = raw_labels
        features = self._buffer("features", (rows, self.n_features), np.dtype(np.float32))[:count]
        n_values = math.prod(self.feature_shape)
        features[:, :n_values] = raw.reshape(count, n_values)
        if self.preprocessor is not None:
            self.preprocessor.map_in_place(features)
        return features, labels

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """The buffer ``name``, allocated on first use and again only when it must hold more rows."""
        buffer = self._buffers.get(name)
        if buffer is None or buffer.dtype != dtype or len(buffer) < shape[0] or buffer.shape[1:] != shape[1:]:
            buffer = self._buffers[name] = np.empty(shape, dtype=dtype)
        return buffer

    def _read(self, start: int, X: np.ndarray, y: np.ndarray) -> None:
        """Read rows ``start:start+len(X)`` of the files into ``X`` and ``y``, and check them."""
        stop = start + len(X)
        first = int(np.searchsorted(self.starts, start, side="right")) - 1
        for index in range(first, len(self.parts)):
            part_start = int(self.starts[index])
            if part_start >= stop:
                break
            features, labels = self.parts[index]
            a, b = max(start, part_start), min(stop, part_start + features.rows)
            features.read_rows(a - part_start, X[a - start:b - start])
            labels.read_rows(a - part_start, y[a - start:b - start])
            self._check_rows(index, a - part_start, X[a - start:b - start], y[a - start:b - start])

    def _check_rows(self, part: int, first_row: int, X: np.ndarray, y: np.ndarray) -> None:
        """``DataError`` naming the file and row of the first label outside ``0..K-1`` or non-finite value."""
        features, labels = self.parts[part]
        bad = (y < 0) | (y >= len(self.classes))
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(f"{labels.path}: row {first_row + row} has the label {y[row]}, outside "
                            f"0..{len(self.classes) - 1} ({len(self.classes)} classes)")
        if X.dtype.kind == "f":
            with np.errstate(over="ignore", invalid="ignore"):
                if np.isfinite(X.sum(dtype=np.float64)):
                    return
            found = non_finite(X)
            if found is not None:
                count, first = found
                raise DataError(f"{features.path}: row {first_row + first[0]} holds a NaN or infinite value "
                                f"({count} in this block); a linear classifier needs finite numbers")

    def _row_bytes(self) -> int:
        return math.prod(self.feature_shape) * self.dtype.itemsize

    def _bytes_per_row(self) -> int:
        """What a block's buffers take per row: the rows as read (twice when they are permuted), as float32,
        and the labels."""
        copies = 2 if self.shuffle else 1
        return copies * self._row_bytes() + 4 * self.n_features + 2 * LABEL_BYTES + self.parts[0][1].dtype.itemsize

    def describe_blocks(self, multiple: int = 1) -> str:
        """``"blocks of 13107 rows (64.0 MiB)"``: how the source streams, for a person."""
        rows = self.block_rows(multiple)
        return f"blocks of {rows} rows ({describe_bytes(rows * self._bytes_per_row())})"


def _check_pair(features: NpyFile, labels: NpyFile, first: NpyFile) -> None:
    """``DataError`` naming the file that does not belong: features of another dtype or shape than the first
    file's, labels that are not one class index per row."""
    if features.dtype.kind not in "uif":
        raise DataError(f"{features.path}: holds {features.dtype} values; examples must be numbers")
    if features.dtype != first.dtype or features.shape[1:] != first.shape[1:]:
        raise DataError(f"{features.path}: holds {features.dtype} examples of shape {features.shape[1:]}, but "
                        f"{first.path} holds {first.dtype} of shape {first.shape[1:]}; the files do not belong "
                        "together")
    if labels.dtype.kind not in "iu" or len(labels.shape) != 1:
        raise DataError(f"{labels.path}: holds {labels.dtype} of shape {labels.shape}; labels must be one integer "
                        "class index per example")
    if labels.rows != features.rows:
        raise DataError(f"{labels.path}: {labels.rows} labels, but {features.path} holds {features.rows} examples; "
                        "the files do not belong together")


class NpyArrays(BlockSource):
    """A pair of ``.npy`` arrays read block by block: ``features`` ``(N, ...)`` of numbers and ``labels``
    ``(N,)`` of class indices ``0..K-1`` (as ``numpy.save`` or ``numpy.lib.format.open_memmap`` write them).

    ``classes``: the class names; by default ``"0"`` to ``"K-1"``, K one more than the largest label (found
    in a pass over the labels). The other parameters are :class:`BlockSource`'s.

    >>> source = NpyArrays("X.npy", "y.npy", block_size=32 * 2**20)
    >>> clf = LinearClassifier().fit(source)
    """

    def __init__(self, features: str | Path, labels: str | Path, classes: Sequence[str] | None = None, *,
                 block_size: int | None = None, block_rows: int | None = None, shuffle: bool = True,
                 preprocessor: Preprocessor | None = None) -> None:
        pair = (NpyFile.open(features), NpyFile.open(labels))
        _check_pair(*pair, pair[0])
        names = [str(k) for k in range(_largest_label(pair[1]) + 1)] if classes is None else classes
        super().__init__([pair], names, where=f"{features} + {Path(labels).name}", block_size=block_size,
                         block_rows=block_rows, shuffle=shuffle, preprocessor=preprocessor)


def _largest_label(labels: NpyFile, rows: int = 2**20) -> int:
    """The largest label in a file of labels, read ``rows`` at a time; ``DataError`` for a negative one."""
    buffer = np.empty(min(rows, labels.rows), dtype=labels.dtype)
    largest = 0
    for start in range(0, labels.rows, rows):
        chunk = buffer[:min(rows, labels.rows - start)]
        labels.read_rows(start, chunk)
        if chunk.min() < 0:
            row = start + int(np.argmin(chunk))
            raise DataError(f"{labels.path}: row {row} has the label {chunk.min()}; labels must be class indices "
                            "0..K-1 (write other labels with linclass.distributed.write_shards, which encodes them)")
        largest = max(largest, int(chunk.max()))
    return largest
