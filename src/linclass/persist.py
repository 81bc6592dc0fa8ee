"""Saving and loading models in linclass's own file format: versioned, checksummed, never pickle.

A pickle runs code when it is loaded, so a model file from elsewhere could do anything; this format holds
only numbers and JSON. Layout (all integers little-endian)::

    b"LINCLASS"                8 bytes   magic: what kind of file this is
    format version             uint32
    header length H            uint64
    header                     H bytes   UTF-8 JSON: hyperparameters, classes, history, metadata,
                                         preprocessing, and for every array its name, dtype, shape,
                                         offset and size in the data section
    data                       the arrays' raw little-endian bytes, each starting at a multiple of 8
    SHA-256                    32 bytes  of everything before it

Loading checks, in order, that the path is a regular file (a FIFO or ``/dev/zero`` would be read
forever) within the memory budget (:mod:`linclass.limits`), the magic (a PNG, a zip or a text file is
refused as foreign), the version (a file from a newer linclass is refused, saying which version it is),
the header's size, read before the rest of the file, the size (a truncated file), the checksum (any
flipped byte) and every field of the header against its schema (:mod:`linclass.model_header`: a
hand-edited header passes the checksum once it is recomputed). Every refusal is a
:class:`ModelFileError` naming the file and the problem.

Saving goes through :func:`linclass.files.write_atomically`: an interrupted save leaves the previous
file intact.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from linclass.errors import ModelFileError
from linclass.files import write_atomically
from linclass.limits import check_allocation, check_regular_file, describe_bytes
from linclass.model_header import ALIGNMENT, ARRAY_DTYPES, check_header

if TYPE_CHECKING:
    from linclass.estimator import LinearClassifier

__all__ = ["save", "load", "MAGIC", "FORMAT_VERSION"]

MAGIC = b"LINCLASS"
FORMAT_VERSION = 1
PREAMBLE = struct.Struct("<8sIQ")  # magic, format version, header length
DIGEST_SIZE = hashlib.sha256().digest_size
MAX_HEADER_SIZE = 2**28  # 256 MiB: far beyond any header written (weights are in the data section)

FOREIGN_SIGNATURES = {b"\x89PNG": "a PNG image", b"PK\x03\x04": "a zip archive", b"\x80": "a Python pickle",
                      b"\x93NUMPY": "a NumPy .npy file", b"\xff\xd8\xff": "a JPEG image", b"\x1f\x8b": "a gzip file",
                      b"{": "a JSON or text file", b"GIF8": "a GIF image", b"%PDF": "a PDF document"}


# -- saving -------------------------------------------------------------------------------------------


def save(clf: "LinearClassifier", path: str | os.PathLike, preprocessor: Any = None,
         metadata: dict | None = None) -> Path:
    """Write a fitted classifier to ``path``, atomically.

    Parameters
    ----------
    clf : LinearClassifier
        A fitted classifier.
    path : str or PathLike
        The file to write (replaced if it exists).
    preprocessor : linclass.datasets.Preprocessor, optional
        The preprocessing its inputs need; saved as its ``state_dict()``. Defaults to ``clf.preprocessor_``
        when the classifier has one (it was loaded from a file).
    metadata : dict, optional
        JSON-able facts about the model (dataset name, class names, image shape...). Defaults to
        ``clf.metadata_`` when the classifier has one.

    Returns
    -------
    Path
        ``path``.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(clf)
    preprocessor = getattr(clf, "preprocessor_", None) if preprocessor is None else preprocessor
    metadata = getattr(clf, "metadata_", None) if metadata is None else metadata
    arrays: dict[str, np.ndarray] = {"W": clf.W_, "b": clf.b_}
    header = {
        "format": "linclass-model",
        "hyperparameters": _hyperparameters(clf),
        "classes": _encode_classes(clf.classes_, arrays),
        "n_features_in": int(clf.n_features_in_),
        "feature_names_in": [str(n) for n in clf.feature_names_in_] if hasattr(clf, "feature_names_in_") else None,
        "history": getattr(clf, "history_", None),
        "preprocessor": None if preprocessor is None else _encode_state(preprocessor.state_dict(), arrays),
        "metadata": _json_safe(metadata or {}, "metadata"),
        "linclass_version": _linclass_version(),
    }
    header["arrays"], data = _layout(arrays)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    content = PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(header_bytes)) + header_bytes + data
    return write_atomically(path, content + hashlib.sha256(content).digest())


def _hyperparameters(clf: "LinearClassifier") -> dict:
    """The constructor arguments that can be written as JSON (a callback cannot, and is left out)."""
    params = {}
    for name, value in clf.get_params(deep=False).items():
        if callable(value):
            continue
        params[name] = value.item() if isinstance(value, np.generic) else value
    return _json_safe(params, "hyperparameters")


def _encode_classes(classes: np.ndarray, arrays: dict[str, np.ndarray]) -> dict:
    """Strings go into the header as a list; numbers and booleans into the data as an array of their dtype."""
    if classes.dtype.kind in "US" or (classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes)):
        return {"kind": "str", "values": [str(c) for c in classes]}
    if classes.dtype.kind in "iufb":
        arrays["classes"] = classes
        return {"kind": "array", "array": "classes"}
    raise TypeError(f"cannot save class labels of type {classes.dtype} ({classes[:3].tolist()}...): "
                    "use numbers or strings as labels")


def _encode_state(state: dict, arrays: dict[str, np.ndarray]) -> dict:
    """A preprocessor's state: arrays become references into the data section, the rest stays JSON."""
    encoded = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            name = f"preprocessor.{key}"
            arrays[name] = value
            encoded[key] = {"$array": name}
        else:
            encoded[key] = value
    return _json_safe(encoded, "preprocessor state")


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


def _json_safe(value: Any, what: str) -> Any:
    """``value`` with NumPy scalars and arrays as Python numbers and lists; TypeError if it cannot be JSON."""
    def convert(item: Any) -> Any:
        if isinstance(item, np.generic):
            return item.item()
        if isinstance(item, np.ndarray):
            return item.tolist()
        if isinstance(item, tuple):
            return list(item)
        if isinstance(item, Path):
            return str(item)
        raise TypeError(f"{what} holds {item!r} of type {type(item).__name__}, which cannot be saved as JSON")

    return json.loads(json.dumps(value, default=convert))


def _linclass_version() -> str:
    import linclass

    return linclass.__version__


# -- loading ------------------------------------------------------------------------------------------


def load(path: str | os.PathLike, max_memory: int | None = None) -> "LinearClassifier":
    """Read a classifier written by :func:`save` (or ``clf.save``).

    ``max_memory``: the largest file read, in bytes (:func:`linclass.limits.memory_budget`).

    Returns
    -------
    LinearClassifier
        Fitted, with ``W_``, ``b_``, ``classes_`` (of the type they were saved with), ``n_features_in_``,
        ``history_``, ``preprocessor_`` (a Preprocessor or None) and ``metadata_`` (a dict).

    Raises
    ------
    ModelFileError
        When the file is missing, not a regular file, foreign, of an unknown version, truncated,
        corrupted, or its header is not as the schema says.
    """
    path = Path(path)
    header, data = _open(_read_file(path, max_memory), path)
    check_header(header, len(data), path)
    try:
        return _build(header, data, path)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"{path}: the model header is inconsistent ({error}); the file is damaged") from None


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


def _build(header: dict, data: bytes, path: Path) -> "LinearClassifier":
    """A fitted LinearClassifier from a header that :func:`check_header` passed, and the data section."""
    from linclass.data.preprocess import Preprocessor
    from linclass.estimator import LinearClassifier

    arrays = {entry["name"]: _read_array(entry, data) for entry in header["arrays"]}
    known = LinearClassifier().get_params(deep=False)
    clf = LinearClassifier(**{name: value for name, value in header["hyperparameters"].items() if name in known})
    clf._config()  # every hyperparameter checked: ValueError naming the bad one
    for name in ("W", "b"):
        if not np.isfinite(arrays[name]).all():
            raise ModelFileError(f"{path}: the weights {name} hold NaN or infinite values; the file is damaged")
    clf.W_, clf.b_, clf.classes_ = arrays["W"], arrays["b"], _decode_classes(header["classes"], arrays)
    clf.n_features_in_ = int(header["n_features_in"])
    if header.get("feature_names_in") is not None:
        clf.feature_names_in_ = np.array(header["feature_names_in"], dtype=object)
    clf.history_ = header.get("history")
    clf.n_iter_ = len(clf.history_.get("epochs", [])) if clf.history_ else 0
    state = header.get("preprocessor")
    clf.preprocessor_ = None if state is None else Preprocessor.from_state_dict(_decode_state(state, arrays))
    clf.metadata_ = header.get("metadata") or {}
    return clf


def _read_array(entry: dict, data: bytes) -> np.ndarray:
    """An array the header describes, as a writable native-order copy (so that training can go on)."""
    shape = tuple(entry["shape"])
    array = np.frombuffer(data, dtype=entry["dtype"], count=math.prod(shape), offset=entry["offset"]).reshape(shape)
    return array.astype(array.dtype.newbyteorder("="))


def _decode_classes(entry: dict, arrays: dict[str, np.ndarray]) -> np.ndarray:
    if entry["kind"] == "str":
        return np.array(entry["values"], dtype=str)
    return arrays[entry["array"]]


def _decode_state(state: dict, arrays: dict[str, np.ndarray]) -> dict:
    return {key: arrays[value["$array"]] if isinstance(value, dict) and "$array" in value else value
            for key, value in state.items()}
