"""``linclass gradcheck``: check every engine operation's gradient against finite differences."""

from __future__ import annotations

import argparse
import json

from linclass import gradcheck
from linclass.cli.common import common_options


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "gradcheck", parents=[common_options()],
        help="check the engine's gradients against numerical ones",
        description="Compare backpropagation with finite differences for every engine operation on seeded "
                    "random float64 inputs; print the largest relative error of each (forward and centered "
                    "differences) and exit 1 if any operation fails its threshold.",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary instead of the table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rows = gradcheck.check_engine(seed=args.seed)
    passed = all(row.passed for row in rows)
    thresholds = gradcheck.DEFAULT_THRESHOLDS
    if args.json:
        print(json.dumps({
            "seed": args.seed,
            "thresholds": thresholds,
            "passed": passed,
            "ops": [{"op": row.op, "forward": row.forward, "centered": row.centered, "passed": row.passed}
                    for row in rows],
        }))
        return 0 if passed else 1
    width = max(len(row.op) for row in rows)
    print(f"{'operation':<{width}}  {'forward':>9}  {'centered':>9}  status")
    for row in rows:
        status = "ok" if row.passed else "FAIL"
        print(f"{row.op:<{width}}  {row.forward:9.1e}  {row.centered:9.1e}  {status}")
    print(f"\nlargest relative error |a-n|/max(|a|,|n|) per operation, float64, seed {args.seed}; thresholds: "
          f"centered {thresholds['centered']:.0e}, forward {thresholds['forward']:.0e} "
          f"(CS231n: > {gradcheck.WRONG:.0e} wrong, < {gradcheck.GOOD:.0e} good)")
    failed = [row.op for row in rows if not row.passed]
    print(f"all {len(rows)} operations passed" if passed else f"FAILED: {', '.join(failed)}")
    return 0 if passed else 1
