"""A folder of ``.npy`` shards streamed one split at a time: :class:`Shards`, and the writers of such folders.

The folder's format (``manifest.json`` and the numbered shards) is :mod:`linclass.data.shards`'s, which
also writes it (:func:`write_shards` for a user's arrays, :func:`write_dataset_shards` for a dataset, and
``linclass shards`` on the command line). Here it is read a block at a time (:mod:`linclass.distributed.blocks`)::

    from linclass.distributed import Shards, write_shards
    write_shards(X, y, "shards/", validation=(X_val, y_val))
    train = Shards("shards/", block_size=64 * 2**20)
    pre = train.fit_preprocessor(lc.datasets.Preprocessor())    # one streaming pass
    X_val, y_val = train.for_split("validation").read()        # the small held-out split, in memory
    clf = lc.LinearClassifier(epochs=5).fit(train, X_val=pre.transform(X_val), y_val=y_val)
"""

from __future__ import annotations

from pathlib import Path

from linclass.data.preprocess import Preprocessor
from linclass.data.shards import Manifest, check_shard, read_manifest, write_dataset_shards, write_shards
from linclass.distributed.blocks import BlockSource, NpyFile

__all__ = ["Shards", "write_shards", "write_dataset_shards"]


class Shards(BlockSource):
    """One split of a shards folder, read block by block (every parameter but the first two is
    :class:`~linclass.distributed.blocks.BlockSource`'s).

    Parameters
    ----------
    folder : path
        A folder with a ``manifest.json`` (:mod:`linclass.data.shards`).
    split : {"train", "validation", "test"}
        The split to read.

    Attributes
    ----------
    manifest : linclass.data.shards.Manifest
        What the folder's manifest says: name, source, classes, example shape and dtype, the splits.

    Raises
    ------
    DataError
        Naming the file, when the manifest is missing or damaged, a shard is missing or unreadable, or a
        shard disagrees with the manifest (rows, dtype, shape of an example, labels).
    """

    def __init__(self, folder: str | Path, split: str = "train", *, block_size: int | None = None,
                 block_rows: int | None = None, shuffle: bool = True,
                 preprocessor: Preprocessor | None = None) -> None:
        self.manifest = read_manifest(folder)
        self.split = split
        super().__init__(_open_shards(self.manifest, split), self.manifest.classes,
                         where=f"{self.manifest.folder} ({split})", block_size=block_size, block_rows=block_rows,
                         shuffle=shuffle, preprocessor=preprocessor)

    def for_split(self, split: str) -> Shards:
        """The same folder's ``split``, read with this one's block size, shuffling and preprocessing."""
        return Shards(self.manifest.folder, split, block_size=self.block_size, block_rows=self._block_rows,
                      shuffle=self.shuffle, preprocessor=self.preprocessor)

    def has_split(self, split: str) -> bool:
        return bool(self.manifest.splits.get(split))


def _open_shards(manifest: Manifest, split: str) -> list[tuple[NpyFile, NpyFile]]:
    """Each shard of ``split`` opened (headers only) and checked against the manifest."""
    pairs = []
    for entry in manifest.entries(split):
        features, labels = NpyFile.open(manifest.folder / entry.features), NpyFile.open(manifest.folder / entry.labels)
        check_shard(manifest, entry, features.shape, features.dtype, labels.shape, labels.dtype)
        pairs.append((features, labels))
    return pairs
