"""``linclass datasets``: which datasets are known, where each was found or how to get it.

With a name or a path it loads that set and summarizes it (sizes, image shape, classes, load time),
which also checks a folder or file before training on it.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from linclass import data
from linclass.cli.common import common_options, load_data
from linclass.data.locate import ENVIRONMENT_VARIABLE, SYSTEM_FOLDER, search_places


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "datasets", parents=[common_options()],
        help="list the known datasets and where they are, or summarize one",
        description="Without an argument: list the known datasets, where each was found or how to get it. "
                    f"Sets are looked for in --root, then ${ENVIRONMENT_VARIABLE}, then ~/.cache/linclass, "
                    f"then {SYSTEM_FOLDER} (apt-get install dataset-fashion-mnist puts Fashion-MNIST there). "
                    "With a name or a path (image folder, .npz, .csv, folder of .npy files): load it and "
                    "print its sizes, image shape and classes.",
    )
    parser.add_argument("dataset", nargs="?", metavar="NAME_OR_PATH",
                        help="a known dataset name or a path to load and summarize")
    parser.add_argument("--root", metavar="DIR", help="look here first (the set's folder or the one above it)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.dataset is None:
        return list_known(args.root, args.json)
    return summarize(args.dataset, args.root, args.json)


def list_known(root: str | None, as_json: bool) -> int:
    entries = [data.describe(name, root) for name in data.known_datasets()]
    order = search_places(root)
    if as_json:
        print(json.dumps({"datasets": entries, "search_order": order}))
        return 0
    width = max(len(entry["name"]) for entry in entries)
    for entry in entries:
        if entry["found"] == "built in":
            status = f"built in ({entry['how_to_get']})"
        elif entry["found"]:
            status = f"found in {entry['found']}"
        else:
            status = f"not found; to get it: {entry['how_to_get']}"
        print(f"{entry['name']:<{width}}  {status}")
        print(f"{'':<{width}}  {entry['description']}")
    print(f"\nsearch order: {', '.join(order)}; each in the set's usual subfolders "
          "(fashion-mnist, cifar-10-batches-py, ...)")
    return 0


def summarize(name_or_path: str, root: str | None, as_json: bool) -> int:
    start = time.perf_counter()
    dataset = load_data(name_or_path, root=root)
    seconds = time.perf_counter() - start
    per_class = np.bincount(dataset.y_train, minlength=len(dataset.classes))
    summary = {
        "name": dataset.name, "source": dataset.source, "seconds": round(seconds, 3),
        "train": len(dataset.X_train), "test": len(dataset.X_test),
        "image_shape": list(dataset.image_shape), "dtype": str(dataset.X_train.dtype),
        "classes": dataset.classes, "train_per_class": per_class.tolist(),
    }
    if as_json:
        print(json.dumps(summary))
        return 0
    shape = "×".join(str(n) for n in dataset.image_shape)
    print(f"{dataset.name} from {dataset.source} ({seconds:.2f} s)")
    print(f"  training: {summary['train']} examples {shape} {summary['dtype']}")
    print(f"  test:     {summary['test']} examples")
    print(f"  classes ({len(dataset.classes)}): {', '.join(dataset.classes)}")
    print(f"  training examples per class: {per_class.min()} to {per_class.max()}")
    return 0
