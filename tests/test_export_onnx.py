"""ONNX export: the graph, run in onnxruntime on raw images, predicts what linclass predicts, for every loss,
for networks, for string labels, and from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import linclass as lc
from conftest import need_fashion_mnist, need_module
from linclass.cli import main
from linclass.losses import LOSSES, get_loss
from linclass.nn.network import ACTIVATIONS
from test_cli_predict import save_digits_model
from test_cli_train import linclass

N_TRAIN = 5000  # Fashion-MNIST training rows: enough for a model that is right four times in five
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture(scope="module")
def onnx():
    need_module("onnxruntime")
    return need_module("onnx")


@pytest.fixture(scope="module")
def fashion():
    """A slice of Fashion-MNIST's training set, its Preprocessor and features, and the whole raw test set."""
    data = lc.datasets.load("fashion-mnist", root=need_fashion_mnist())
    pre = lc.datasets.Preprocessor(center="mean").fit(data.X_train[:N_TRAIN])
    return data, pre, pre.transform(data.X_train[:N_TRAIN])


def run_onnx(path, examples) -> dict[str, np.ndarray]:
    """The ONNX file's outputs by name for ``examples``, from onnxruntime on one CPU thread."""
    onnxruntime = need_module("onnxruntime")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (graph_input,) = session.get_inputs()
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {graph_input.name: examples}), strict=True))


def assert_predicts_as_linclass(outputs: dict[str, np.ndarray], clf, features: np.ndarray) -> None:
    """The same label for every example, and probabilities (or scores, for a hinge loss) within 1e-5."""
    np.testing.assert_array_equal(outputs["label"], clf.predict(features))
    if get_loss(clf.loss).probabilities:
        assert set(outputs) == {"label", "probabilities"}
        np.testing.assert_allclose(outputs["probabilities"], clf.predict_proba(features), **TOLERANCE)
    else:
        assert set(outputs) == {"label", "scores"}
        np.testing.assert_allclose(outputs["scores"], clf.class_scores(features), **TOLERANCE)


def ops(onnx, path) -> list[str]:
    return [node.op_type for node in onnx.load(path).graph.node]


@pytest.mark.slow
@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_exports_a_graph_that_predicts_raw_images_as_linclass(onnx, fashion, tmp_path, loss):
    data, pre, features = fashion
    clf = lc.LinearClassifier(loss=loss, epochs=3, seed=0).fit(features, data.y_train[:N_TRAIN])
    path = clf.to_onnx(tmp_path / "model.onnx", preprocessor=pre)
    outputs = run_onnx(path, data.X_test)  # uint8 images, 10000×28×28, as the dataset holds them
    test_features = pre.transform(data.X_test)
    assert_predicts_as_linclass(outputs, clf, test_features)
    assert np.mean(outputs["label"] == data.y_test) > 0.7  # a trained model, not one that says one class
    result = ["Softmax"] if LOSSES[loss].probabilities else []
    assert ops(onnx, path) == ["Cast", "Flatten", "Sub", "Mul", "Gemm", *result, "ArgMax", "Gather"]


@pytest.mark.slow
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_a_network_exports_its_layers(onnx, fashion, tmp_path, activation):
    data, pre, features = fashion
    mlp = lc.MLPClassifier(hidden_layer_sizes=(32, 16), activation=activation, epochs=3, seed=0)
    mlp.fit(features, data.y_train[:N_TRAIN])
    path = mlp.to_onnx(tmp_path / "mlp.onnx", preprocessor=pre)
    assert_predicts_as_linclass(run_onnx(path, data.X_test), mlp, pre.transform(data.X_test))
    bend = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid"}[activation]
    assert ops(onnx, path)[4:-3] == ["Gemm", bend, "Gemm", bend, "Gemm"]


@pytest.mark.slow
def test_string_labels_come_out_as_strings(onnx, fashion, tmp_path):
    data, pre, features = fashion
    names = np.array(data.classes)
    clf = lc.LinearClassifier(loss="svm", epochs=3, seed=0).fit(features, names[data.y_train[:N_TRAIN]])
    path = clf.to_onnx(tmp_path / "named.onnx", preprocessor=pre)
    outputs = run_onnx(path, data.X_test)
    assert_predicts_as_linclass(outputs, clf, pre.transform(data.X_test))
    assert set(outputs["label"]) <= set(data.classes) and "Sneaker" in outputs["label"]
    assert onnx.load(path).graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.STRING


def test_a_loaded_model_exports_its_own_preprocessing_with_standardizing_and_the_bias_trick(onnx, tmp_path):
    """The bias trick's last feature is folded into the bias; the graph takes the images alone."""
    data = lc.datasets.load("digits")
    pre = lc.datasets.Preprocessor(center="standardize", bias_trick=True).fit(data.X_train)
    clf = lc.LinearClassifier(loss="softmax", lr=0.1, epochs=5, seed=0).fit(pre.transform(data.X_train),
                                                                            data.y_train)
    saved = clf.save(tmp_path / "model.linclass", preprocessor=pre, metadata={"classes": data.classes})
    loaded = lc.load(saved)
    path = loaded.to_onnx(tmp_path / "model.onnx")
    assert_predicts_as_linclass(run_onnx(path, data.X_test), loaded, pre.transform(data.X_test))
    model = onnx.load(path)
    assert model.graph.input[0].name == "images"
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert [dim.dim_value for dim in model.graph.input[0].type.tensor_type.shape.dim[1:]] == [8, 8]
    assert json.loads({p.key: p.value for p in model.metadata_props}["class_names"]) == data.classes


def test_without_preprocessing_the_graph_takes_float_features(onnx, tmp_path, rng):
    X = rng.normal(size=(300, 6)).astype(np.float32)
    y = rng.integers(0, 3, 300) * 10  # labels 0, 10, 20
    clf = lc.LinearClassifier(loss="one_vs_all", lr=0.1, epochs=5, seed=0).fit(X, y)
    path = clf.to_onnx(tmp_path / "features.onnx")
    outputs = run_onnx(path, X)
    assert_predicts_as_linclass(outputs, clf, X)
    assert outputs["label"].dtype == np.int64 and set(outputs["label"]) <= {0, 10, 20}
    assert ops(onnx, path) == ["Gemm", "ArgMax", "Gather"]


def test_colour_images_and_float_examples_keep_their_shape_and_type(onnx, tmp_path, rng):
    """RGB images N×H×W×3 are flattened as the Preprocessor flattens them; examples that are not 0..255
    pixels are taken as float32 and scaled by their own range."""
    images = rng.integers(0, 256, size=(200, 4, 4, 3), dtype=np.uint8)
    readings = rng.normal(50, 20, size=(200, 5)).astype(np.float32)
    y = rng.integers(0, 4, 200)
    for examples, expected_type in ((images, onnx.TensorProto.UINT8), (readings, onnx.TensorProto.FLOAT)):
        pre = lc.datasets.Preprocessor(center="mean").fit(examples)
        mlp = lc.MLPClassifier(hidden_layer_sizes=(8,), epochs=2, seed=0).fit(pre.transform(examples), y)
        path = mlp.to_onnx(tmp_path / "model.onnx", preprocessor=pre)
        assert_predicts_as_linclass(run_onnx(path, examples), mlp, pre.transform(examples))
        assert onnx.load(path).graph.input[0].type.tensor_type.elem_type == expected_type


def test_the_graph_passes_the_checker_and_says_what_made_it(onnx, tmp_path):
    path = save_digits_model(tmp_path, loss="crammer_singer")
    out = lc.load(path).to_onnx(tmp_path / "model.onnx")
    model = onnx.load(out)
    onnx.checker.check_model(model, full_check=True)
    assert (model.producer_name, model.producer_version) == ("linclass", lc.__version__)
    assert LOSSES["crammer_singer"].title in model.doc_string and "scores" in model.doc_string
    assert {p.key: p.value for p in model.metadata_props}["loss"] == "crammer_singer"
    assert min(entry.version for entry in model.opset_import if entry.domain == "") >= 13
    assert "ZipMap" not in ops(onnx, out)


def test_a_preprocessor_of_other_examples_is_refused(onnx, tmp_path):
    clf = lc.load(save_digits_model(tmp_path))
    other = lc.datasets.Preprocessor().fit(np.zeros((4, 5, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"makes 25 features of examples of shape \(5, 5\), but the classifier "
                                         "takes 64"):
        clf.to_onnx(tmp_path / "model.onnx", preprocessor=other)
    assert not (tmp_path / "model.onnx").exists()


def test_import_linclass_and_its_command_line_do_not_import_onnx():
    code = ("import sys, linclass, linclass.estimator, linclass.cli; linclass.cli.build_parser(); "
            "print('onnx' in sys.modules, 'onnxruntime' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_the_command_writes_a_graph_that_predicts_as_the_saved_model(onnx, tmp_path, loss):
    model_path = save_digits_model(tmp_path / "run", loss)
    result = linclass("export", str(tmp_path / "run"), "--onnx", str(tmp_path / "model.onnx"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    output = "probabilities" if get_loss(loss).probabilities else "scores"
    assert summary["inputs"] == [{"name": "images", "type": "uint8", "shape": "N×8×8"}]
    assert summary["outputs"] == [{"name": "label", "type": "int64", "shape": "N"},
                                  {"name": output, "type": "float", "shape": "N×10"}]
    clf = lc.load(model_path)
    images = lc.datasets.load("digits").X_test
    assert_predicts_as_linclass(run_onnx(summary["onnx"], images), clf, clf.preprocessor_.transform(images))
    text = linclass("export", str(model_path), "--onnx", str(tmp_path / "again.onnx"))
    assert text.returncode == 0 and text.stdout.startswith(f"wrote {tmp_path / 'again.onnx'}: images (uint8 N×8×8)")
    assert (tmp_path / "again.onnx").read_bytes() == (tmp_path / "model.onnx").read_bytes()


def test_without_the_onnx_package_the_error_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    model_path = save_digits_model(tmp_path)
    monkeypatch.setitem(sys.modules, "onnx", None)  # "import onnx" now fails, as where it is not installed
    monkeypatch.delitem(sys.modules, "linclass.export.onnx", raising=False)
    assert main(["export", str(model_path), "--onnx", str(tmp_path / "model.onnx")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("linclass export: error: exporting to ONNX needs the onnx "
                                                       "package")
    assert error.rstrip().endswith("pip install linclass[onnx]")
    with pytest.raises(ImportError, match=r"pip install linclass\[onnx\]"):
        lc.load(model_path).to_onnx(tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()

