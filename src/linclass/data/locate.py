"""Where datasets are looked for.

In this order: the ``root`` a caller passes (``--root`` on the command line), the folders listed in the
``LINCLASS_DATA`` environment variable (separated by ``:``), ``~/.cache/linclass``, and
``/usr/share/datasets``, where Debian's ``dataset-fashion-mnist`` package installs Fashion-MNIST. In
each, a set is looked for under its usual folder names (``fashion-mnist``, ``FashionMNIST/raw``,
``cifar-10-batches-py``, ...). ``root`` may also name the set's own folder.

A ``root`` that is not a folder is an error (the caller named a place that is not there), while a
``LINCLASS_DATA`` folder that does not exist is passed over like the cache folder: the environment is
a standing default, which may list places that only some machines or sessions have.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

from linclass.errors import DataError

ENVIRONMENT_VARIABLE = "LINCLASS_DATA"
SYSTEM_FOLDER = Path("/usr/share/datasets")


def cache_folder() -> Path:
    """``~/.cache/linclass``, the per-user place for downloaded sets."""
    return Path.home() / ".cache" / "linclass"


def environment_folders() -> list[Path]:
    """The folders listed in ``$LINCLASS_DATA`` (none when it is not set)."""
    listed = os.environ.get(ENVIRONMENT_VARIABLE, "")
    return [Path(entry).expanduser() for entry in listed.split(os.pathsep) if entry]


def check_root(root: str | Path | None) -> None:
    """``DataError`` naming ``root`` if it is given but is not a folder, rather than searching past it."""
    if root is not None and not Path(root).expanduser().is_dir():
        what = "a file, not a folder" if Path(root).expanduser().exists() else "no such folder"
        raise DataError(f"root {root}: {what}; give the folder that holds the dataset (root=, --root on the "
                        "command line), or leave it out to search the usual places")


def search_folders(root: str | Path | None = None) -> list[Path]:
    """The folders that may hold datasets, in the order they are searched."""
    folders = [] if root is None else [Path(root).expanduser()]
    return folders + environment_folders() + [cache_folder(), SYSTEM_FOLDER]


def find_folder(subfolders: Sequence[str], holds_set: Callable[[Path], bool],
                root: str | Path | None = None) -> Path | None:
    """The first folder that holds the set: ``root`` itself, then each search folder's ``subfolders``.

    ``holds_set(folder)`` says whether a folder holds the set's files.
    """
    candidates = [] if root is None else [Path(root).expanduser()]
    candidates += [base / sub for base in search_folders(root) for sub in subfolders]
    return next((folder for folder in candidates if holds_set(folder)), None)


def describe_search(subfolders: Sequence[str], root: str | Path | None = None) -> str:
    """Where ``find_folder`` looks, in words, for an error message."""
    return f"{', '.join(search_places(root))}, in subfolders {', '.join(subfolders)}"


def search_places(root: str | Path | None = None) -> list[str]:
    """The searched places in words: ``root``, ``$LINCLASS_DATA``'s folders (or that it is not set), ..."""
    places = [] if root is None else [f"{root} (itself and its subfolders)"]
    listed = [str(folder) for folder in environment_folders()]
    places += listed or [f"${ENVIRONMENT_VARIABLE} (not set)"]
    return places + [str(cache_folder()), str(SYSTEM_FOLDER)]
