"""``linclass graph``: draw the computational graph of an expression, with its gradients.

Without ``--expr`` it draws the lecture's example ``f = 2 * (x*y + max(z, w))`` at x=3, y=-4, z=2,
w=-1. The expression is parsed with :mod:`ast` and evaluated node by node from a short whitelist
(numbers, the declared variables, ``+ - * / **``, unary minus and a few functions) — never ``eval``.
"""

from __future__ import annotations

import argparse
import ast
import builtins
from pathlib import Path
from typing import Any, Callable

import numpy as np

import linclass as lc
from linclass import graph
from linclass.cli.common import common_options
from linclass.errors import LinclassError

LECTURE_EXPRESSION = "2 * (x*y + max(z, w))"
LECTURE_VARIABLES = {"x": 3.0, "y": -4.0, "z": 2.0, "w": -1.0}

# name -> (function, least and most number of arguments). Python's max and min return one of their
# arguments itself (as on the lecture's slide); maximum and minimum are the engine's max/min gates.
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "max": (builtins.max, 2, None),
    "min": (builtins.min, 2, None),
    "maximum": (lc.maximum, 2, 2),
    "minimum": (lc.minimum, 2, 2),
    "exp": (lc.exp, 1, 1),
    "log": (lc.log, 1, 1),
    "relu": (lc.relu, 1, 1),
    "tanh": (lc.tanh, 1, 1),
    "sigmoid": (lc.sigmoid, 1, 1),
    "abs": (lc.abs, 1, 1),
    "sqrt": (lc.sqrt, 1, 1),
}
_BINARY = {ast.Add: lc.ops.add, ast.Sub: lc.ops.sub, ast.Mult: lc.ops.mul, ast.Div: lc.ops.div,
           ast.Pow: lc.ops.pow}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "graph", parents=[common_options()],
        help="draw the computational graph of an expression",
        description="Evaluate an expression of scalar variables, backpropagate, and draw its computational "
                    f"graph with values and gradients. Without --expr: the lecture's f = {LECTURE_EXPRESSION} "
                    "at x=3, y=-4, z=2, w=-1. The .dot file is always written; SVG/PNG/PDF need Graphviz.",
    )
    parser.add_argument("--out", default="graph.svg", metavar="PATH",
                        help="output file; .svg, .png, .pdf or .dot (default graph.svg)")
    parser.add_argument("--expr", metavar="EXPR",
                        help="expression of the variables, e.g. 'x*y + maximum(z, w)'; functions: "
                             + ", ".join(FUNCTIONS))
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="declare a variable (repeatable), e.g. --var x=3 --var y=-4")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    suffix = Path(args.out).suffix.lstrip(".").lower()
    if suffix not in graph.FORMATS:
        raise LinclassError(f"--out {args.out}: cannot draw a .{suffix} file; use .svg, .png, .pdf or .dot")
    expression = args.expr if args.expr is not None else LECTURE_EXPRESSION
    values = {} if args.expr is not None else dict(LECTURE_VARIABLES)
    values.update(parse_variables(args.var))
    variables = {name: lc.tensor(value, requires_grad=True) for name, value in values.items()}
    with np.errstate(all="ignore"):  # log(-1) is NaN, shown as such
        f = evaluate(expression, variables)
        f.backward()
    print(f"f = {expression} = {graph.compact(f.data)}")
    for name, x in variables.items():
        grad = "None (not in the graph)" if x.grad is None else graph.compact(x.grad.data)
        print(f"  {name} = {graph.compact(x.data)}  df/d{name} = {grad}")
    written = graph.draw(f, args.out, names={**variables, "f": f})
    dot = written.with_suffix(".dot")
    print(f"wrote {written}" + ("" if written == dot else f" and {dot}"))
    return 0


def parse_variables(declarations: list[str]) -> dict[str, float]:
    """``["x=3", "y=-4"]`` as ``{"x": 3.0, "y": -4.0}``; a malformed one is a one-line error."""
    values = {}
    for declaration in declarations:
        name, equals, value = declaration.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier() or name in FUNCTIONS:
            raise LinclassError(f"--var {declaration!r}: expected NAME=VALUE with NAME a variable name, "
                                "e.g. --var x=3")
        try:
            values[name] = float(value)
        except ValueError:
            raise LinclassError(f"--var {declaration!r}: {value.strip()!r} is not a number") from None
    return values


def evaluate(expression: str, variables: dict[str, lc.Tensor]) -> lc.Tensor:
    """The value of ``expression`` built from the engine's operations on ``variables``.

    Only numbers, the names in ``variables``, ``+ - * / **``, unary minus and calls of
    :data:`FUNCTIONS` are allowed; anything else is a :class:`LinclassError` naming it.
    """
    shown = _short(expression)  # for messages
    try:
        result = _evaluate(ast.parse(expression, mode="eval").body, variables, shown)
    except SyntaxError as error:
        raise LinclassError(f"--expr {shown!r} is not a valid expression: {error.msg}") from None
    except RecursionError:
        raise LinclassError(f"--expr {shown!r} is nested too deeply") from None
    if not isinstance(result, lc.Tensor):
        raise LinclassError(f"--expr {shown!r} uses no variable; declare some with --var NAME=VALUE")
    return result


def _evaluate(node: ast.AST, variables: dict[str, lc.Tensor], expression: str) -> Any:
    """Evaluate one whitelisted node of the syntax tree."""

    def refuse(what: str) -> LinclassError:
        return LinclassError(f"--expr {expression!r}: {what} is not allowed; use numbers, variables, "
                             f"+ - * / **, unary - and {', '.join(FUNCTIONS)}")

    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise refuse(f"the constant {value!r}")
        return _as_float(value, expression)
    if isinstance(node, ast.Name):
        if node.id not in variables:
            raise LinclassError(f"--expr {expression!r}: unknown variable {node.id!r}; "
                                f"declare it with --var {node.id}=VALUE")
        return variables[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = (_evaluate(side, variables, expression) for side in (node.left, node.right))
        if not isinstance(left, lc.Tensor) and not isinstance(right, lc.Tensor):  # numbers only: fold them
            return _BINARY[type(node.op)](lc.tensor(np.float64(left)), right).item()
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _evaluate(node.operand, variables, expression)
        return -operand
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        function, least, most = FUNCTIONS[node.func.id]
        if node.keywords or not least <= len(node.args) <= (most or len(node.args)):
            count = f"{least}" if least == most else f"at least {least}"
            raise LinclassError(f"--expr {expression!r}: {node.func.id}() takes {count} positional argument(s)")
        arguments = [_evaluate(argument, variables, expression) for argument in node.args]
        return function(*(x if isinstance(x, lc.Tensor) else lc.tensor(x) for x in arguments))
    if isinstance(node, ast.Call):
        raise refuse(f"calling {_short(ast.unparse(node.func))}()")
    raise refuse(f"{_short(ast.unparse(node))!r} ({type(node).__name__})")


def _as_float(number: int | float, expression: str) -> float:
    """A constant as a float: an integer constant kept as an integer would wrap around (2**64 → 0)."""
    try:
        return float(number)
    except OverflowError:
        raise LinclassError(f"--expr {expression!r}: the constant {_short(str(number), 20)} is too large for a "
                            "floating-point number") from None


def _short(text: str, width: int = 60) -> str:
    """``text``, cut to ``width`` characters for a one-line message."""
    return text if len(text) <= width else text[:width - 3] + "..."
