"""Writing a file so that no reader, crash or interruption ever finds half of it.

Every file linclass writes (models, datasets saved as ``.npy``, reports, pictures, graphs) goes through
:func:`write_atomically`:

1. the content is written to a hidden temporary file in the target's own folder,
2. the temporary file is flushed to the disk (``fsync``),
3. it is renamed onto the target (``os.replace``, atomic within one file system),
4. the folder is flushed too, so that the rename itself survives a power cut.

The target therefore holds either its old content or the complete new one. Whatever goes wrong while
writing — an exception, Ctrl-C, a signal turned into an exception — the temporary file is removed.
The file gets the permissions a plain ``open`` would give it (``0o666`` less the umask), not the
owner-only ``0o600`` of a temporary file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Union

Content = Union[bytes, Callable[[BinaryIO], object]]


def write_atomically(path: str | os.PathLike, content: Content) -> Path:
    """Write ``content`` to ``path`` atomically (see the module's description).

    Parameters
    ----------
    path : str or PathLike
        The file to write; it is replaced if it exists. Its folder must exist.
    content : bytes, or a function of a binary stream
        The bytes to write, or a function that writes them to the stream it is given (e.g.
        ``lambda stream: np.save(stream, array)``).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    folder = path.parent
    temporary = None
    try:  # from the temporary file's making on, so that an interruption at any point removes it
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(handle, "wb") as stream:
            if isinstance(content, (bytes, bytearray, memoryview)):
                stream.write(content)
            else:
                content(stream)
            stream.flush()
            os.fchmod(stream.fileno(), 0o666 & ~_umask())
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if temporary is not None and os.path.lexists(temporary):
            os.unlink(temporary)
        raise
    _sync_folder(folder)
    return path


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk; a file system that cannot is passed over."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
