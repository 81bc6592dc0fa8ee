"""A trained classifier as an ONNX graph: raw examples in, labels and probabilities (or scores) out.

The graph does what ``clf.predict`` and ``clf.predict_proba`` do, preprocessing included, so that a
program with onnxruntime alone classifies the very images linclass does::

    images (uint8, N×H×W[×C])                    features (float32, N×D), without a preprocessor
      Cast → Flatten → Sub shift → Mul factor    the Preprocessor's map (x − shift) · factor
      Gemm                                       a linear classifier's W x + b
      (or Gemm → Relu/Tanh/Sigmoid → ... → Gemm, a network's layers)
      Softmax                                    for a loss whose scores are probabilities
      ArgMax → Gather(classes)                   the label: an integer, a string, as classes_ holds it

The outputs are ``label`` (N) and ``probabilities`` or, for the hinge losses, ``scores`` (N×K); there is
no ZipMap, so the probabilities come out as one plain tensor. The preprocessor's bias trick (a last
feature of 1) is folded into the first layer's bias, which is what that feature's weights add to every
score. The input is uint8 when the preprocessor scales 0..255 to [0, 1], as it does for pixels, and
float32 otherwise.

>>> to_onnx(clf, "model.onnx")        # clf's preprocessor_ when it was loaded from a file
>>> session = onnxruntime.InferenceSession("model.onnx")
>>> labels, probabilities = session.run(None, {"images": test_images})
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from linclass.data.preprocess import PIXEL_MAX
from linclass.errors import MissingExtraError
from linclass.nn.layers import Linear, ReLU, Sigmoid, Tanh
from linclass.nn.module import Module

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as error:
    raise MissingExtraError(f"exporting to ONNX needs the onnx package ({error}): "
                            "pip install linclass[onnx]") from error

__all__ = ["to_onnx", "onnx_model", "describe", "OPSET"]

OPSET = 13
"""The ONNX operator set the graph uses: the first in which Softmax normalizes one axis only."""

ACTIVATION_OPS: dict[type[Module], str] = {ReLU: "Relu", Tanh: "Tanh", Sigmoid: "Sigmoid"}
"""The ONNX operator of each of a network's activation layers."""


class Layer(NamedTuple):
    """One step of a score function: an ONNX operator and, for ``Gemm``, its weights (out×in) and biases."""

    op: str
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None


def to_onnx(clf: Any, path: str | os.PathLike, preprocessor: Any = None) -> Path:
    """Write the fitted classifier ``clf`` with its preprocessing to ``path`` as an ONNX model, atomically.

    Parameters
    ----------
    clf : LinearClassifier or MLPClassifier
        Fitted, with any loss.
    path : str or PathLike
        The ``.onnx`` file to write (replaced if it exists).
    preprocessor : linclass.datasets.Preprocessor, optional
        The map from raw examples to the features ``clf`` was trained on; ``clf.preprocessor_`` when
        ``clf`` was loaded from a file that has one. Without either, the graph takes float32 features.

    Returns
    -------
    Path
        ``path``.
    """
    from linclass.files import write_atomically

    return write_atomically(path, onnx_model(clf, preprocessor).SerializeToString())


def onnx_model(clf: Any, preprocessor: Any = None) -> onnx.ModelProto:
    """The ONNX model of :func:`to_onnx`, checked by ``onnx.checker``, not written anywhere."""
    import linclass
    from linclass.estimator_contract import check_fitted
    from linclass.losses import get_loss

    check_fitted(clf)
    if preprocessor is None:
        preprocessor = getattr(clf, "preprocessor_", None)
    loss = get_loss(clf.loss)
    builder = GraphBuilder()
    if preprocessor is None:
        features = builder.input("features", TensorProto.FLOAT, [clf.n_features_in_])
        layers = dense_layers(clf)
    else:
        features = preprocessing(builder, preprocessor, clf.n_features_in_)
        layers = fold_bias_trick(dense_layers(clf)) if preprocessor.bias_trick else dense_layers(clf)
    scores = network(builder, features, layers)
    result = builder.node("Softmax", [scores], "probabilities", axis=1) if loss.probabilities else scores
    index = builder.node("ArgMax", [scores], "index", axis=1, keepdims=0)  # the first of equal scores, as predict
    labels = label_tensor(clf.classes_)
    builder.output(builder.node("Gather", [builder.constant("classes", labels), index], "label", axis=0),
                   labels.data_type, [])
    builder.output(result, TensorProto.FLOAT, [len(clf.classes_)])
    kind = type(clf).__name__
    graph = builder.graph(f"linclass {kind}", f"{kind} trained with the {loss.title} loss ({loss.name}): "
                                              f"outputs label and {result}")
    model = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                          producer_name="linclass", producer_version=linclass.__version__,
                                          doc_string=graph.doc_string)
    helper.set_model_props(model, model_properties(clf, kind))
    onnx.checker.check_model(model, full_check=True)
    return model


def model_properties(clf: Any, kind: str) -> dict[str, str]:
    """The facts a reader of the file may want beside the graph: the estimator, its loss, the class names."""
    properties = {"estimator": kind, "loss": str(clf.loss)}
    names = (getattr(clf, "metadata_", None) or {}).get("classes")
    if names:
        properties["class_names"] = json.dumps([str(name) for name in names])
    return properties


# -- the graph's pieces --------------------------------------------------------------------------------


def preprocessing(builder: GraphBuilder, preprocessor: Any, n_features: int) -> str:
    """The graph's input, raw examples, and the preprocessor's map of them to features (N×D, float32)."""
    if preprocessor.input_shape is None:
        raise ValueError("the preprocessor is not fitted: fit it on the training images it was used with")
    width = int(np.prod(preprocessor.input_shape))
    if width + preprocessor.bias_trick != n_features:
        raise ValueError(f"the preprocessor makes {width + preprocessor.bias_trick} features of examples of shape "
                         f"{preprocessor.input_shape}, but the classifier takes {n_features}; pass the "
                         "preprocessor it was trained with")
    pixels = preprocessor.scale and (preprocessor.low, preprocessor.high) == (0.0, PIXEL_MAX)
    images = builder.input("images", TensorProto.UINT8 if pixels else TensorProto.FLOAT,
                           list(preprocessor.input_shape))
    values = builder.node("Cast", [images], "values", to=TensorProto.FLOAT) if pixels else images
    features = builder.node("Flatten", [values], "flat", axis=1)
    shift, factor = preprocessor.affine()
    if np.any(shift != 0):
        features = builder.node("Sub", [features, builder.constant("shift", shift)], "shifted")
    if np.any(factor != 1):
        features = builder.node("Mul", [features, builder.constant("factor", factor)], "scaled")
    return features


def dense_layers(clf: Any) -> list[Layer]:
    """The classifier's score function as layers: one ``Gemm`` for a linear classifier, a network's in order."""
    from linclass.nn.classifier import MLPClassifier

    if not isinstance(clf, MLPClassifier):
        return [Layer("Gemm", clf.W_, clf.b_)]
    return [network_layer(layer) for layer in clf.network_.children()]


def network_layer(layer: Module) -> Layer:
    """A network's layer as an ONNX operator: ``Linear`` as ``Gemm``, an activation as its own."""
    if isinstance(layer, Linear):
        return Layer("Gemm", layer.weight.data, None if layer.bias is None else layer.bias.data)
    if type(layer) in ACTIVATION_OPS:
        return Layer(ACTIVATION_OPS[type(layer)])
    raise ValueError(f"the network's layer {layer!r} has no ONNX operator here; the layers exported are "
                     f"Linear, {', '.join(kind.__name__ for kind in ACTIVATION_OPS)}")


def fold_bias_trick(layers: list[Layer]) -> list[Layer]:
    """The layers for features without the bias trick's last 1: that feature's weights join the first
    layer's bias, since they add themselves to every example's output."""
    first, *rest = layers
    assert first.weight is not None, "a score function starts with a Gemm"
    ones = first.weight[:, -1]
    bias = ones if first.bias is None else first.bias + ones
    return [first._replace(weight=first.weight[:, :-1], bias=bias), *rest]


def network(builder: GraphBuilder, features: str, layers: list[Layer]) -> str:
    """The layers applied to ``features``, one node each, the last making the class scores ``scores`` (N×K)."""
    x = features
    for i, layer in enumerate(layers):
        out = "scores" if i == len(layers) - 1 else f"{i}.out"
        inputs = [x]
        if layer.weight is not None:
            inputs.append(builder.constant(f"{i}.weight", layer.weight))
        if layer.bias is not None:
            inputs.append(builder.constant(f"{i}.bias", layer.bias))
        x = builder.node(layer.op, inputs, out, **({"transB": 1} if layer.op == "Gemm" else {}))  # x Wᵀ + b
    return x


def label_tensor(classes: np.ndarray) -> TensorProto:
    """The class labels as a constant: integers as int64, floats and booleans as they are, anything else as text."""
    if classes.dtype.kind in "iu":
        values = classes.astype(np.int64)
    elif classes.dtype.kind in "bf":
        values = classes
    else:
        values = np.array([str(label) for label in classes], dtype=object)  # an ONNX string tensor
    return numpy_helper.from_array(values, "classes")


class GraphBuilder:
    """Nodes, constants, inputs and outputs collected in order, then made into one ``GraphProto``.

    Every value's name is the name of the node output or constant that makes it, so a graph viewer shows
    the steps by the names used here (``shift``, ``0.weight``, ``probabilities``...).
    """

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []

    def input(self, name: str, elem_type: int, example_shape: list[int]) -> str:
        """A graph input of a batch of ``N`` examples of ``example_shape``."""
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, ["N", *example_shape]))
        return name

    def output(self, name: str, elem_type: int, example_shape: list[int]) -> None:
        """Make the value ``name`` a graph output of ``N`` rows of ``example_shape``."""
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, ["N", *example_shape]))

    def constant(self, name: str, value: Any) -> str:
        """A constant (an initializer) called ``name``: a tensor of that name, or an array made float32."""
        if not isinstance(value, TensorProto):
            value = numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name)
        self.constants.append(value)
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        """A node ``op`` of the values ``inputs``, making the value ``output``, which is its name too."""
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def graph(self, name: str, doc_string: str) -> onnx.GraphProto:
        return helper.make_graph(self.nodes, name, self.inputs, self.outputs, self.constants, doc_string=doc_string)


def describe(path: str | os.PathLike) -> dict[str, Any]:
    """What a program needs to know to call the ONNX file at ``path``: its inputs and outputs (name, type,
    shape) and its operators, in order."""
    model = onnx.load(path)

    def values(infos: Any) -> list[dict[str, str]]:
        return [{"name": info.name, "type": TensorProto.DataType.Name(info.type.tensor_type.elem_type).lower(),
                 "shape": "×".join(dim.dim_param or str(dim.dim_value) for dim in info.type.tensor_type.shape.dim)}
                for info in infos]

    return {"inputs": values(model.graph.input), "outputs": values(model.graph.output),
            "ops": [node.op_type for node in model.graph.node],
            "opset": next(entry.version for entry in model.opset_import if entry.domain == "")}
