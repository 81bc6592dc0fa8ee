"""``linclass shards``: write a dataset as a folder of ``.npy`` shards, for training on data larger than memory.

Any dataset ``linclass datasets`` knows, or any path ``--data`` accepts, is written as shards with a
``manifest.json`` (:mod:`linclass.data.shards`): its training set less a validation split (stratified
and seeded, the rows ``linclass train --data`` of the same set and seed would hold out), in a seeded
random order, and its test set. ``linclass train --data OUT`` then streams the training shards from disk.
A folder of ``.npy`` arrays is read through memory maps, a shard at a time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from linclass import data
from linclass.cli.common import (add_hyperparameter_option, add_image_size_option, common_options, constraint_type,
                                 load_data, positive_int)
from linclass.constraints import Real
from linclass.data import Dataset
from linclass.data.catalog import canonical_name, format_of
from linclass.data.shards import read_manifest, write_dataset_shards
from linclass.limits import describe_bytes
from linclass.train import HYPERPARAMETERS

VAL_FRACTION = 0.1
fraction_or_none = constraint_type(Real(0, 1, high_open=True, note="0 for no validation split", example="0.1"))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "shards", parents=[common_options()],
        help="write a dataset as a folder of .npy shards, which linclass train streams from disk",
        description="Write a dataset as a folder of .npy shards with a manifest.json: its training set less a "
                    "validation split (stratified, seeded: the rows linclass train would hold out), the training "
                    "rows in a seeded random order, and its test set. linclass train --data OUT then trains on it "
                    "out of core, reading a block of rows at a time (--block-size). The folder appears complete "
                    "or not at all.",
    )
    parser.add_argument("data", metavar="NAME|PATH", help="a known dataset (see linclass datasets) or a path that "
                                                          "linclass train --data accepts")
    parser.add_argument("out", metavar="OUT", help="the folder to write (new, or empty)")
    parser.add_argument("--rows-per-shard", type=positive_int, metavar="N",
                        help="examples in each shard file (default: as many as fill 64 MiB)")
    parser.add_argument("--val-fraction", type=fraction_or_none, default=VAL_FRACTION, metavar="F",
                        help=f"share of the training set written as the validation split, stratified (default "
                             f"{VAL_FRACTION}; 0 for none)")
    add_hyperparameter_option(parser, HYPERPARAMETERS["seed"])
    parser.add_argument("--no-shuffle", action="store_true",
                        help="write the training rows in their own order, not a random one")
    parser.add_argument("--root", metavar="DIR", help="look for a named dataset here first")
    add_image_size_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    dataset = load_source(args.data, args.root, args.image_size)
    seed = HYPERPARAMETERS["seed"].default if args.seed is None else args.seed
    folder = write_dataset_shards(dataset, Path(args.out).expanduser(), val_fraction=args.val_fraction or None,
                                  seed=seed, rows_per_shard=args.rows_per_shard, shuffle=not args.no_shuffle)
    manifest = read_manifest(folder)
    splits = {split: {"rows": manifest.rows(split), "shards": len(entries)}
              for split, entries in manifest.splits.items()}
    size = sum(path.stat().st_size for path in folder.iterdir())
    summary = {"folder": str(folder), "name": manifest.name, "splits": splits, "bytes": size,
               "seconds": round(time.perf_counter() - start, 3)}
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"wrote {folder} ({describe_bytes(size)}, {summary['seconds']:.2f} s) from {dataset.source}")
    for split, counts in splits.items():
        print(f"  {split + ':':<11} {counts['rows']} examples in {counts['shards']} shard(s)")
    print(f"train on it, a block at a time: linclass train --data {folder}")
    return 0


def load_source(name_or_path: str, root: str | None, image_size: tuple[int, int] | None) -> Dataset:
    """The dataset to write: a folder of ``.npy`` arrays memory-mapped (it is read a shard at a time), any
    other set loaded as ``linclass train`` loads it."""
    path = Path(name_or_path).expanduser()
    if canonical_name(name_or_path) is None and path.exists():
        found = format_of(path)
        if found is not None and found.maps:
            return data.load(path, image_size=image_size, mmap=True)
    return load_data(name_or_path, root=root, image_size=image_size)
