"""The playground's JSON API: what it computes, that it is linclass's own arithmetic, and what it refuses."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import warnings
import webbrowser
from dataclasses import replace

import numpy as np
import pytest

with warnings.catch_warnings():  # Starlette announces a move from httpx to httpx2; httpx is what we have
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

import linclass as lc
from linclass import losses, optim, regularizers
from linclass.cli import main
from linclass.nn.network import ACTIVATIONS
from linclass.playground import create_app, load_weights, requests, state
from linclass.playground.presets import PLANE_LIMIT, PRESETS, make_preset
from linclass.playground.server import bind_loopback

# CS231n's three training images (cat, car, frog) with their scores, as points in the plane:
# x = (1, 0) gets b + W[:, 0], x = (0, 1) gets b + W[:, 1], x = (0, 0) gets b.
CS231N_SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])  # rows: images
CS231N_PLANE = {
    "points": [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]],
    "labels": [0, 1, 2],
    "b": CS231N_SCORES[2].tolist(),
    "W": np.stack([CS231N_SCORES[0] - CS231N_SCORES[2], CS231N_SCORES[1] - CS231N_SCORES[2]], axis=1).tolist(),
}


PAGE = "http://127.0.0.1:8231"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), base_url=PAGE) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def blobs(client):
    """Overlapping blobs of 3 classes and a fixed starting W, b, as the page sends them."""
    preset = client.get("/api/preset/overlapping?classes=3&per_class=10&seed=3").json()
    rng = np.random.default_rng(1)
    return {"points": preset["points"], "labels": preset["labels"],
            "W": rng.normal(size=(3, 2)).tolist(), "b": rng.normal(size=3).tolist()}


def with_hidden(plane, units=5, activation="relu", seed=2):
    """``plane`` with a seeded hidden layer of ``units`` units, and an output W of one column per unit."""
    rng = np.random.default_rng(seed)
    classes = len(plane["b"])
    return {**plane, "hidden": {"W": rng.normal(size=(units, 2)).tolist(), "b": rng.normal(size=units).tolist(),
                                "activation": activation},
            "W": rng.normal(size=(classes, units)).tolist()}


def post(client, path, payload):
    return client.post(path, content=json.dumps(payload), headers={"Content-Type": "application/json"})


# ------------------------------------------------------------------------------------------ page, presets


def test_page_and_its_assets_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in ("/static/app.js", "/static/style.css"):
        assert asset in page.text
        assert client.get(asset).status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # nothing fetched from elsewhere


def test_options_offer_the_library_losses_and_penalties(client):
    options = client.get("/api/options").json()
    assert [loss["name"] for loss in options["losses"]] == list(losses.LOSSES)
    assert [loss["title"] for loss in options["losses"]] == [loss.title for loss in losses.LOSSES.values()]
    margin = {loss["name"] for loss in options["losses"] if loss["margin"]}
    assert margin == {"svm", "squared_hinge", "one_vs_all", "crammer_singer"}
    assert options["defaults"]["loss"] == lc.LinearClassifier().loss
    assert [penalty["name"] for penalty in options["penalties"]] == list(regularizers.PENALTIES)
    assert options["activations"] == list(ACTIVATIONS)
    assert options["default_activation"] == lc.nn.MLPClassifier().activation
    assert options["max_hidden_units"] == requests.MAX_HIDDEN_UNITS


def test_options_start_the_page_at_the_estimators_defaults(client):
    options = client.get("/api/options").json()
    estimator = lc.LinearClassifier()
    assert options["defaults"] == {name: getattr(estimator, name) for name in ("loss", "delta", "penalty", "reg", "lr")}
    assert options["defaults"]["lr"] is None and options["lr_default"] == "from the data"


@pytest.mark.parametrize("loss, curvature", [("softmax", 0.5), ("svm", 1.0), ("squared_hinge", 6.0)])
def test_without_an_lr_steps_take_the_rate_derived_from_the_points(client, blobs, loss, curvature):
    """SAG's 1/L for plain gradient descent: L = c_K (max ||x||^2 + 1) + 2 lambda for the L2 penalty."""
    settings = {**blobs, "loss": loss, "penalty": "l2", "reg": 0.01, "steps": 20}
    points = np.array(blobs["points"])
    expected = 1.0 / (curvature * ((points ** 2).sum(axis=1).max() + 1.0) + 2 * 0.01)
    derived = post(client, "/api/step", settings).json()
    assert derived["lr"] == pytest.approx(expected, rel=1e-12)
    assert post(client, "/api/step", {**settings, "lr": None}).json() == derived
    explicit = post(client, "/api/step", {**settings, "lr": derived["lr"]}).json()
    assert explicit["W"] == derived["W"] and explicit["b"] == derived["b"]
    before = post(client, "/api/evaluate", {k: v for k, v in settings.items() if k != "steps"}).json()
    assert derived["total_loss"] < 0.9 * before["total_loss"]


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_are_seeded_labelled_and_inside_the_plane(client, name):
    first = client.get(f"/api/preset/{name}?classes=4&per_class=9&seed=5").json()
    again = client.get(f"/api/preset/{name}?classes=4&per_class=9&seed=5").json()
    other = client.get(f"/api/preset/{name}?classes=4&per_class=9&seed=6").json()
    points = np.array(first["points"])
    assert first == again and first["points"] != other["points"]
    assert points.shape == (36, 2) and np.all(np.abs(points) < PLANE_LIMIT)
    assert np.bincount(first["labels"]).tolist() == [9, 9, 9, 9]


def test_an_unknown_preset_or_bad_query_is_refused(client):
    unknown = client.get("/api/preset/galaxies")
    assert unknown.status_code == 404 and "separable" in unknown.json()["error"]
    assert client.get("/api/preset/circles?classes=99").status_code == 422
    assert client.get("/api/preset/circles?per_class=ten").status_code == 422


def test_two_class_xor_puts_opposite_quadrants_in_one_class():
    points, labels = make_preset("xor", classes=2, per_class=25, seed=1)
    quadrant_parity = (points[:, 0] * points[:, 1] < 0).astype(int)  # 0: x and y of one sign
    assert np.array_equal(labels, quadrant_parity)
    assert {tuple(np.sign(p)) for p in points} == {(1, 1), (-1, -1), (1, -1), (-1, 1)}


@pytest.mark.parametrize("name", ["moons", "xor"])
def test_a_line_cannot_fit_moons_or_xor_but_a_hidden_layer_can(client, name):
    """The point of the two presets: many steps leave a linear classifier wrong somewhere, a network not."""
    preset = client.get(f"/api/preset/{name}?classes=2&per_class=30&seed=0").json()
    rng = np.random.default_rng(0)
    plane = {"points": preset["points"], "labels": preset["labels"], "W": (0.1 * rng.normal(size=(2, 2))).tolist(),
             "b": [0.0, 0.0], "loss": "svm", "lr": 0.02, "steps": 1000}
    linear = post(client, "/api/step", plane).json()
    network = post(client, "/api/step", with_hidden(plane, units=12, seed=0)).json()
    assert linear["accuracy"] < 1 and network["accuracy"] == 1


# ------------------------------------------------------------------------------------------ evaluation


@pytest.mark.parametrize("loss, point_losses", [
    ("svm", [2.9, 0.0, 12.9]),                             # CS231n notes: 2.9, 0, 12.9; mean 5.27
    ("squared_hinge", [2.9**2, 0.0, 6.3**2 + 6.6**2]),     # the same margins, squared
    ("softmax", [-math.log(math.exp(3.2) / (math.exp(3.2) + math.exp(5.1) + math.exp(-1.7))),
                 -math.log(math.exp(4.9) / (math.exp(1.3) + math.exp(4.9) + math.exp(2.0))),
                 -math.log(math.exp(-3.1) / (math.exp(2.2) + math.exp(2.5) + math.exp(-3.1)))]),
])
def test_evaluate_gives_the_cs231n_scores_and_losses(client, loss, point_losses):
    answer = post(client, "/api/evaluate", {**CS231N_PLANE, "loss": loss}).json()
    assert np.allclose([p["scores"] for p in answer["per_point"]], CS231N_SCORES)
    assert np.allclose([p["loss"] for p in answer["per_point"]], point_losses)
    assert answer["data_loss"] == pytest.approx(np.mean(point_losses))
    assert answer["reg_loss"] == 0 and answer["total_loss"] == pytest.approx(answer["data_loss"])
    assert [p["predicted"] for p in answer["per_point"]] == [1, 1, 1]
    assert answer["accuracy"] == pytest.approx(1 / 3)


def test_evaluate_uses_the_margin_delta(client):
    wide = post(client, "/api/evaluate", {**CS231N_PLANE, "loss": "svm", "delta": 2.0}).json()
    assert [p["loss"] for p in wide["per_point"]] == pytest.approx([3.9, 0.0, 7.3 + 7.6])


@pytest.mark.parametrize("penalty, reg_of_W", [("l1", lambda W: np.abs(W).sum()), ("l2", lambda W: (W**2).sum())])
def test_regularization_loss_is_lambda_times_the_penalty_of_W_only(client, penalty, reg_of_W):
    answer = post(client, "/api/evaluate", {**CS231N_PLANE, "penalty": penalty, "reg": 0.3}).json()
    assert answer["reg_loss"] == pytest.approx(0.3 * reg_of_W(np.array(CS231N_PLANE["W"])))
    assert answer["total_loss"] == pytest.approx(answer["data_loss"] + answer["reg_loss"])


def test_evaluate_without_points_has_no_data_loss(client):
    answer = post(client, "/api/evaluate", {**CS231N_PLANE, "points": [], "labels": [],
                                            "penalty": "l2", "reg": 1.0}).json()
    assert answer["data_loss"] == 0 and answer["per_point"] == [] and answer["accuracy"] is None
    assert answer["total_loss"] == pytest.approx((np.array(CS231N_PLANE["W"]) ** 2).sum())


# ------------------------------------------------------------------------------------------ steps


def linclass_model(plane):
    """The plane's classifier on linclass's Tensors: its score function, its parameters (input side
    first) and its weight matrices. Linear: ``x Wᵀ + b``; with a hidden layer, an ``lc.nn`` network."""
    if plane.get("hidden") is None:
        W = lc.tensor(np.array(plane["W"]), requires_grad=True)
        b = lc.tensor(np.array(plane["b"]), requires_grad=True)
        return (lambda X: X @ W.T + b), [W, b], [W]
    hidden = plane["hidden"]
    units, classes = len(hidden["W"]), len(plane["W"])
    network = lc.nn.Sequential(lc.nn.Linear(2, units, dtype=np.float64), ACTIVATIONS[hidden["activation"]](),
                               lc.nn.Linear(units, classes, dtype=np.float64))
    network.load_state_dict({"0.weight": np.array(hidden["W"]), "0.bias": np.array(hidden["b"]),
                             "2.weight": np.array(plane["W"]), "2.bias": np.array(plane["b"])})
    return network, list(network.parameters()), [network[0].weight, network[2].weight]


def linclass_steps(plane, loss, penalty, reg, delta, lr, batch_size, steps, seed):
    """The same descent written directly with linclass's Tensors: fused loss, penalty of each weight matrix,
    backward, SGD. Returns the parameters' values, input side first (``W, b`` or ``W_h, b_h, W, b``)."""
    X, y = np.array(plane["points"]), np.array(plane["labels"])
    scores_of, parameters, weights = linclass_model(plane)
    optimizer = optim.SGD(parameters, lr=lr)
    rng = np.random.default_rng(seed)  # the playground draws rng.choice(N, batch, replace=False) per step
    penalties = {"l1": regularizers.l1, "l2": regularizers.l2}
    for _ in range(steps):
        rows = np.arange(len(X)) if batch_size is None else rng.choice(len(X), size=batch_size, replace=False)
        scores = scores_of(lc.tensor(X[rows]))
        margin = {"delta": delta} if "delta" in losses.LOSSES[loss].options else {}
        total = losses.LOSSES[loss].fused(scores, y[rows], **margin)
        if penalty is not None:
            for W in weights:
                total = total + reg * penalties[penalty](W)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    return [parameter.data for parameter in parameters]


def answered_parameters(answer):
    """The parameters of a step's answer, input side first, as :func:`linclass_steps` returns them."""
    hidden = [answer["hidden"]["W"], answer["hidden"]["b"]] if "hidden" in answer else []
    return [*hidden, answer["W"], answer["b"]]


@pytest.mark.parametrize("loss", list(losses.LOSSES))
@pytest.mark.parametrize("penalty, batch_size", [(None, None), ("l2", None), ("l1", 7)])
def test_n_playground_steps_equal_n_steps_with_linclass(client, blobs, loss, penalty, batch_size):
    settings = dict(loss=loss, penalty=penalty, reg=0.05, delta=1.5, lr=0.2, batch_size=batch_size, steps=12, seed=4)
    answer = post(client, "/api/step", {**blobs, **settings}).json()
    W, b = linclass_steps(blobs, **settings)
    assert answer["steps"] == 12
    np.testing.assert_allclose(answer["W"], W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(answer["b"], b, rtol=1e-10, atol=1e-12)
    assert not np.allclose(answer["W"], blobs["W"])  # it moved
    after = post(client, "/api/evaluate", {**blobs, "W": answer["W"], "b": answer["b"], "loss": loss,
                                           "penalty": penalty, "reg": 0.05, "delta": 1.5}).json()
    assert answer["total_loss"] == pytest.approx(after["total_loss"])  # a step answers for the new W, b


@pytest.mark.parametrize("loss", ["svm", "squared_hinge", "softmax"])
def test_full_batch_steps_match_pytorch(client, blobs, torch, loss):
    steps, lr, reg, delta = 15, 0.1, 0.02, 1.0
    answer = post(client, "/api/step", {**blobs, "loss": loss, "penalty": "l2", "reg": reg, "delta": delta,
                                        "lr": lr, "steps": steps}).json()
    X, y = torch.tensor(blobs["points"]), torch.tensor(blobs["labels"])
    W = torch.tensor(blobs["W"], requires_grad=True)
    b = torch.tensor(blobs["b"], requires_grad=True)
    optimizer = torch.optim.SGD([W, b], lr=lr)
    classes = W.shape[0]
    for _ in range(steps):
        scores = X @ W.T + b
        if loss == "softmax":
            data_loss = torch.nn.functional.cross_entropy(scores, y)
        else:  # PyTorch divides the sum over classes by their number; the lecture's loss does not
            p = 1 if loss == "svm" else 2
            data_loss = classes * torch.nn.functional.multi_margin_loss(scores, y, p=p, margin=delta)
        optimizer.zero_grad()
        (data_loss + reg * (W**2).sum()).backward()
        optimizer.step()
    np.testing.assert_allclose(answer["W"], W.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(answer["b"], b.detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("loss", list(losses.LOSSES))
@pytest.mark.parametrize("activation, penalty, batch_size", [("relu", None, None), ("tanh", "l2", None),
                                                            ("logistic", "l1", 7)])
def test_n_steps_of_a_network_equal_n_steps_with_lc_nn(client, blobs, loss, activation, penalty, batch_size):
    plane = with_hidden(blobs, activation=activation)
    settings = dict(loss=loss, penalty=penalty, reg=0.05, delta=1.5, lr=0.05, batch_size=batch_size, steps=12, seed=4)
    answer = post(client, "/api/step", {**plane, **settings}).json()
    expected = linclass_steps(plane, **settings)
    assert answer["hidden"]["activation"] == activation
    for got, want in zip(answered_parameters(answer), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert not np.allclose(answer["hidden"]["W"], plane["hidden"]["W"])  # the hidden layer trains too
    after = post(client, "/api/evaluate", {**plane, "W": answer["W"], "b": answer["b"], "hidden": answer["hidden"],
                                           "loss": loss, "penalty": penalty, "reg": 0.05, "delta": 1.5}).json()
    assert answer["total_loss"] == pytest.approx(after["total_loss"])  # a step answers for the new weights


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_a_network_is_evaluated_as_lc_nn_computes_it(client, blobs, activation):
    plane = {**with_hidden(blobs, activation=activation), "loss": "svm", "delta": 1.5, "penalty": "l2", "reg": 0.3}
    answer = post(client, "/api/evaluate", plane).json()
    network, _, weights = linclass_model(plane)
    scores = network(lc.tensor(np.array(plane["points"])))
    data_loss = losses.LOSSES["svm"].fused(scores, np.array(plane["labels"]), delta=1.5).item()
    reg_loss = 0.3 * sum(regularizers.l2(W).item() for W in weights)
    np.testing.assert_allclose([p["scores"] for p in answer["per_point"]], scores.data, rtol=1e-10, atol=1e-12)
    assert answer["data_loss"] == pytest.approx(data_loss, rel=1e-10)
    assert answer["reg_loss"] == pytest.approx(reg_loss, rel=1e-10)
    assert answer["total_loss"] == pytest.approx(data_loss + reg_loss, rel=1e-10)
    predicted = scores.data.argmax(axis=1)
    assert [p["predicted"] for p in answer["per_point"]] == predicted.tolist()
    assert answer["accuracy"] == pytest.approx(np.mean(predicted == np.array(plane["labels"])))
    assert answer["hidden"] == plane["hidden"]


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_full_batch_steps_of_a_network_match_pytorch(client, blobs, torch, loss):
    steps, lr, reg, delta = 15, 0.1, 0.02, 1.0
    plane = with_hidden(blobs, activation="relu")
    answer = post(client, "/api/step", {**plane, "loss": loss, "penalty": "l2", "reg": reg, "delta": delta,
                                        "lr": lr, "steps": steps}).json()
    X, y = torch.tensor(plane["points"]), torch.tensor(plane["labels"])
    units, classes = len(plane["hidden"]["W"]), len(plane["W"])
    network = torch.nn.Sequential(torch.nn.Linear(2, units), torch.nn.ReLU(), torch.nn.Linear(units, classes))
    with torch.no_grad():
        for parameter, value in zip(network.parameters(), answered_parameters(plane), strict=True):
            parameter.copy_(torch.tensor(value))
    optimizer = torch.optim.SGD(network.parameters(), lr=lr)
    for _ in range(steps):
        scores = network(X)
        if loss == "softmax":
            data_loss = torch.nn.functional.cross_entropy(scores, y)
        else:  # PyTorch divides the sum over classes by their number; the lecture's loss does not
            data_loss = classes * torch.nn.functional.multi_margin_loss(scores, y, margin=delta)
        optimizer.zero_grad()
        (data_loss + reg * sum((layer.weight**2).sum() for layer in (network[0], network[2]))).backward()
        optimizer.step()
    for got, want in zip(answered_parameters(answer), network.parameters(), strict=True):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_gradient_descent_lowers_the_loss(client, blobs):
    before = post(client, "/api/evaluate", {**blobs, "penalty": "l2", "reg": 0.01}).json()
    after = post(client, "/api/step", {**blobs, "penalty": "l2", "reg": 0.01, "lr": 0.05, "steps": 50}).json()
    assert after["total_loss"] < 0.5 * before["total_loss"]


def test_mini_batches_are_seeded(client, blobs):
    settings = {**blobs, "lr": 0.1, "batch_size": 5, "steps": 3}
    first, again = (post(client, "/api/step", {**settings, "seed": 8}).json() for _ in range(2))
    other = post(client, "/api/step", {**settings, "seed": 9}).json()
    assert first["W"] == again["W"] and first["W"] != other["W"]


def test_a_weights_file_loads_back_as_arrays_that_score_as_the_server_does(client, blobs, tmp_path):
    """The page exports the plane's fields without the points; load_weights reads them into float64 arrays,
    and with the points put back they score every point as /api/evaluate does."""
    plane = with_hidden({**blobs, "loss": "svm", "penalty": "l1", "reg": 0.1}, units=4, activation="tanh")
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({name: value for name, value in plane.items() if name not in ("points", "labels")}))
    loaded = load_weights(path)
    assert loaded.W.shape == (3, 4) and loaded.b.shape == (3,) and loaded.hidden.W.shape == (4, 2)
    assert loaded.W.tolist() == plane["W"] and loaded.hidden.b.tolist() == plane["hidden"]["b"]
    assert (loaded.loss, loaded.penalty, loaded.reg, loaded.hidden.activation) == ("svm", "l1", 0.1, "tanh")
    assert len(loaded.points) == 0
    served = post(client, "/api/evaluate", plane).json()
    points = np.array(plane["points"])
    assert np.allclose(state.scores(replace(loaded, points=points)), [p["scores"] for p in served["per_point"]])


@pytest.mark.parametrize("content, phrase", [
    ("{\"W\": [[1, 2]], \"b\": [0]}", f"W must be a list of 2 to {requests.MAX_CLASSES} rows"),
    ("[1, 2]", "must be a JSON object"),
    ("{\"W\": [[1, 2], [3, 4]], \"b\": [0, 1], \"bias\": 1}", "unknown field 'bias'"),
])
def test_a_bad_weights_file_is_one_line_naming_it(tmp_path, content, phrase):
    path = tmp_path / "weights.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: .*{re.escape(phrase)}") as raised:
        load_weights(path)
    assert "\n" not in str(raised.value)


# ------------------------------------------------------------------------------------------ refusals


def _valid(blobs):
    return {**blobs, "loss": "svm", "lr": 0.1, "steps": 2}


BAD_REQUESTS = {
    "unknown loss": (lambda p: {**p, "loss": "hinge"}, 422, "loss='hinge' is not valid: expected one of 'softmax'"),
    "loss not a name": (lambda p: {**p, "loss": ["svm"]}, 422, "loss=['svm'] is not valid"),
    "unknown penalty": (lambda p: {**p, "penalty": "l3"}, 422, "penalty='l3' is not valid"),
    "W row of three": (lambda p: {**p, "W": [[1, 2, 3]] * 3}, 422, "W must be"),
    "one class only": (lambda p: {**p, "W": [[1, 2]], "b": [0], "labels": [0] * len(p["labels"])}, 422, "W must be"),
    "b of wrong length": (lambda p: {**p, "b": [0, 0]}, 422, "b must be a list of 3"),
    "labels of wrong length": (lambda p: {**p, "labels": p["labels"][:-1]}, 422, "labels must be a list of 30"),
    "label out of range": (lambda p: {**p, "labels": [3] + p["labels"][1:]}, 422, "from 0 to 2"),
    "label not an integer": (lambda p: {**p, "labels": [0.5] + p["labels"][1:]}, 422, "labels must be integers"),
    "point of three numbers": (lambda p: {**p, "points": [[1, 2, 3]] + p["points"][1:]}, 422, "[x, y] pairs"),
    "number as a string": (lambda p: {**p, "points": [["1", 2]] + p["points"][1:]}, 422, "[x, y] pairs"),
    "negative lr": (lambda p: {**p, "lr": -0.1}, 422, "lr=-0.1 is not valid: expected a number > 0"),
    "zero lr": (lambda p: {**p, "lr": 0}, 422, "lr=0 is not valid"),
    "lr too large to step with": (lambda p: {**p, "lr": 1e4}, 422, "more than the 1000 the playground steps with"),
    "lr as text": (lambda p: {**p, "lr": "fast"}, 422, "lr='fast' is not valid"),
    "too many steps": (lambda p: {**p, "steps": requests.MAX_STEPS + 1}, 422, "steps = 1001 is out of range"),
    "fractional steps": (lambda p: {**p, "steps": 1.5}, 422, "steps must be an integer"),
    "batch larger than the data": (lambda p: {**p, "batch_size": 31}, 422, "batch_size = 31"),
    "negative reg": (lambda p: {**p, "reg": -1}, 422, "reg=-1 is not valid: expected a number >= 0"),
    "zero delta": (lambda p: {**p, "delta": 0}, 422, "delta=0 is not valid: expected a number > 0"),
    "unknown field": (lambda p: {**p, "lambda": 0.1}, 422, "unknown field 'lambda'"),
    "no points to learn from": (lambda p: {**p, "points": [], "labels": []}, 422, "no points"),
    "too many points": (lambda p: {**p, "points": [[0.0, 0.0]] * (requests.MAX_POINTS + 1),
                                   "labels": [0] * (requests.MAX_POINTS + 1)}, 413, "5001 points"),
    "diverging steps": (lambda p: {**p, "lr": 900.0, "steps": 200, "penalty": "l2", "reg": 1.0}, 422, "diverged"),
    "hidden not an object": (lambda p: {**p, "hidden": [[1, 2]]}, 422, "hidden must be null or an object"),
    "unknown field of hidden": (lambda p: {**with_hidden(p), "hidden": {**with_hidden(p)["hidden"], "units": 5}},
                                422, "unknown field 'hidden.units'"),
    "no hidden weights": (lambda p: {**with_hidden(p), "hidden": {"b": [0.0]}}, 422, "hidden.W must be a list"),
    "too many hidden units": (lambda p: with_hidden(p, units=requests.MAX_HIDDEN_UNITS + 1), 422,
                              "hidden.W must be a list of 1 to 16 rows (one per hidden unit) of 2 numbers"),
    "hidden row of three": (lambda p: {**with_hidden(p), "hidden": {**with_hidden(p)["hidden"], "W": [[1, 2, 3]]}},
                            422, "hidden.W must be"),
    "hidden b of wrong length": (lambda p: {**with_hidden(p), "hidden": {**with_hidden(p)["hidden"], "b": [0.0]}},
                                 422, "hidden.b must be a list of 5 numbers, one per hidden unit"),
    "unknown activation": (lambda p: with_hidden(p, activation="sine"), 422,
                           "hidden.activation='sine' is not valid: expected one of 'relu'"),
    "W of two columns after a hidden layer": (lambda p: {**with_hidden(p), "W": p["W"]}, 422,
                                              "W must be a list of 2 to 10 rows (one per class) of 5 numbers "
                                              "(one per hidden unit)"),
    "diverging network": (lambda p: {**with_hidden(p), "lr": 900.0, "steps": 200}, 422, "diverged"),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_request_gets_a_clear_json_error(client, blobs, name):
    change, status, phrase = BAD_REQUESTS[name]
    answer = post(client, "/api/step", change(_valid(blobs)))
    assert answer.status_code == status
    assert phrase in answer.json()["error"] and "\n" not in answer.json()["error"]
    assert post(client, "/api/step", _valid(blobs)).status_code == 200  # the server carries on


@pytest.mark.parametrize("body, phrase", [
    (b'{"points": [[0, 1]', "malformed JSON"),
    (b'[1, 2, 3]', "must be a JSON object"),
    (b'{"points": [[NaN, 1]]}', "NaN is not a number JSON allows"),
    (b'{"W": [[Infinity, 0]]}', "Infinity is not a number JSON allows"),
    (b'\xff\xfe', "malformed JSON"),
    (b'[' * 100_000 + b']' * 100_000, "nested too deeply"),
])
def test_malformed_json_nan_and_infinity_are_refused(client, body, phrase):
    for path in ("/api/evaluate", "/api/step"):
        answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and phrase in answer.json()["error"]


def test_a_number_beyond_float64_is_refused(client, blobs):
    body = json.dumps({**_valid(blobs), "W": [[123.0, 0.0]] + blobs["W"][1:]}).replace("123.0", "1e400")
    answer = client.post("/api/step", content=body.encode(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and "W holds a number too large" in answer.json()["error"]
    plane = with_hidden(_valid(blobs))
    plane["hidden"]["W"][0][0] = 123.0
    body = json.dumps(plane).replace("123.0", "1e400")
    answer = client.post("/api/step", content=body.encode(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and "hidden.W holds a number too large" in answer.json()["error"]


def test_an_oversized_body_is_refused_before_it_is_parsed(client):
    answer = client.post("/api/evaluate", content=b" " * (requests.MAX_BODY_BYTES + 1),
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and "larger than" in answer.json()["error"]


def test_wrong_method_and_unknown_route_answer_json(client):
    assert client.get("/api/step").status_code == 405
    assert "error" in client.get("/api/step").json()
    assert client.get("/api/nothing").status_code == 404


# ------------------------------------------------------------------------------------------ serving


def test_the_server_listens_on_loopback_only():
    sock = bind_loopback(0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1" and sock.getsockname()[1] > 0
    finally:
        sock.close()


def test_a_busy_port_is_one_clear_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["playground", "--port", str(port), "--no-browser"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"127.0.0.1:{port}" in error and "--port 0" in error


def test_the_command_serves_the_page_and_opens_the_browser(monkeypatch, capsys):
    """``linclass playground --port 0`` prints its URL and opens it; Ctrl-C (here sent on opening) stops it."""
    opened = []

    def fake_open(url):
        import httpx

        opened.append((url, httpx.get(url).status_code))
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(webbrowser, "open", fake_open)
    code = main(["playground", "--port", "0"])
    url, status = opened[0]
    assert status == 200 and url.startswith("http://127.0.0.1:")
    assert url in capsys.readouterr().out
    assert code in (0, 130)


def test_a_busy_default_port_falls_back_to_a_free_one(monkeypatch, capsys):
    from linclass.cli import playground as command
    from linclass.playground import server

    served = []
    def fake_serve(sock, open_browser, announce):
        served.append(sock.getsockname())
        sock.close()

    monkeypatch.setattr(server, "serve", fake_serve)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(command, "DEFAULT_PORT", taken.getsockname()[1])
        assert main(["playground", "--no-browser"]) == 0
        assert served[0][0] == "127.0.0.1" and served[0][1] not in (0, taken.getsockname()[1])
    assert "busy; using a free port" in capsys.readouterr().err
