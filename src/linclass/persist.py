"""The model file: a versioned, checksummed container of one JSON header and named arrays, never pickle.

A pickle runs code when it is loaded, so a model file from elsewhere could do anything; this format holds
only numbers and JSON. Layout (all integers little-endian)::

    b"LINCLASS"                8 bytes   magic: what kind of file this is
    format version             uint32
    header length H            uint64
    header                     H bytes   UTF-8 JSON: what the model is (its fields are in
                                         :mod:`linclass.model_header`), and for every array its name,
                                         dtype, shape, offset and size in the data section
    data                       the arrays' raw little-endian bytes, each starting at a multiple of 8
    SHA-256                    32 bytes  of everything before it

This module writes and reads the container and nothing more: what goes into the header and the arrays,
and what is built from them, is the estimator's business (``LinearClassifier._to_state`` and
``_from_state``). A value in the header may stand for an array as ``{"$array": name}``.

Format versions: 1 holds the kept weights, classes, hyperparameters, history, preprocessing and
metadata; 2 adds the state of the training that made them (``"trainer"``: the optimizer's buffers, the
random generator's state...), so that a fit continued from the file is the interrupted fit, bit for bit.
Files of version 1 are read as they are.

Reading checks, in order, that the path is a regular file (a FIFO or ``/dev/zero`` would be read
forever) within the memory budget (:mod:`linclass.limits`), the magic (a PNG, a zip or a text file is
refused as foreign), the version (a file from a newer linclass is refused, saying which version it is),
the header's size, read before the rest of the file, the size (a truncated file), the checksum (any
flipped byte), every field of the header against its schema (:mod:`linclass.model_header`: a
hand-edited header passes the checksum once it is recomputed) and that the float arrays hold finite
numbers. Every refusal is a :class:`ModelFileError` naming the file and the problem.

Writing goes through :func:`linclass.files.write_atomically`: an interrupted save leaves the previous
file intact.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from linclass.errors import ModelFileError
from linclass.files import write_atomically
from linclass.limits import check_allocation, check_regular_file, describe_bytes
from linclass.model_header import ALIGNMENT, ARRAY_DTYPES, FORMAT_NAME, check_header

__all__ = ["write_model_file", "read_model_file", "MAGIC", "FORMAT_VERSION"]

MAGIC = b"LINCLASS"
FORMAT_VERSION = 2
PREAMBLE = struct.Struct("<8sIQ")  # magic, format version, header length
DIGEST_SIZE = hashlib.sha256().digest_size
MAX_HEADER_SIZE = 2**28  # 256 MiB: far beyond any header written (weights are in the data section)

FOREIGN_SIGNATURES = {b"\x89PNG": "a PNG image", b"PK\x03\x04": "a zip archive", b"\x80": "a Python pickle",
                      b"\x93NUMPY": "a NumPy .npy file", b"\xff\xd8\xff": "a JPEG image", b"\x1f\x8b": "a gzip file",
                      b"{": "a JSON or text file", b"GIF8": "a GIF image", b"%PDF": "a PDF document"}


# -- writing ------------------------------------------------------------------------------------------


def write_model_file(path: str | os.PathLike, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``header`` and ``arrays`` to ``path`` as a model file of :data:`FORMAT_VERSION`, atomically.

    Parameters
    ----------
    path : str or PathLike
        The file to write (replaced if it exists).
    header : dict
        The model's fields (see :mod:`linclass.model_header`); NumPy scalars and arrays, tuples and paths
        become JSON numbers, lists and strings. ``"format"``, ``"arrays"`` and ``"linclass_version"``
        are added here.
    arrays : dict of str to ndarray
        The arrays, by name, of the dtypes :data:`linclass.model_header.ARRAY_DTYPES` lists.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError
        When the header holds a value JSON cannot hold, or an array has a dtype the format does not store.
    """
    entries, data = _layout(arrays)
    header = {"format": FORMAT_NAME, **_json_safe(header, "header"), "arrays": entries,
              "linclass_version": _linclass_version()}
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    content = PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(header_bytes)) + header_bytes + data
    return write_atomically(path, content + hashlib.sha256(content).digest())


def _layout(arrays: dict[str, np.ndarray]) -> tuple[list[dict], bytes]:
    """The arrays' descriptions and their bytes, little-endian, each padded to :data:`ALIGNMENT`."""
    entries, chunks, offset = [], [], 0
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        raw = array.astype(dtype, copy=False).tobytes()
        if dtype.str not in ARRAY_DTYPES:
            raise TypeError(f"array {name!r} has dtype {array.dtype}, which the model format does not store")
        entries.append({"name": name, "dtype": dtype.str, "shape": list(array.shape), "offset": offset,
                        "nbytes": len(raw)})
        padding = -len(raw) % ALIGNMENT
        chunks += [raw, b"\0" * padding]
        offset += len(raw) + padding
    return entries, b"".join(chunks)


def _json_safe(value: Any, where: str) -> Any:
    """``value`` in JSON's types (NumPy scalars and arrays, tuples and paths converted; integer keys
    become strings, as JSON's must be); TypeError naming where anything else is."""
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"{where} has the key {key!r}, which cannot be saved as JSON: use strings")
        return {str(key): _json_safe(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist(), where)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"{where} holds {value!r} of type {type(value).__name__}, which cannot be saved as JSON")


def _linclass_version() -> str:
    import linclass

    return linclass.__version__


# -- reading ------------------------------------------------------------------------------------------


def read_model_file(path: str | os.PathLike, max_memory: int | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the arrays of the model file at ``path``, every check passed.

    ``max_memory``: the largest file read, in bytes (:func:`linclass.limits.memory_budget`).

    Returns
    -------
    header : dict
        As written (with ``"arrays"``, the table of the arrays), of format version 1 or 2.
    arrays : dict of str to ndarray
        By name, as writable native-order copies (so that training can go on from them).

    Raises
    ------
    ModelFileError
        When the file is missing, not a regular file, foreign, of an unknown version, truncated,
        corrupted, its header is not as the schema says or a float array holds NaN or infinity.
    """
    path = Path(path)
    header, data = _open(_read_file(path, max_memory), path)
    check_header(header, len(data), path)
    arrays = {entry["name"]: _read_array(entry, data) for entry in header["arrays"]}
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ModelFileError(f"{path}: the array {name} holds NaN or infinite values; the file is damaged")
    return header, arrays


def _read_file(path: Path, max_memory: int | None) -> bytes:
    """The file's bytes: a regular file within the memory budget, whose header length is read first."""
    if not os.path.lexists(path):
        raise ModelFileError(f"{path}: no such model file")
    size = check_regular_file(path, ModelFileError).st_size
    check_allocation(str(path), size, "reading the model file", max_memory, ModelFileError)
    try:
        with open(path, "rb") as stream:
            preamble = stream.read(PREAMBLE.size)
            if len(preamble) == PREAMBLE.size and preamble.startswith(MAGIC):
                header_size = PREAMBLE.unpack(preamble)[2]
                if header_size > MAX_HEADER_SIZE:
                    raise ModelFileError(f"{path}: its header claims {describe_bytes(header_size)}, more than the "
                                         f"{describe_bytes(MAX_HEADER_SIZE)} a model header may have; the file "
                                         "is damaged")
            return preamble + stream.read(size - len(preamble))
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read ({error.strerror or error})") from None


def _open(content: bytes, path: Path) -> tuple[dict, bytes]:
    """Check magic, version, checksum and size; return the parsed header and the data section."""
    if not content or not content.startswith(MAGIC[:len(content)]):
        raise ModelFileError(f"{path}: not a linclass model file ({_guess_kind(content)}); "
                             "give a file written by linclass (clf.save or linclass train)")
    if len(content) < PREAMBLE.size + DIGEST_SIZE:
        raise ModelFileError(f"{path}: truncated: {len(content)} bytes, too short for a linclass model")
    _, version, header_size = PREAMBLE.unpack_from(content)
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path}: model format version {version} is newer than this linclass "
                             f"({_linclass_version()}) reads (up to {FORMAT_VERSION}); upgrade linclass")
    data_start = PREAMBLE.size + header_size
    header = _parse_header(content[PREAMBLE.size:data_start]) if data_start <= len(content) else None
    if hashlib.sha256(content[:-DIGEST_SIZE]).digest() != content[-DIGEST_SIZE:]:
        raise ModelFileError(f"{path}: {_damage(content, header, data_start)}")
    if version < 1 or header is None:
        raise ModelFileError(f"{path}: the header (format version {version}) is not one linclass wrote")
    return header, content[data_start:-DIGEST_SIZE]


def _damage(content: bytes, header: dict | None, data_start: int) -> str:
    """Why the checksum failed: the file is shorter than its header says (truncated), or bytes changed."""
    size = len(content)
    if header is None and data_start + DIGEST_SIZE > size:
        return (f"truncated or corrupted: its header claims {data_start - PREAMBLE.size} bytes, "
                f"but the file has only {size}")
    expected = _expected_size(header, data_start)
    if expected is not None and size < expected:
        return f"truncated: {size} bytes of the {expected} it should have"
    return "corrupted: its SHA-256 checksum does not match its content"


def _parse_header(raw: bytes) -> dict | None:
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return header if isinstance(header, dict) else None


def _expected_size(header: dict | None, data_start: int) -> int | None:
    """The file size the header describes, or None when the header cannot tell."""
    if header is None:
        return None
    try:
        end = max((entry["offset"] + entry["nbytes"] for entry in header["arrays"]), default=0)
    except (KeyError, TypeError):
        return None
    return data_start + end + -end % ALIGNMENT + DIGEST_SIZE


def _guess_kind(content: bytes) -> str:
    if not content:
        return "the file is empty"
    for signature, kind in FOREIGN_SIGNATURES.items():
        if content.startswith(signature):
            return f"it looks like {kind}"
    return f"it starts with {content[:8]!r}"


def _read_array(entry: dict, data: bytes) -> np.ndarray:
    """An array the header describes, as a writable native-order copy (so that training can go on)."""
    shape = tuple(entry["shape"])
    array = np.frombuffer(data, dtype=entry["dtype"], count=math.prod(shape), offset=entry["offset"]).reshape(shape)
    return array.astype(array.dtype.newbyteorder("="))
