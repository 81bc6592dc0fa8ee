"""How much memory a file may make linclass allocate, and the checks every reader makes before it does.

A file's header says how big its content is (an IDX header its shape, an ``.npy`` header its shape
and dtype, a model header its arrays). A damaged or hostile header can claim anything: a 16-byte
file can claim terabytes. Every reader therefore checks a claim before it allocates anything:

* against the file's real size: the values must be in the file (a gzip stream can expand its input
  at most :data:`MAX_DEFLATE_RATIO` times);
* against the **memory budget**: the most one array read from a file may take.

The budget is, in this order, the ``max_memory`` a caller passes, the ``LINCLASS_MAX_MEMORY``
environment variable (bytes, or with a suffix: ``500M``, ``4G``, ``1.5GiB``), or
:data:`DEFAULT_MAX_MEMORY`: half of the machine's memory, at most 8 GiB. A set larger than the
budget can still be trained on from memory-mapped ``.npy`` files (``load(folder, mmap=True)``), which
stay on disk.

Each refusal is one line naming the file, what it claims and the limit, raised as the caller's error
class (``DataError`` for datasets, ``ModelFileError`` for model files).
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path

from linclass.errors import DataError, LinclassError

MEMORY_VARIABLE = "LINCLASS_MAX_MEMORY"
GIB = 2**30
MAX_DEFLATE_RATIO = 1032  # deflate cannot shrink data by more than about 1032:1
MAX_DIMENSIONS = 32  # the most dimensions an array read from a file may have
MAX_IMAGE_PIXELS = 2**26  # 8192×8192: the largest image decoded (Pillow warns from 89 million pixels)
UNLIMITED = 2**63  # the budget of data that stays on disk (memory-mapped): only absurd shapes are refused
UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def _default_max_memory() -> int:
    """Half of the machine's physical memory, at most 8 GiB (8 GiB where the size cannot be read)."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 8 * GIB
    return min(8 * GIB, physical // 2)


DEFAULT_MAX_MEMORY = _default_max_memory()


def memory_budget(max_memory: int | None = None) -> int:
    """The budget in bytes: ``max_memory`` if given, else ``$LINCLASS_MAX_MEMORY``, else the default.

    Raises
    ------
    LinclassError
        If the environment variable is not a size such as ``800000000``, ``500M`` or ``4GiB``.
    """
    if max_memory is not None:
        return int(max_memory)
    text = os.environ.get(MEMORY_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_MEMORY
    size = parse_size(text)
    if size is None:
        raise LinclassError(f"{MEMORY_VARIABLE}={text!r}: not a size; give bytes or e.g. 500M, 4G")
    return size


def parse_size(text: str) -> int | None:
    """A size in bytes written as a person writes it (``800000000``, ``500M``, ``4G``, ``1.5GiB``; the
    units are powers of 1024), or None when ``text`` is not one."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", text.strip(), flags=re.IGNORECASE)
    if match is None:
        return None
    return int(float(match.group(1)) * UNITS[match.group(2).upper()])


def describe_bytes(count: int) -> str:
    """``count`` bytes in words a person reads at a glance: ``"27.0 GiB"``, ``"812 bytes"``."""
    units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    exponent = 0 if count < 1024 else int(math.log2(count) // 10)
    if exponent == 0:
        return f"{count} bytes"
    if exponent >= len(units):
        return f"{count:.3g} bytes"
    return f"{count / 1024 ** exponent:.1f} {units[exponent]}"


def array_bytes(shape: tuple[int, ...], itemsize: int) -> int:
    """The bytes of an array of ``shape`` (exact, with Python's unbounded integers: no overflow)."""
    return math.prod(int(n) for n in shape) * int(itemsize)


def check_shape(where: str, shape: tuple[int, ...], itemsize: int, max_memory: int | None = None,
                error: type[LinclassError] = DataError) -> int:
    """Refuse a claimed array shape that cannot be allocated; return its size in bytes.

    Beyond the array's own size, each dimension must be one an array within the budget could have:
    a shape such as 0×(2³²−1)×(2³²−1) describes no values but is still absurd.
    """
    if len(shape) > MAX_DIMENSIONS:
        raise error(f"{where}: claims {len(shape)} dimensions; at most {MAX_DIMENSIONS} are read")
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise error(f"{where}: claims the shape {shape}, which is not a list of sizes")
    budget = memory_budget(max_memory)
    if array_bytes(tuple(max(n, 1) for n in shape), itemsize) > budget:
        raise error(f"{where}: claims an array of shape {tuple(shape)} ({describe_bytes(array_bytes(shape, itemsize))})"
                    f", {_over_budget(budget)}")
    return array_bytes(shape, itemsize)


def check_allocation(where: str, nbytes: int, what: str, max_memory: int | None = None,
                     error: type[LinclassError] = DataError) -> None:
    """Refuse to allocate ``nbytes`` for ``what`` when that is over the memory budget."""
    budget = memory_budget(max_memory)
    if nbytes > budget:
        raise error(f"{where}: {what} would take {describe_bytes(nbytes)}, {_over_budget(budget)}")


def check_claim(path: Path, claimed: int, what: str, compressed: bool = False, max_memory: int | None = None,
                error: type[LinclassError] = DataError) -> None:
    """Refuse ``claimed`` bytes of ``what`` that the file at ``path`` cannot hold, or the budget cannot take.

    ``compressed``: the file is a deflate stream (gzip, a zip member), which holds at most
    :data:`MAX_DEFLATE_RATIO` times its size.
    """
    size = file_size(path, error)
    room = size * MAX_DEFLATE_RATIO if compressed else size
    if claimed > room:
        raise error(f"{path}: {what} claims {describe_bytes(claimed)}, but the "
                    f"{'compressed ' if compressed else ''}file is only {describe_bytes(size)}; it is "
                    "truncated or damaged")
    check_allocation(str(path), claimed, what, max_memory, error)


def file_size(path: Path, error: type[LinclassError] = DataError) -> int:
    """The size of the regular file at ``path``; ``error`` if it is missing or not a regular file."""
    return check_regular_file(path, error).st_size


def check_regular_file(path: Path, error: type[LinclassError] = DataError) -> os.stat_result:
    """``os.stat`` of ``path``, refusing what is not a regular file before anything opens it.

    A FIFO would make a reader wait forever, and ``/dev/zero`` would feed it zeros without end.
    """
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except OSError as failure:
        raise error(f"{path}: cannot read ({failure.strerror or failure})") from None
    if stat.S_ISDIR(status.st_mode):
        raise error(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(status.st_mode):
        raise error(f"{path}: not a regular file (a pipe, a device or a socket); give a file")
    return status


def read_text(path: Path, what: str, max_memory: int | None = None, error: type[LinclassError] = DataError) -> str:
    """The UTF-8 text of a regular file within the memory budget; ``error`` naming ``what`` otherwise."""
    check_allocation(str(path), file_size(path, error), f"reading {what}", max_memory, error)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as failure:
        raise error(f"{path}: cannot read {what} ({failure})") from None


def _over_budget(budget: int) -> str:
    return (f"more than the memory budget of {describe_bytes(budget)}; if the file is right and the memory is "
            f"there, raise it with {MEMORY_VARIABLE} (or max_memory=)")
