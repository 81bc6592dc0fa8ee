"""Read and check the JSON a page sends: every refusal names the field, what is wrong and what to send.

A request is refused (never half-used) when its JSON is malformed, holds NaN or Infinity, has a field
of the wrong type or shape, names an unknown loss, penalty or activation, or asks for more than the
limits below.

A plane's classifier is linear unless the request carries a hidden layer::

    "hidden": {"W": [[w1, w2], ...], "b": [...], "activation": "relu"}    (H rows of W, H biases)

and then ``W`` has a column per hidden unit (K × H) instead of one per coordinate (K × 2).
"hidden": null, or no such field, is the linear classifier.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np

from linclass.constraints import Hyperparameter
from linclass.nn.network import NETWORK_PARAMETERS
from linclass.playground.state import HiddenLayer, Plane, Training
from linclass.train import HYPERPARAMETERS

MAX_POINTS = 5000
MAX_CLASSES = 10
MAX_HIDDEN_UNITS = 16
MAX_STEPS = 1000
MAX_LR = 1e3
MAX_BODY_BYTES = 1_000_000  # 5000 points with their labels take about 200 kB
FLOAT64_DIGITS = len(str(int(sys.float_info.max)))  # 309: an integer of fewer digits always fits in a float64

PLANE_FIELDS = ("points", "labels", "W", "b", "loss", "delta", "penalty", "reg", "hidden")
HIDDEN_FIELDS = ("W", "b", "activation")
TRAINING_FIELDS = ("lr", "batch_size", "steps", "seed")


class RequestError(ValueError):
    """A request the playground refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def parse_json(body: bytes) -> dict[str, Any]:
    """The JSON object in ``body``; malformed JSON, NaN and Infinity are refused with status 400.

    Numbers too large for a float64 (1e400, a 400-digit integer) are read as infinity, which every field
    refuses with status 422."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant, parse_int=_integer_of)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(f"malformed JSON: {error}", status=400) from None
    except RecursionError:
        raise RequestError("malformed JSON: nested too deeply; send a flat object of lists", status=400) from None
    if not isinstance(payload, dict):
        raise RequestError(f"the request must be a JSON object, not {type(payload).__name__}", status=400)
    return payload


def parse_plane(payload: dict[str, Any], allowed: tuple[str, ...] = PLANE_FIELDS) -> Plane:
    """The :class:`Plane` a request describes, every field checked; a field not in ``allowed`` is refused."""
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        raise RequestError(f"unknown field {unknown[0]!r}; the fields are {', '.join(allowed)}")
    hidden = _hidden(payload.get("hidden"))
    W = _matrix(payload.get("W"), "W", rows=(2, MAX_CLASSES), columns=2 if hidden is None else len(hidden.W),
                columns_are="" if hidden is None else " (one per hidden unit)")
    classes = len(W)
    b = _vector(payload.get("b"), "b", length=classes)
    points = _points(payload)
    labels = _labels(payload, len(points), classes)
    penalty = payload.get("penalty")
    settings = {"loss": _setting(payload, "loss"), "delta": float(_setting(payload, "delta")),
                "penalty": None if penalty == "none" else _setting(payload, "penalty", default=None),
                "reg": float(_setting(payload, "reg", default=0.0))}
    return Plane(points=points, labels=labels, W=W, b=b, hidden=hidden, **settings)


def parse_training(payload: dict[str, Any], n_points: int) -> Training:
    """The :class:`Training` settings of a step request for ``n_points`` points."""
    if n_points == 0:
        raise RequestError("there are no points to learn from; add some points first")
    lr = _setting(payload, "lr")
    if lr is not None and lr > MAX_LR:
        raise RequestError(f"lr={lr!r} is more than the {MAX_LR:g} the playground steps with")
    batch_size = payload.get("batch_size")
    if batch_size is not None:
        batch_size = _integer(payload, "batch_size", low=1, high=n_points,
                              hint=f"at most the {n_points} points, or null for the full batch")
    steps = _integer(payload, "steps", default=1, low=1, high=MAX_STEPS)
    seed = _integer(payload, "seed", default=0, low=0, high=2**63 - 1)
    return Training(lr=lr, batch_size=batch_size, steps=steps, seed=seed)


def _hidden(value: Any) -> HiddenLayer | None:
    """The hidden layer of field ``hidden``; None (a linear classifier) when it is null."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RequestError(f"hidden must be null or an object with fields {', '.join(HIDDEN_FIELDS)}, "
                           f"not {type(value).__name__}")
    unknown = sorted(set(value) - set(HIDDEN_FIELDS))
    if unknown:
        raise RequestError(f"unknown field 'hidden.{unknown[0]}'; the fields of hidden are {', '.join(HIDDEN_FIELDS)}")
    W = _matrix(value.get("W"), "hidden.W", rows=(1, MAX_HIDDEN_UNITS), columns=2, row_is="hidden unit")
    b = _vector(value.get("b"), "hidden.b", length=len(W), of="hidden unit", rows_of="hidden.W")
    declaration = NETWORK_PARAMETERS["activation"]
    activation = _checked(declaration, value.get("activation", declaration.default), prefix="hidden.")
    return HiddenLayer(W=W, b=b, activation=activation)


def _setting(payload: dict[str, Any], name: str, default: Any = "declared") -> Any:
    """A field that is a hyperparameter, checked by its declaration (:data:`linclass.train.HYPERPARAMETERS`);
    absent, it takes ``default`` (the declared default unless given)."""
    declaration = HYPERPARAMETERS[name]
    return _checked(declaration, payload.get(name, declaration.default if default == "declared" else default))


def _checked(declaration: Hyperparameter, value: Any, prefix: str = "") -> Any:
    """``value`` checked by ``declaration``; its refusal names the field, after ``prefix`` (``hidden.``)."""
    try:
        return declaration.check(value)
    except ValueError as error:
        raise RequestError(prefix + str(error)) from None


def _integer_of(text: str) -> int | float:
    """A JSON integer; one that no float64 can hold (every number here ends up in one) becomes infinity,
    which the field's own check then refuses with its name, as it refuses 1e400."""
    return math.inf if len(text.lstrip("-")) >= FLOAT64_DIGITS else int(text)


def _refuse_constant(name: str) -> None:
    raise RequestError(f"{name} is not a number JSON allows; send finite numbers only", status=400)


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)  # not bool, not a numeric string


def _integer(payload: dict[str, Any], field: str, low: int, high: int, default: int | None = None,
             hint: str | None = None) -> int:
    value = payload.get(field, default)
    if type(value) is not int:
        raise RequestError(f"{field} must be an integer, not {value!r}")
    if not low <= value <= high:
        raise RequestError(f"{field} = {value} is out of range; send {hint or f'{low} to {high}'}")
    return value


def _vector(value: Any, field: str, length: int, of: str = "class", rows_of: str = "W") -> np.ndarray:
    if not isinstance(value, list) or len(value) != length:
        raise RequestError(f"{field} must be a list of {length} numbers, one per {of} ({rows_of} has {length} rows)")
    if not all(_is_number(v) for v in value):
        raise RequestError(f"{field} must hold numbers only")
    return _finite(np.array(value, dtype=np.float64), field)


def _matrix(value: Any, field: str, rows: tuple[int, int], columns: int, row_is: str = "class",
            columns_are: str = "") -> np.ndarray:
    shape_hint = f"a list of {rows[0]} to {rows[1]} rows (one per {row_is}) of {columns} numbers{columns_are}"
    if not isinstance(value, list) or not rows[0] <= len(value) <= rows[1]:
        raise RequestError(f"{field} must be {shape_hint}")
    if not all(isinstance(row, list) and len(row) == columns and all(_is_number(v) for v in row) for row in value):
        raise RequestError(f"{field} must be {shape_hint}; a row is not {columns} numbers")
    return _finite(np.array(value, dtype=np.float64).reshape(len(value), columns), field)


def _points(payload: dict[str, Any]) -> np.ndarray:
    value = payload.get("points", [])
    if not isinstance(value, list):
        raise RequestError("points must be a list of [x, y] pairs")
    if len(value) > MAX_POINTS:
        raise RequestError(f"{len(value)} points is more than the {MAX_POINTS} allowed", status=413)
    if not all(isinstance(p, list) and len(p) == 2 and _is_number(p[0]) and _is_number(p[1]) for p in value):
        raise RequestError("points must be a list of [x, y] pairs of numbers")
    return _finite(np.array(value, dtype=np.float64).reshape(len(value), 2), "points")


def _labels(payload: dict[str, Any], n_points: int, classes: int) -> np.ndarray:
    value = payload.get("labels", [])
    if not isinstance(value, list) or len(value) != n_points:
        raise RequestError(f"labels must be a list of {n_points} class numbers, one per point")
    if not all(type(label) is int and 0 <= label < classes for label in value):
        raise RequestError(f"labels must be integers from 0 to {classes - 1} (W has {classes} rows)")
    return np.array(value, dtype=np.int64)


def _finite(array: np.ndarray, field: str) -> np.ndarray:
    if not np.all(np.isfinite(array)):
        raise RequestError(f"{field} holds a number too large to be finite; send finite numbers only")
    return array
