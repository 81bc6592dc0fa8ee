"""Growing past one machine's memory and one machine: training from disk, block by block, and on a cluster.

Two ways to train on more data than fits, each in modules of its own:

* **Data larger than memory** (NumPy only): :mod:`linclass.distributed.blocks` reads the rows of ``.npy``
  files in contiguous blocks into buffers allocated once, shuffling the block order and the rows within
  each block every epoch, so that a fit's resident memory is set by the block size, not by N;
  :mod:`linclass.distributed.shards` writes any dataset, or a user's own arrays, as a folder of ``.npy``
  shards with a manifest (``linclass shards``) and reads it back. ``LinearClassifier().fit(Shards(folder))``
  and ``linclass train --data FOLDER`` train on such a folder.
* **Training on a Dask cluster** (the ``dask`` extra): :mod:`linclass.distributed.cluster`.

Nothing is imported here, so that ``import linclass.distributed`` costs nothing; the names below are
loaded from their modules on first use::

    from linclass.distributed import Shards, NpyArrays, write_shards
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "BlockSource": "linclass.distributed.blocks",
    "NpyArrays": "linclass.distributed.blocks",
    "Shards": "linclass.distributed.shards",
    "write_shards": "linclass.distributed.shards",
    "write_dataset_shards": "linclass.distributed.shards",
}

if TYPE_CHECKING:  # "import x as x" marks a re-export
    from linclass.distributed.blocks import BlockSource as BlockSource, NpyArrays as NpyArrays
    from linclass.distributed.shards import Shards as Shards, write_dataset_shards as write_dataset_shards
    from linclass.distributed.shards import write_shards as write_shards

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    """Import a name of :data:`_LAZY` when it is first asked for, and keep it."""
    if name not in _LAZY:
        raise AttributeError(f"module 'linclass.distributed' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
