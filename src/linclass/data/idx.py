"""The IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed.

An IDX file is a 4-byte magic number — two zero bytes, a type code (0x08 for unsigned bytes) and the
number of dimensions — then each dimension as a big-endian 32-bit integer, then the values in
row-major order. A set comes as four files::

    train-images-idx3-ubyte(.gz)   60000×28×28     train-labels-idx1-ubyte(.gz)   60000
    t10k-images-idx3-ubyte(.gz)    10000×28×28     t10k-labels-idx1-ubyte(.gz)    10000

The values of a raw file are read straight into the array that is returned, in chunks of
:data:`READ_CHUNK` bytes. Those of a gzip file are inflated in pieces of :data:`INFLATE_OUTPUT`
bytes, each by a few long zlib calls, and copied into the array. zlib lets other threads run while it
inflates, where the hundreds of short calls of :mod:`gzip`'s reader each waited for the interpreter's
lock; a command line that imports its drawing library beside the loading relies on this. Either way
the header is first checked against the file's size and the memory budget (:mod:`linclass.limits`): a
16-byte file claiming terabytes, or a gzip file claiming more than deflate can hold, is refused before
the array is allocated.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from linclass.data.dataset import Dataset, check_examples
from linclass.errors import DataError
from linclass.limits import check_claim, check_regular_file, check_shape

TYPE_CODES: dict[int, np.dtype] = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
                                   0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
STEMS = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
READ_CHUNK = 2**20  # bytes per read of a raw file
INFLATE_INPUT = 2**23
"""Compressed bytes read from a gzip file at a time, and given to zlib per call."""
INFLATE_OUTPUT = 2**24
"""Uncompressed bytes of one read of a gzip file: zlib inflates them into a temporary of that size,
copied into the array. A few long calls let another thread run almost throughout; the bounds keep the
temporaries (the piece read, zlib's copy of its unread part, and the values: at most 32 MiB) a small
part of what the memory budget allows."""
GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib's window bits for a gzip header and trailer
Stream = io.RawIOBase | io.BufferedIOBase


def read_idx(path: str | Path, max_memory: int | None = None) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw) into an array of its declared type and shape.

    ``max_memory`` is the memory budget in bytes (:func:`linclass.limits.memory_budget`).

    Raises
    ------
    DataError
        If the file is missing, its magic number is wrong, its header claims more than the file can
        hold or the budget allows, it holds fewer or more values than its header declares, or its
        gzip stream is corrupt; the message names the file.
    """
    path = Path(path)
    compressed = path.suffix == ".gz"
    check_regular_file(path)
    try:
        with (_InflatedFile if compressed else open)(path, "rb") as stream:
            dtype, shape = _read_header(stream, path)
            declared = check_shape(str(path), shape, dtype.itemsize, max_memory)
            check_claim(path, declared, f"the header's shape {shape}", compressed, max_memory)
            values = np.empty(declared, dtype=np.uint8)
            _fill(stream, values, path, chunk=INFLATE_OUTPUT if compressed else READ_CHUNK)
            if stream.read(1):
                raise DataError(f"{path}: more bytes than the header's shape {shape} declares; not an IDX file")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{path}: truncated or corrupt gzip data ({error})") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    array = values.view(dtype).reshape(shape)
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


def find_idx_file(folder: Path, stem: str) -> Path | None:
    """The IDX file ``stem`` in ``folder``, gzipped or raw (``train-images-idx3-ubyte`` also as
    ``train-images.idx3-ubyte``, the original MNIST site's spelling), or None."""
    for name in (stem, stem.replace("-idx", ".idx")):
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                return candidate
    return None


def has_idx_files(folder: Path) -> bool:
    """Whether ``folder`` holds an IDX training-image file."""
    return find_idx_file(folder, STEMS["train_images"]) is not None


def read_idx_dataset(folder: str | Path, name: str, classes: list[str] | None = None,
                     max_memory: int | None = None) -> Dataset:
    """Read the four IDX files of an MNIST-like set from ``folder``.

    Images must be ``uint8`` arrays ``N×H×W`` and labels ``uint8`` vectors with values below
    ``len(classes)``, one per image. Without ``classes`` the labels name the classes ``"0"``, ``"1"``, ...
    """
    folder = Path(folder)
    paths: dict[str, Path] = {}
    for part, stem in STEMS.items():
        found = find_idx_file(folder, stem)
        if found is None:
            raise DataError(f"{folder}: {stem}.gz (or {stem}) is missing; the set needs all four IDX files")
        paths[part] = found
    arrays = {part: read_idx(path, max_memory) for part, path in paths.items()}
    if classes is None:
        highest = max(int(arrays["train_labels"].max(initial=0)), int(arrays["test_labels"].max(initial=0)))
        classes = [str(k) for k in range(highest + 1)]
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        _expect(paths[f"{part}_images"], images, ndim=3)
        _expect(paths[f"{part}_labels"], labels, ndim=1)
        check_examples(images, labels, len(classes), f"{paths[f'{part}_images']} + {paths[f'{part}_labels']}")
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise DataError(f"{paths['test_images']}: images are {arrays['test_images'].shape[1:]}, but the "
                        f"training images are {arrays['train_images'].shape[1:]}")
    return Dataset(name=name, X_train=arrays["train_images"], y_train=arrays["train_labels"].astype(np.int64),
                   X_test=arrays["test_images"], y_test=arrays["test_labels"].astype(np.int64),
                   classes=list(classes), image_shape=arrays["train_images"].shape[1:], source=str(folder))


def _read_header(stream: Stream, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in TYPE_CODES or magic[3] == 0:
        raise DataError(f"{path}: wrong magic number {magic.hex() or '(empty file)'}; an IDX file starts with "
                        "00 00, a type code (08 for bytes) and the number of dimensions")
    ndim = magic[3]
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated header; it declares {ndim} dimensions but ends before their sizes")
    shape = tuple(int(n) for n in np.frombuffer(dims, dtype=">u4"))
    return TYPE_CODES[magic[2]], shape


def _fill(stream: Stream, buffer: np.ndarray, path: Path, chunk: int) -> None:
    """Read exactly ``buffer.nbytes`` bytes from ``stream`` into ``buffer``, at most ``chunk`` bytes a read."""
    view = buffer.data  # the array's memory, as a memoryview
    filled = 0
    while filled < len(view):
        count = stream.readinto(view[filled:filled + chunk])
        if not count:
            raise DataError(f"{path}: truncated; the header declares {len(view)} bytes of values, "
                            f"the file holds {filled}")
        filled += count


class _InflatedFile(io.RawIOBase):
    """A gzip file read as its uncompressed bytes, inflated by a few long zlib calls.

    :class:`gzip.GzipFile` inflates a large read in hundreds of short calls; here a call takes up to
    :data:`INFLATE_INPUT` compressed bytes, read from the file :data:`INFLATE_INPUT` at a time. Files of
    several members (concatenated ``.gz`` files) read as their members one after another, with the
    zero padding after a member skipped, as :mod:`gzip` reads them; zlib checks each member's CRC at
    its end and raises :class:`zlib.error` on a mismatch. An empty file reads as no bytes.
    """

    def __init__(self, path: Path, mode: str = "rb") -> None:
        super().__init__()
        self._raw = open(path, mode)
        self._input = memoryview(b"")  # compressed bytes read from the file and not yet inflated
        self._member = zlib.decompressobj(wbits=GZIP_WBITS)
        self._started = False  # the current member has been given bytes

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:  # a writable buffer of bytes
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self._has_input():
            given = self._input[:INFLATE_INPUT]
            out = self._member.decompress(given, len(view) - filled)
            consumed = len(given) - len(self._member.unused_data if self._member.eof else self._member.unconsumed_tail)
            self._input, self._started = self._input[consumed:], True
            view[filled:filled + len(out)] = out
            filled += len(out)
            if not out and not consumed and not self._member.eof:  # the file ended inside a member
                raise EOFError("compressed file ended before the end-of-stream marker was reached")
        return filled

    def _has_input(self) -> bool:
        """Whether there is more to inflate: False at the end of the file after a whole member (or
        before any). At the end of a member, the next one is started after any zero padding."""
        if not self._input:
            self._read_piece()
        if not self._member.eof:
            return bool(self._input) or self._started
        while True:
            while self._input and self._input[0] == 0:  # padding: skipped a run of zeros at a time
                head = bytes(self._input[:READ_CHUNK])
                self._input = self._input[len(head) - len(head.lstrip(b"\0")):]
            if self._input or not self._read_piece():
                break
        self._member, self._started = zlib.decompressobj(wbits=GZIP_WBITS), False
        return bool(self._input)

    def _read_piece(self) -> bool:
        """Read the next :data:`INFLATE_INPUT` compressed bytes; False at the end of the file."""
        self._input = memoryview(self._raw.read(INFLATE_INPUT))
        return bool(self._input)


def _expect(path: Path, array: np.ndarray, ndim: int) -> None:
    if array.dtype != np.uint8 or array.ndim != ndim:
        kind = "images (N×H×W)" if ndim == 3 else "labels (N)"
        raise DataError(f"{path}: holds a {array.ndim}-D {array.dtype} array, expected {ndim}-D uint8 {kind}")
