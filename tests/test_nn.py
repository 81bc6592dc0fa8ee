"""``lc.nn`` against ``torch.nn``: the same module API and printout, PyTorch's initialisation, every
module's gradients (PyTorch and finite differences), the functional losses, and a PyTorch user's MLP
script run with ``lc`` in place of ``torch``."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

import linclass as lc
from linclass import gradcheck


def mlp(m, sizes=(12, 7, 5), activation="ReLU"):
    layers = [m.nn.Flatten()]
    for i, (a, b) in enumerate(pairwise(sizes)):
        layers.append(m.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(getattr(m.nn, activation)())
    return m.nn.Sequential(*layers)


def copy_weights(source, target):
    """PyTorch's initial weights into an lc module (through load_state_dict, which is tested too)."""
    target.load_state_dict({name: value.detach().numpy() for name, value in source.state_dict().items()})


@pytest.mark.parametrize("activation", ["ReLU", "Tanh", "Sigmoid"])
def test_the_module_api_and_printout_are_torchs(torch, activation):
    ours, theirs = mlp(lc, activation=activation), mlp(torch, activation=activation)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [type(c).__name__ for c in ours.children()] == [type(c).__name__ for c in theirs.children()]
    assert [p.shape for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert not ours.eval().training and not ours[1].training and ours.train().training and ours[1].training


def test_a_custom_module_registers_what_it_is_given(torch):
    class Net(lc.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = lc.nn.Linear(4, 3)
            self.scale = lc.nn.Parameter(np.ones(3, np.float32))
            self.head = lc.nn.Sequential(lc.nn.ReLU(), lc.nn.Linear(3, 2, bias=False))
            self.not_a_parameter = lc.tensor(np.zeros(2))

        def forward(self, x):
            return self.head(self.fc1(x) * self.scale)

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc1.weight", "fc1.bias", "head.1.weight"]
    out = net(lc.tensor(np.ones((2, 4), np.float32)))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert "(fc1): Linear(in_features=4, out_features=3, bias=True)" in repr(net)


def test_load_state_dict_copies_in_place_and_refuses_what_does_not_fit():
    net, other = mlp(lc), mlp(lc)
    weight = net[1].weight
    net.load_state_dict(other.state_dict())
    assert net[1].weight is weight and np.array_equal(weight.data, other[1].weight.data) and weight.is_leaf
    with pytest.raises(RuntimeError, match="missing keys \\['3.bias'\\]"):
        net.load_state_dict({k: v for k, v in other.state_dict().items() if k != "3.bias"})
    with pytest.raises(RuntimeError, match="size mismatch for 1.weight"):
        net.load_state_dict({**other.state_dict(), "1.weight": np.zeros((2, 2))})


def test_linear_starts_as_pytorch_does_uniform_within_one_over_root_fan_in():
    lc.manual_seed(0)
    layer = lc.nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w = layer.weight.data
    assert w.shape == (300, 400) and layer.bias.shape == (300,) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.01 * bound and w.std() == pytest.approx(bound / np.sqrt(3), rel=0.01)
    lc.manual_seed(0)
    assert np.array_equal(lc.nn.Linear(400, 300).weight.data, w)


@pytest.mark.parametrize("activation", ["ReLU", "Tanh", "Sigmoid"])
def test_every_modules_gradients_agree_with_torch_and_finite_differences(torch, activation):
    theirs = mlp(torch, activation=activation).double()
    ours = mlp(lc, activation=activation).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 3, 4))
    ours(lc.tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    names = [name for name, _ in ours.named_parameters()]

    def network_of(*weights):
        state = dict(zip(names, weights, strict=True))
        h = lc.tensor(x).reshape(6, 12)
        for i in (1, 3):
            h = lc.nn.functional.linear(h, state[f"{i}.weight"], state[f"{i}.bias"])
            if i == 1:
                h = getattr(lc.nn, activation)()(h)
        return h.sum()

    report = gradcheck.check(network_of, *[p.data for p in ours.parameters()], names=names)
    assert report.passed, str(report)


@pytest.mark.parametrize("loss, p, margin", [("cross_entropy", None, None), ("multi_margin_loss", 1, 1.0),
                                             ("multi_margin_loss", 2, 1.0), ("multi_margin_loss", 1, 0.5)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_functional_losses_agree_with_torch(torch, loss, p, margin, reduction):
    rng = np.random.default_rng(3)
    scores, labels = rng.standard_normal((8, 5)), rng.integers(0, 5, 8)
    options = {} if p is None else {"p": p, "margin": margin}
    s, t = lc.tensor(scores, requires_grad=True), torch.tensor(scores, requires_grad=True)
    ours = getattr(lc.nn.functional, loss)(s, lc.tensor(labels), reduction=reduction, **options)
    theirs = getattr(torch.nn.functional, loss)(t, torch.tensor(labels), reduction=reduction, **options)
    ours.backward()
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    np.testing.assert_allclose(s.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-14)


def train_script(m, model, X, y, batches):
    """A PyTorch user's training loop, written once; ``m`` is ``torch`` or ``lc``."""
    opt = m.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for batch in batches:
        opt.zero_grad()
        loss = m.nn.functional.cross_entropy(model(m.tensor(X[batch])), m.tensor(y[batch]))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


def make_model(m):
    return m.nn.Sequential(m.nn.Linear(64, 32), m.nn.ReLU(), m.nn.Linear(32, 10))


def test_a_torch_users_mlp_script_runs_with_lc_in_place_of_torch(torch_float32):
    """The same script with each module as ``m``, from the same initial weights and batches, in float32."""
    data = lc.datasets.load("digits")
    X = (data.X_train.reshape(len(data.X_train), -1) / 255.0).astype(np.float32)
    rng = np.random.default_rng(0)
    batches = [rng.choice(len(X), 32, replace=False) for _ in range(100)]
    torch_float32.manual_seed(0)
    reference, ours = make_model(torch_float32), make_model(lc)
    copy_weights(reference, ours)
    theirs_losses = train_script(torch_float32, reference, X, data.y_train, batches)
    our_losses = train_script(lc, ours, X, data.y_train, batches)
    np.testing.assert_allclose(our_losses, theirs_losses, atol=1e-5)
    assert our_losses[-10:].mean() < 0.5 * our_losses[0]  # and it learned


def test_the_readmes_torch_style_loop_prints_the_accuracy_it_claims(capsys):
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Your own loop on the engine")[1].split("\n## ")[0]
    code = section.split("```python")[2].split("```")[0]
    claimed = code.strip().splitlines()[-1].split("# ")[-1]
    exec(compile(code, "README.md", "exec"), {})
    assert f"{float(capsys.readouterr().out):.3f}" == claimed


def test_micrograds_demo_a_16_16_mlp_separates_two_moons_with_the_max_margin_loss():
    """micrograd's demo on the engine: 100 points of two moons, labels ±1, an MLP 2→16→16→1 with ReLU,
    the hinge ``relu(1 - y·score)`` plus 1e-4 ΣW², full-batch SGD with a learning rate falling from
    1.0 to 0.1; every point ends on the right side, and the graph can be drawn. (micrograd's 100 steps
    start from weights uniform in ±1; PyTorch's smaller start takes 200.)"""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    X, y = lc.tensor(X, dtype=np.float32), lc.tensor(y * 2 - 1, dtype=np.float32)
    lc.manual_seed(1337)
    model = lc.nn.Sequential(lc.nn.Linear(2, 16), lc.nn.ReLU(), lc.nn.Linear(16, 16), lc.nn.ReLU(),
                             lc.nn.Linear(16, 1))
    for k in range(200):
        scores = model(X).reshape(-1)
        data_loss = (1 - y * scores).relu().mean()
        loss = data_loss + 1e-4 * sum((p * p).sum() for p in model.parameters())
        model.zero_grad()
        loss.backward()
        with lc.no_grad():
            for p in model.parameters():
                p -= (1.0 - 0.9 * k / 200) * p.grad
    accuracy = ((model(X).reshape(-1).data > 0) == (y.data > 0)).mean()
    assert accuracy == 1.0
    dot = lc.graph.to_dot(loss, names=dict(model.named_parameters()))
    assert dot.count("MmBackward0") == 3 and "1.weight" not in dot and "0.weight\\nvalue shape 16×2" in dot
