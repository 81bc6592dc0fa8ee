"""The header of a model file: what each of its fields must be, checked before any of them is used.

A model file's checksum proves that its bytes are the ones written, not that linclass wrote them: a
hand-edited header with a recomputed checksum passes it. So :func:`check_header` holds every field to
its schema (types, ranges, and agreement between fields and with the arrays' data) before the loader
builds anything from it, and refuses the first field that is wrong with one ``ModelFileError`` line
naming it. An array that does not fit its data section, an image shape whose pixels are not the
model's inputs (``[60000, 60000]`` for a model of 784 inputs) or a class list of the wrong length is
refused here, not met later as an allocation or a traceback.

The fields (see :mod:`linclass.persist` for the file's layout)::

    format             "linclass-model"
    estimator          (format version 2) "LinearClassifier" (when absent) or "MLPClassifier"
    arrays             [{"name", "dtype", "shape", "offset", "nbytes"}, ...]: the model's parameters —
                       W (K×D) and b (K) of a linear classifier, or a network's layers in order,
                       "0.weight" (H×D), "0.bias" (H), ..., the last of K rows — and the others
    hyperparameters    {name: JSON value}: the classifier's constructor arguments
    classes            {"kind": "str", "values": [K names]} or {"kind": "array", "array": "classes"}
    n_features_in      D
    feature_names_in   null or D names
    history            null or {"loss": [numbers], "epochs": [{"epoch": 1, ...}], "best_epoch", "kept_epoch", ...}
    preprocessor       null or a Preprocessor's state, arrays as {"$array": name}
    metadata           {"classes": K names, "image_shape": [H, W] or [H, W, C] or [D], "image_size",
                        "data", "dataset", "source"}: all optional
    trainer            (format version 2) null, or the state that continues the training exactly
                       (:meth:`linclass.train.Trainer.state_dict`), arrays as {"$array": name}:
                       {"optimizer": its name,
                        "optimizer_state": {"state": {"0": {buffer: array or step}, "1": {...}},
                                            "param_groups": [{"lr", ..., "params": [0, 1]}]},
                        "rng": {"bit_generator": "PCG64", "state": {"state", "inc"}, "has_uint32", "uinteger"},
                        "best": null or {"epoch", "accuracy", "epochs_without_gain"},
                        "weights": null or {parameter name: array}}
                       Parameter i is the model's i-th (W then b; a network's layers in order): each
                       buffer has the shape of its parameter.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from linclass.errors import ModelFileError
from linclass.limits import MAX_IMAGE_PIXELS
from linclass.optim import OPTIMIZERS

FORMAT_NAME = "linclass-model"
ALIGNMENT = 8
ARRAY_DTYPES = {"<f4": 4, "<f8": 8, "<i8": 8, "<i4": 4, "<u8": 8, "|u1": 1, "|b1": 1}
FLOAT_DTYPES = ("<f4", "<f8")  # of the weights, statistics and buffers; labels may be of any
ARRAY_NDIM = {"W": 2, "b": 1, "classes": 1}  # the others are checked where they are referred to
ESTIMATORS = ("LinearClassifier", "MLPClassifier")
LAYER_PARAMETER = re.compile(r"(\d+)\.(weight|bias)")
MAX_ARRAY_NDIM = 2
BIT_GENERATOR = "PCG64"  # numpy.random.default_rng's


def check_header(header: dict, data_size: int, path: Path) -> None:
    """Raise ``ModelFileError`` naming the first field of ``header`` that is not as the schema says.

    ``data_size`` is the length of the data section the arrays must lie in.
    """
    field = _Field(path)
    field.expect(header.get("format") == FORMAT_NAME, "format", header.get("format"), f'"{FORMAT_NAME}"')
    arrays = _check_arrays(header.get("arrays"), data_size, field)
    classes = _check_classes(header.get("classes"), arrays, field)
    parameters = model_parameters(header, arrays, field)
    n_classes, n_features = arrays[parameters[-2]][0], arrays[parameters[0]][1]
    field.expect(n_classes >= 2 and classes == n_classes, "classes", classes,
                 f"{n_classes} classes (one per row of the last weights), at least two")
    field.expect(header.get("n_features_in") == n_features and _is_int(header.get("n_features_in")),
                 "n_features_in", header.get("n_features_in"), f"{n_features}, the columns of the first weights")
    _check_names(header.get("feature_names_in"), n_features, "feature_names_in", field, optional=True)
    field.expect(isinstance(header.get("hyperparameters"), dict) and all(
        isinstance(key, str) for key in header["hyperparameters"]), "hyperparameters",
        header.get("hyperparameters"), "an object of the classifier's settings")
    _check_history(header.get("history"), field)
    inputs = _check_preprocessor(header.get("preprocessor"), arrays, n_features, field)
    _check_metadata(header.get("metadata"), n_classes, inputs, field)
    _check_trainer(header.get("trainer"), arrays, parameters, field)


def model_parameters(header: dict, arrays: dict[str, tuple[int, ...]], field: "_Field") -> list[str]:
    """The names of the model's parameters in the order training holds them, their shapes checked to chain
    (each layer's inputs the previous one's outputs, each bias one per output)."""
    estimator = header.get("estimator", "LinearClassifier")
    field.expect(estimator in ESTIMATORS, "estimator", estimator, f"one of {', '.join(ESTIMATORS)}")
    layers = _layers(estimator, arrays)
    field.expect(bool(layers) and all(w in arrays and b in arrays for w, b in layers), "arrays", sorted(arrays),
                 'W and b' if estimator == "LinearClassifier" else 'the layers of a network, "0.weight", "0.bias", ...')
    inputs = None
    for weight, bias in layers:
        field.expect(len(arrays[weight]) == 2 and (inputs is None or arrays[weight][1] == inputs),
                     f"arrays.{weight}.shape", list(arrays[weight]),
                     "a matrix" + ("" if inputs is None else f" of {inputs} columns, the outputs of the layer before"))
        rows = arrays[weight][0]
        field.expect(arrays[bias] == (rows,), f"arrays.{bias}.shape", list(arrays[bias]), f"[{rows}], one per row")
        inputs = rows
    return [name for layer in layers for name in layer]


def model_parameter_names(header: dict, arrays: Any) -> list[str]:
    """The names of a checked header's model parameters, in the order training holds them."""
    return [name for layer in _layers(header.get("estimator", "LinearClassifier"), arrays) for name in layer]


def _layers(estimator: str, arrays: Any) -> list[tuple[str, str]]:
    """The (weight, bias) names of each layer: W and b, or a network's ``i.weight`` and ``i.bias`` in order."""
    if estimator == "LinearClassifier":
        return [("W", "b")]
    indices = sorted({int(match[1]) for name in arrays if (match := LAYER_PARAMETER.fullmatch(name))})
    return [(f"{i}.weight", f"{i}.bias") for i in indices]


class _Field:
    """Refusals that name the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def expect(self, condition: bool, name: str, value: Any, expected: str) -> None:
        if not condition:
            shown = repr(value)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise ModelFileError(f"{self.path}: the header's {name} is {shown}, expected {expected}; "
                                 "the file was edited or damaged")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_arrays(entries: Any, data_size: int, field: _Field) -> dict[str, tuple[int, ...]]:
    """Each array's entry, against its dtype and the data section; the shapes by name."""
    field.expect(isinstance(entries, list) and all(isinstance(entry, dict) for entry in entries), "arrays",
                 entries, "a list of array descriptions")
    shapes: dict[str, tuple[int, ...]] = {}
    for entry in entries:
        name = entry.get("name")
        field.expect(isinstance(name, str) and name not in shapes, "arrays[].name", name, "a name used once")
        where = f"arrays.{name}"
        dtype, shape = entry.get("dtype"), entry.get("shape")
        allowed = ARRAY_DTYPES if name == "classes" else FLOAT_DTYPES
        field.expect(isinstance(dtype, str) and dtype in allowed, f"{where}.dtype", dtype,
                     f"one of {', '.join(allowed)}")
        ndim = ARRAY_NDIM.get(name)
        ndim_ok = isinstance(shape, list) and (len(shape) == ndim if ndim else 1 <= len(shape) <= MAX_ARRAY_NDIM)
        field.expect(ndim_ok and all(_is_int(n) and n >= 0 for n in shape), f"{where}.shape", shape,
                     f"a list of {ndim or f'1 to {MAX_ARRAY_NDIM}'} sizes")
        nbytes, offset = entry.get("nbytes"), entry.get("offset")
        field.expect(nbytes == math.prod(shape) * ARRAY_DTYPES[dtype] and _is_int(nbytes), f"{where}.nbytes",
                     nbytes, f"{math.prod(shape) * ARRAY_DTYPES[dtype]}, the size of its shape and dtype")
        field.expect(_is_int(offset) and offset >= 0 and offset % ALIGNMENT == 0 and offset + nbytes <= data_size,
                     f"{where}.offset", offset, f"a multiple of {ALIGNMENT} within the {data_size} bytes of data")
        shapes[name] = tuple(shape)
    return shapes


def _check_classes(entry: Any, arrays: dict[str, tuple[int, ...]], field: _Field) -> int:
    """The number of classes the ``classes`` field holds, distinct, as strings or as an array."""
    field.expect(isinstance(entry, dict) and entry.get("kind") in ("str", "array"), "classes", entry,
                 '{"kind": "str", "values": [...]} or {"kind": "array", "array": name}')
    if entry["kind"] == "array":
        field.expect(entry.get("array") == "classes" and "classes" in arrays, "classes.array", entry.get("array"),
                     '"classes", the name of the array of labels')
        return arrays["classes"][0]
    values = entry.get("values")
    field.expect(isinstance(values, list) and all(isinstance(value, str) for value in values)
                 and len(set(values)) == len(values), "classes.values", values, "a list of distinct names")
    return len(values)


def _check_names(names: Any, count: int, name: str, field: _Field, optional: bool) -> None:
    field.expect((optional and names is None) or (isinstance(names, list) and len(names) == count
                                                  and all(isinstance(item, str) for item in names)),
                 name, names, f"{'null or ' * optional}a list of {count} names")


def _check_history(history: Any, field: _Field) -> None:
    """The parts of a history the loader and the reports read: epochs numbered, numbers that are numbers."""
    if history is None:
        return
    field.expect(isinstance(history, dict), "history", history, "null or an object")
    losses = history.get("loss", [])
    field.expect(isinstance(losses, list) and all(value is None or isinstance(value, (int, float))
                                                  and not isinstance(value, bool) for value in losses),
                 "history.loss", losses, "a list of numbers")
    epochs = history.get("epochs", [])
    field.expect(isinstance(epochs, list) and all(isinstance(record, dict) and _is_int(record.get("epoch"))
                                                  and record["epoch"] >= 1 for record in epochs),
                 "history.epochs", epochs, 'a list of {"epoch": 1, ...} records')
    for record in epochs:
        for key, value in record.items():
            field.expect(value is None or isinstance(value, (int, float, str, bool)), f"history.epochs.{key}",
                         value, "a number")
    for key in ("best_epoch", "kept_epoch"):
        epoch = history.get(key)
        field.expect(epoch is None or (_is_int(epoch) and epoch >= 1), f"history.{key}", epoch, "null or an epoch")


def _check_preprocessor(state: Any, arrays: dict[str, tuple[int, ...]], n_features: int, field: _Field) -> int:
    """The preprocessor's input shape against the model's features; the number of raw inputs."""
    if state is None:
        return n_features
    field.expect(isinstance(state, dict), "preprocessor", state, "null or a preprocessor's state")
    for key, value in state.items():
        if isinstance(value, dict):
            _check_reference(value, arrays, None, f"preprocessor.{key}", field)
    shape = state.get("input_shape")
    field.expect(isinstance(shape, list) and 1 <= len(shape) <= 3 and all(_is_int(n) and n >= 1 for n in shape),
                 "preprocessor.input_shape", shape, "a list of 1 to 3 positive sizes (a fitted preprocessor)")
    bias = state.get("bias_trick")
    field.expect(isinstance(bias, bool), "preprocessor.bias_trick", bias, "true or false")
    inputs = math.prod(shape)
    field.expect(inputs + bias == n_features, "preprocessor.input_shape", shape,
                 f"{n_features - bias} values in all, the model's inputs")
    for key in ("low", "high"):
        field.expect(_is_number(state.get(key)), f"preprocessor.{key}", state.get(key), "a number")
    field.expect(state["high"] > state["low"], "preprocessor.high", state["high"], f"more than low ({state['low']})")
    return inputs


def _check_metadata(metadata: Any, n_classes: int, inputs: int, field: _Field) -> None:
    """The facts the commands use: class names, image shape and size, where the data came from."""
    field.expect(metadata is None or isinstance(metadata, dict), "metadata", metadata, "an object")
    metadata = metadata or {}
    if metadata.get("classes") is not None:
        _check_names(metadata["classes"], n_classes, "metadata.classes", field, optional=False)
    shape = metadata.get("image_shape")
    if shape is not None:
        field.expect(isinstance(shape, list) and 1 <= len(shape) <= 3 and all(_is_int(n) and n >= 1 for n in shape)
                     and (len(shape) < 3 or shape[2] in (1, 3)), "metadata.image_shape", shape,
                     "[H, W], [H, W, 1], [H, W, 3] or [D]")
        field.expect(math.prod(shape) == inputs, "metadata.image_shape", shape,
                     f"a shape of {inputs} values, the model's inputs")
        field.expect(math.prod(shape[:2]) <= MAX_IMAGE_PIXELS, "metadata.image_shape", shape,
                     f"at most {MAX_IMAGE_PIXELS} pixels")
    size = metadata.get("image_size")
    field.expect(size is None or (isinstance(size, list) and len(size) == 2
                                  and all(_is_int(n) and n >= 1 for n in size) and math.prod(size) <= MAX_IMAGE_PIXELS),
                 "metadata.image_size", size, f"null or [height, width] of at most {MAX_IMAGE_PIXELS} pixels")
    for key in ("data", "dataset", "source"):
        field.expect(metadata.get(key) is None or isinstance(metadata[key], str), f"metadata.{key}",
                     metadata.get(key), "null or a string")


def _check_reference(value: Any, arrays: dict[str, tuple[int, ...]], shape: tuple[int, ...] | None, name: str,
                     field: _Field) -> None:
    """``value`` is ``{"$array": name}`` of an array in the file: of ``shape``, or a vector when None."""
    reference = value.get("$array") if isinstance(value, dict) else None
    field.expect(isinstance(reference, str) and reference in arrays, name, value, "a reference to an array")
    assert isinstance(reference, str)  # field.expect raised otherwise
    field.expect(arrays[reference] == shape if shape else len(arrays[reference]) == 1, f"{name}'s shape",
                 list(arrays[reference]), str(list(shape)) if shape else "a vector's")


def _check_trainer(state: Any, arrays: dict[str, tuple[int, ...]], names: list[str], field: _Field) -> None:
    """The training state: every buffer the shape of its parameter, the generator's state within its range."""
    if state is None:
        return
    field.expect(isinstance(state, dict), "trainer", state, "null or the state of a training run")
    optimizer = state.get("optimizer")
    field.expect(isinstance(optimizer, str) and optimizer in OPTIMIZERS, "trainer.optimizer", optimizer,
                 f"one of {', '.join(OPTIMIZERS)}")
    parameters = {str(index): arrays[name] for index, name in enumerate(names)}
    _check_optimizer_state(state.get("optimizer_state"), arrays, parameters, field)
    _check_rng(state.get("rng"), field)
    best = state.get("best")
    field.expect(best is None or isinstance(best, dict), "trainer.best", best, "null or the best epoch so far")
    if best is not None:
        epoch, accuracy, without_gain = (best.get(key) for key in ("epoch", "accuracy", "epochs_without_gain"))
        field.expect(_is_int(epoch) and epoch >= 1, "trainer.best.epoch", epoch, "an epoch")
        field.expect(_is_number(accuracy) and 0 <= accuracy <= 1, "trainer.best.accuracy", accuracy,
                     "an accuracy in [0, 1]")
        field.expect(_is_int(without_gain) and without_gain >= 0, "trainer.best.epochs_without_gain", without_gain,
                     "a count of epochs")
    weights = state.get("weights")
    field.expect(weights is None or (isinstance(weights, dict) and set(weights) == set(names)), "trainer.weights",
                 weights, f"null or {{{', '.join(repr(name) + ': array' for name in names)}}}")
    if weights is not None:
        for index, name in enumerate(names):
            _check_reference(weights[name], arrays, parameters[str(index)], f"trainer.weights.{name}", field)


def _check_optimizer_state(state: Any, arrays: dict[str, tuple[int, ...]], parameters: dict[str, tuple[int, ...]],
                           field: _Field) -> None:
    """``torch.optim``'s layout for the two parameters: buffers of their shapes, step counts, one group."""
    field.expect(isinstance(state, dict) and isinstance(state.get("state"), dict)
                 and set(state["state"]) <= set(parameters), "trainer.optimizer_state", state,
                 '{"state": {"0": {...}, "1": {...}}, "param_groups": [...]}')
    for index, buffers in state["state"].items():
        where = f"trainer.optimizer_state.state.{index}"
        field.expect(isinstance(buffers, dict), where, buffers, "an object of buffers")
        for name, value in buffers.items():
            if isinstance(value, dict):
                _check_reference(value, arrays, parameters[index], f"{where}.{name}", field)
            else:
                field.expect(_is_int(value) and value >= 0, f"{where}.{name}", value,
                             "a reference to an array or a count of steps")
    groups = state.get("param_groups")
    field.expect(isinstance(groups, list) and len(groups) == 1 and isinstance(groups[0], dict)
                 and groups[0].get("params") == list(range(len(parameters))), "trainer.optimizer_state.param_groups",
                 groups, f'one group: [{{..., "params": {list(range(len(parameters)))}}}]')


def _check_rng(state: Any, field: _Field) -> None:
    """A ``PCG64`` generator's ``bit_generator.state``: 128-bit state and increment, a buffered 32-bit draw."""
    field.expect(isinstance(state, dict) and state.get("bit_generator") == BIT_GENERATOR
                 and isinstance(state.get("state"), dict), "trainer.rng", state,
                 f'the state of a {BIT_GENERATOR} generator')
    for key in ("state", "inc"):
        value = state["state"].get(key)
        field.expect(_is_int(value) and 0 <= value < 2**128, f"trainer.rng.state.{key}", value,
                     "an integer of 128 bits")
    field.expect(state.get("has_uint32") in (0, 1) and _is_int(state.get("has_uint32")), "trainer.rng.has_uint32",
                 state.get("has_uint32"), "0 or 1")
    field.expect(_is_int(state.get("uinteger")) and 0 <= state["uinteger"] < 2**32, "trainer.rng.uinteger",
                 state.get("uinteger"), "an integer of 32 bits")
