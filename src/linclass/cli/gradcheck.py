"""``linclass gradcheck``: check every engine operation's gradient, and the classifier's losses and
penalties, against finite differences."""

from __future__ import annotations

import argparse
import json
from typing import Callable

import numpy as np

from linclass import gradcheck, losses, regularizers
from linclass.cli.common import common_options
from linclass.gradcheck import EngineCheck
from linclass.tensor import Tensor

Cases = dict[str, tuple[Callable[..., Tensor], list[np.ndarray]]]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gradcheck", parents=[common_options()],
        help="check the engine's gradients against numerical ones",
        description="Compare backpropagation with finite differences for every engine operation, every loss "
                    "(fused and composed) and every penalty on seeded random float64 inputs; print the largest "
                    "relative error of each (forward and centered differences) and exit 1 if any fails its "
                    "threshold.",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary instead of the table")
    parser.set_defaults(run=run)


def classifier_cases(seed: int = 0) -> Cases:
    """The losses, written both ways, the penalties, and a whole regularized score-and-loss, on random
    float64 inputs (a margin lands within a step ``h`` of a hinge's kink with probability ~1e-6)."""
    rng = np.random.default_rng(seed)
    scores, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    X, W, b = rng.standard_normal((6, 5)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    cases: Cases = {}
    for loss in losses.LOSSES.values():
        cases[f"{loss.name} loss (fused)"] = (lambda s, op=loss.fused: op(s, y), [scores])
        cases[f"{loss.name} loss (composed)"] = (lambda s, op=loss.composed: op(s, y), [scores])
    for item in regularizers.PENALTIES.values():
        cases[f"{item.name} penalty"] = (lambda W, op=item.tensor: op(W, 0.5), [W])
    cases["softmax(X Wᵀ + b) + 0.1 l2(W)"] = (
        lambda W, b: losses.softmax_loss(Tensor(X) @ W.T + b, y) + 0.1 * regularizers.l2(W), [W, b])
    return cases


def run(args: argparse.Namespace) -> int:
    sections = {"operation": gradcheck.check_engine(seed=args.seed),
                "loss or penalty": gradcheck.check_engine(seed=args.seed, cases=classifier_cases(args.seed))}
    rows = [row for section in sections.values() for row in section]
    passed = all(row.passed for row in rows)
    thresholds = gradcheck.DEFAULT_THRESHOLDS
    if args.json:
        print(json.dumps({
            "seed": args.seed,
            "thresholds": thresholds,
            "passed": passed,
            "ops": [_json_row(row) for row in sections["operation"]],
            "losses": [_json_row(row) for row in sections["loss or penalty"]],
        }))
        return 0 if passed else 1
    width = max(len(row.op) for row in rows)
    for heading, section in sections.items():
        print(f"{heading:<{width}}  {'forward':>9}  {'centered':>9}  status")
        for row in section:
            status = "ok" if row.passed else "FAIL"
            print(f"{row.op:<{width}}  {row.forward:9.1e}  {row.centered:9.1e}  {status}")
        print()
    print(f"largest relative error |a-n|/max(|a|,|n|) of each, float64, seed {args.seed}; thresholds: "
          f"centered {thresholds['centered']:.0e}, forward {thresholds['forward']:.0e} "
          f"(CS231n: > {gradcheck.WRONG:.0e} wrong, < {gradcheck.GOOD:.0e} good)")
    failed = [row.op for row in rows if not row.passed]
    print(f"all {len(rows)} checks passed" if passed else f"FAILED: {', '.join(failed)}")
    return 0 if passed else 1


def _json_row(row: EngineCheck) -> dict:
    return {"op": row.op, "forward": row.forward, "centered": row.centered, "passed": row.passed}
