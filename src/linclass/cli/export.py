"""``linclass export``: a saved model as an ONNX file, for programs that run onnxruntime and not linclass.

The graph holds the preprocessing and the classifier (:mod:`linclass.export.onnx`): it takes the raw
images the model was trained on, uint8 N×H×W[×C], and gives each one's ``label`` and ``probabilities``
(or, for the hinge losses, ``scores``). It needs the ``onnx`` extra: ``pip install linclass[onnx]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from linclass.cli.common import add_model_argument, common_options, print_json
from linclass.cli.run_folder import open_model
from linclass.errors import LinclassError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", parents=[common_options()],
        help="write a saved model as an ONNX file, preprocessing included",
        description="Write a saved model as an ONNX graph that takes raw images and gives their labels and "
                    "probabilities (or scores), for onnxruntime. Needs: pip install linclass[onnx].",
    )
    add_model_argument(parser)
    parser.add_argument("--onnx", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = check_output_path(args.onnx)
    model = open_model(args.model)
    from linclass.export.onnx import describe, to_onnx  # without the onnx package, a one-line error

    to_onnx(model.classifier, out, preprocessor=model.preprocessor)
    summary = {"model": str(model.path), "onnx": str(out), **describe(out)}
    if args.json:
        print_json(summary)
        return 0
    print(f"wrote {out}: {_values(summary['inputs'])} -> {_values(summary['outputs'])}")
    print(f"  ONNX opset {summary['opset']}: {' -> '.join(summary['ops'])}")
    return 0


def check_output_path(text: str) -> Path:
    """``--onnx``'s file: ending in .onnx, in a folder that exists, and not itself a folder."""
    path = Path(text)
    if path.suffix.lower() != ".onnx":
        raise LinclassError(f"--onnx {text}: give a file ending in .onnx")
    if path.is_dir():
        raise LinclassError(f"--onnx {text}: is a folder; give the name of the file to write")
    if not path.parent.is_dir():
        raise LinclassError(f"--onnx {text}: the folder {path.parent} does not exist; create it first")
    return path


def _values(values: list[dict[str, str]]) -> str:
    """``images (uint8 N×28×28)`` for each value, comma-separated."""
    return ", ".join(f"{value['name']} ({value['type']} {value['shape']})" for value in values)
