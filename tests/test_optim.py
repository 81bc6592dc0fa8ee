"""Optimizers and schedules: the same parameters and learning rates as torch.optim, step by step."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import linclass as lc
from linclass import optim

EXAMPLES = settings(derandomize=True, max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # ``torch`` only sets a dtype
STEPS = 25
LATE_START = 10  # the third parameter has no gradient before this step


def problem(seed: int = 0):
    """A least-squares fit ``mean((X Wᵀ + b - T)²)`` plus ``Σc²`` on a parameter that joins late."""
    rng = np.random.default_rng(seed)
    X, T = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    return X, T, [rng.standard_normal((2, 3)), rng.standard_normal(2), rng.standard_normal(4)]


def objective(X, T, params, step: int):
    W, b, c = params
    loss = ((X @ W.T + b - T) ** 2).mean()
    return loss + (c * c).sum() if step >= LATE_START else loss


def train_linclass(make, lr_schedule=None, seed: int = 0) -> tuple[list[np.ndarray], list[float]]:
    X, T, initial = problem(seed)
    params = [lc.tensor(p, requires_grad=True) for p in initial]
    optimizer = make(params)
    schedule = lr_schedule(optimizer) if lr_schedule else None
    rates = []
    for step in range(STEPS):
        optimizer.zero_grad()
        objective(lc.tensor(X), lc.tensor(T), params, step).backward()
        optimizer.step()
        if schedule:
            schedule.step()
        rates.append(optimizer.lr)
    return [p.data for p in params], rates


def train_torch(torch, make, lr_schedule=None, seed: int = 0) -> tuple[list[np.ndarray], list[float]]:
    X, T, initial = problem(seed)
    params = [torch.tensor(p, requires_grad=True) for p in initial]
    optimizer = make(params)
    schedule = lr_schedule(optimizer) if lr_schedule else None
    rates = []
    for step in range(STEPS):
        optimizer.zero_grad()
        objective(torch.tensor(X), torch.tensor(T), params, step).backward()
        optimizer.step()
        if schedule:
            schedule.step()
        rates.append(optimizer.param_groups[0]["lr"])
    return [p.detach().numpy() for p in params], rates


def assert_same_parameters(ours: list[np.ndarray], theirs: list[np.ndarray]) -> None:
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, ours, theirs", [
    ("sgd", lambda p: optim.SGD(p, lr=0.05), lambda t, p: t.optim.SGD(p, lr=0.05)),
    ("momentum", lambda p: optim.SGD(p, lr=0.05, momentum=0.9), lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9)),
    ("nesterov", lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
     lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    ("adam", lambda p: optim.Adam(p, lr=0.1), lambda t, p: t.optim.Adam(p, lr=0.1)),
    ("sgd weight decay", lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.1),
     lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.1)),
    ("adam weight decay", lambda p: optim.Adam(p, lr=0.1, weight_decay=0.1),
     lambda t, p: t.optim.Adam(p, lr=0.1, weight_decay=0.1)),
])
def test_optimizers_take_the_same_steps_as_torch_optim(torch, name, ours, theirs):
    assert_same_parameters(train_linclass(ours)[0], train_torch(torch, lambda p: theirs(torch, p))[0])


@EXAMPLES
@given(lr=st.floats(1e-3, 0.1), momentum=st.floats(0.0, 0.99), nesterov=st.booleans(), seed=st.integers(0, 1000))
def test_sgd_matches_torch_for_any_lr_and_momentum(torch, lr, momentum, nesterov, seed):
    nesterov = nesterov and momentum > 0
    ours = train_linclass(lambda p: optim.SGD(p, lr, momentum=momentum, nesterov=nesterov), seed=seed)[0]
    theirs = train_torch(torch, lambda p: torch.optim.SGD(p, lr, momentum=momentum, nesterov=nesterov), seed=seed)[0]
    assert_same_parameters(ours, theirs)


# With β1 near 0 Adam steps like sign(g), and on this problem its path becomes chaotic after ~15 steps:
# the last-bit differences of any two correct implementations then grow fivefold a step.
@EXAMPLES
@given(lr=st.floats(1e-3, 0.3), beta1=st.floats(0.5, 0.99), beta2=st.floats(0.9, 0.9999),
       eps=st.sampled_from([1e-8, 1e-3]), seed=st.integers(0, 1000))
def test_adam_matches_torch_for_any_betas(torch, lr, beta1, beta2, eps, seed):
    ours = train_linclass(lambda p: optim.Adam(p, lr, betas=(beta1, beta2), eps=eps), seed=seed)[0]
    theirs = train_torch(torch, lambda p: torch.optim.Adam(p, lr, betas=(beta1, beta2), eps=eps), seed=seed)[0]
    assert_same_parameters(ours, theirs)


def test_a_parameter_without_gradient_is_left_alone():
    params = [lc.tensor([1.0, 2.0], requires_grad=True, dtype=np.float64) for _ in range(2)]
    for optimizer in (optim.SGD(params, 0.1, momentum=0.9), optim.Adam(params, 0.1)):
        params[0].grad = lc.tensor([1.0, 1.0], dtype=np.float64)
        params[1].grad = None
        optimizer.step()
        assert params[1].data.tolist() == [1.0, 2.0] and params[0].data.tolist() != [1.0, 2.0]


def buffer_ids(optimizer: optim.Optimizer) -> list[int]:
    """The identities of every array an optimizer keeps between steps."""
    arrays = optimizer._scratch + [b for name in ("velocities", "first_moments", "second_moments")
                                   for b in getattr(optimizer, name, [])]
    return [id(array) for array in arrays]


def test_steps_update_in_place_and_reuse_their_buffers():
    w = lc.tensor(np.ones(3), requires_grad=True)
    data = w.data
    for optimizer in (optim.SGD([w], 0.1, momentum=0.9, nesterov=True), optim.Adam([w], 0.1)):
        buffers = buffer_ids(optimizer)
        for _ in range(3):
            w.grad = lc.tensor(np.full(3, 0.5))
            optimizer.step()
        assert w.data is data and buffer_ids(optimizer) == buffers


@pytest.mark.parametrize("name", optim.OPTIMIZERS)
def test_a_step_allocates_no_new_arrays(name):
    w = lc.tensor(np.zeros((10, 1000)), requires_grad=True)
    w.grad = lc.tensor(np.ones((10, 1000)))
    optimizer = optim.make_optimizer(name, [w], lr=0.1)
    optimizer.step()
    tracemalloc.start()
    try:
        optimizer.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < w.data.nbytes // 100  # a few Python objects, no array of the parameter's size


def test_float32_parameters_stay_float32():
    w = lc.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for optimizer in (optim.SGD([w], 0.1, momentum=0.9), optim.Adam([w], 0.1)):
        w.grad = lc.tensor(np.full(3, 0.5, dtype=np.float32))
        optimizer.step()
        assert w.data.dtype == np.float32


def test_zero_grad_sets_none_or_zeros_in_place():
    w = lc.tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    grad = w.grad
    optimizer.zero_grad(set_to_none=False)
    assert w.grad is grad and w.grad.data.tolist() == [0.0, 0.0]
    optimizer.zero_grad()
    assert w.grad is None


def test_make_optimizer_builds_what_each_name_means():
    w = [lc.tensor([1.0], requires_grad=True)]
    sgd, momentum, nesterov, adam = (optim.make_optimizer(name, w, lr=0.5, momentum=0.8) for name in optim.OPTIMIZERS)
    assert type(sgd) is optim.SGD and sgd.momentum == 0 and sgd.lr == 0.5
    assert type(momentum) is optim.SGD and momentum.momentum == 0.8 and not momentum.nesterov
    assert type(nesterov) is optim.SGD and nesterov.momentum == 0.8 and nesterov.nesterov
    assert type(adam) is optim.Adam and adam.lr == 0.5 and adam.betas == (0.9, 0.999)


# -- schedules ---------------------------------------------------------------------------------------------


SCHEDULES = [
    ("constant", {}, "ConstantLR", {"factor": 1.0, "total_iters": 0}),
    ("step", {"step_size": 3, "gamma": 0.5}, "StepLR", {"step_size": 3, "gamma": 0.5}),
    ("exponential", {"gamma": 0.9}, "ExponentialLR", {"gamma": 0.9}),
    ("cosine", {"T_max": 7}, "CosineAnnealingLR", {"T_max": 7}),
    ("cosine", {"T_max": 10, "eta_min": 0.01}, "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}),
]


@pytest.mark.parametrize("name, kwargs, torch_name, torch_kwargs", SCHEDULES)
def test_schedules_set_the_learning_rates_of_torch_lr_scheduler(torch, name, kwargs, torch_name, torch_kwargs):
    optimizer = optim.SGD([lc.tensor([1.0], requires_grad=True)], lr=0.2)
    schedule = optim.make_schedule(name, optimizer, **kwargs)
    torch_optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
    torch_schedule = getattr(torch.optim.lr_scheduler, torch_name)(torch_optimizer, **torch_kwargs)
    for _ in range(30):  # past T_max, where the cosine rises again
        assert optimizer.lr == pytest.approx(torch_schedule.get_last_lr()[0], rel=1e-12, abs=1e-15)
        assert schedule.get_last_lr() == [optimizer.lr]
        torch_optimizer.step()
        schedule.step()
        torch_schedule.step()


def test_constant_lr_class_keeps_pytorchs_warm_up_factor(torch):
    optimizer = optim.SGD([lc.tensor([1.0], requires_grad=True)], lr=0.3)
    schedule = optim.ConstantLR(optimizer)
    torch_optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    torch_schedule = torch.optim.lr_scheduler.ConstantLR(torch_optimizer)
    for _ in range(8):
        assert optimizer.lr == pytest.approx(torch_schedule.get_last_lr()[0], rel=1e-12)
        torch_optimizer.step()
        schedule.step()
        torch_schedule.step()


def test_adam_under_a_cosine_schedule_matches_torch(torch):
    ours = train_linclass(lambda p: optim.Adam(p, lr=0.1), lambda o: optim.CosineAnnealingLR(o, T_max=10))
    theirs = train_torch(torch, lambda p: torch.optim.Adam(p, lr=0.1),
                         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10))
    assert_same_parameters(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12, atol=1e-15)


# -- argument checks -----------------------------------------------------------------------------------------

W = [lc.tensor([1.0], requires_grad=True)]


@pytest.mark.parametrize("call, message", [
    (lambda: optim.SGD(W, lr=0), "lr=0 is not valid: expected a number > 0"),
    (lambda: optim.SGD(W, lr=-0.1), r"lr=-0\.1 is not valid: expected a number > 0"),
    (lambda: optim.Adam(W, lr=float("nan")), "lr=nan is not valid: expected a number > 0"),
    (lambda: optim.SGD(W, lr=0.1, momentum=1.0), r"momentum=1\.0 is not valid: expected a number in \[0, 1\)"),
    (lambda: optim.SGD(W, lr=0.1, momentum=-0.5), r"momentum=-0\.5 is not valid: expected a number in \[0, 1\)"),
    (lambda: optim.SGD(W, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda: optim.Adam(W, betas=(0.9, 1.0)), r"betas\[1\]=1\.0 is not valid: expected a number in \[0, 1\)"),
    (lambda: optim.Adam(W, eps=-1e-8), "eps=-1e-08 is not valid: expected a number >= 0"),
    (lambda: optim.SGD(W, lr=0.1, weight_decay=-0.1), r"weight_decay=-0\.1 is not valid: expected a number >= 0"),
    (lambda: optim.Adam(W, weight_decay=-0.1), r"weight_decay=-0\.1 is not valid: expected a number >= 0"),
    (lambda: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda: optim.make_optimizer("rmsprop", W, lr=0.1), "optimizer=.rmsprop. is not valid: expected one of .sgd."),
    (lambda: optim.make_schedule("linear", optim.SGD(W, 0.1)), "lr_schedule=.linear. is not valid"),
    (lambda: optim.make_schedule("step", optim.SGD(W, 0.1)), "'step' schedule.*step_size"),
    (lambda: optim.make_schedule("cosine", optim.SGD(W, 0.1), T_max=5, gamma=0.1), "'cosine' schedule.*gamma"),
    (lambda: optim.make_schedule("constant", optim.SGD(W, 0.1), gamma=0.1), "takes no arguments, got gamma"),
    (lambda: optim.StepLR(optim.SGD(W, 0.1), step_size=0), "step_size=0 is not valid: expected an integer >= 1"),
    (lambda: optim.ExponentialLR(optim.SGD(W, 0.1), gamma=0), "gamma=0 is not valid: expected a number > 0"),
    (lambda: optim.CosineAnnealingLR(optim.SGD(W, 0.1), T_max=2.5),
     r"T_max=2\.5 is not valid: expected an integer >= 1"),
    (lambda: optim.ConstantLR(optim.SGD(W, 0.1), factor=2.0),
     r"factor=2\.0 is not valid: expected a number in \[0, 1\]"),
])
def test_bad_arguments_are_refused_with_one_line(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def test_parameters_must_be_float_tensors():
    with pytest.raises(TypeError, match="float Tensors, got a int64 Tensor"):
        optim.SGD([lc.tensor([1, 2])], lr=0.1)


# -- the lecture's loop, and a PyTorch user's loop, written by hand on the engine ---------------------


def scaled(images):
    """Digits as rows of floats centred on 0 (the set stores 0-255)."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0 - 0.5


def digits_split():
    data = lc.datasets.load("digits")
    return scaled(data.X_train), data.y_train, scaled(data.X_test), data.y_test


def test_the_slides_while_loop_runs_as_written_and_learns_digits():
    """Vanilla minibatch gradient descent as the slide writes it, with the engine's ops for the loss."""
    X, y, X_test, y_test = digits_split()
    rng = np.random.default_rng(0)
    weights = lc.tensor(0.001 * rng.standard_normal((X.shape[1], 10)).astype(np.float32), requires_grad=True)
    step_size, reg = 0.5, 1e-4
    for _ in range(600):  # while True, in the slide
        batch = rng.choice(len(X), 256, replace=False)  # sample 256 examples
        data_batch, labels = lc.tensor(X[batch]), lc.tensor(y[batch])
        scores = data_batch @ weights
        loss = (scores.logsumexp(dim=1) - scores[lc.arange(256), labels]).mean() + reg * (weights * weights).sum()
        loss.backward()
        weights_grad = weights.grad
        with lc.no_grad():
            weights += - step_size * weights_grad  # perform parameter update
        weights.grad.zero_()
    assert weights.is_leaf and weights.requires_grad
    accuracy = np.mean((X_test @ weights.data).argmax(axis=1) == y_test)
    assert accuracy >= 0.95


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_a_torch_style_loop_agrees_with_pytorch_after_100_steps(torch, momentum, nesterov):
    X, y, _, _ = digits_split()
    rng = np.random.default_rng(1)
    W0, b0 = 0.01 * rng.standard_normal((10, X.shape[1])), np.zeros(10)
    batches = [rng.choice(len(X), 64, replace=False) for _ in range(100)]

    def run(m, optim_module, cross_entropy):
        W, b = m.tensor(W0, requires_grad=True), m.tensor(b0, requires_grad=True)
        opt = optim_module.SGD([W, b], 0.1, momentum=momentum, nesterov=nesterov)
        losses = []
        for batch in batches:
            opt.zero_grad()
            scores = m.tensor(X[batch].astype(np.float64)) @ W.T + b
            loss = cross_entropy(m, scores, y[batch])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return np.array(losses), np.asarray(W.detach()), np.asarray(b.detach())

    def ours_loss(m, scores, labels):
        return -m.log_softmax(scores, dim=1)[m.arange(len(labels)), m.tensor(labels)].mean()

    def torch_loss(m, scores, labels):
        return m.nn.functional.cross_entropy(scores, m.tensor(labels))

    ours, theirs = run(lc, lc.optim, ours_loss), run(torch, torch.optim, torch_loss)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-6, atol=1e-6)
    assert ours[0][-10:].mean() < 0.6 * ours[0][0]  # and it learned


def test_an_optimizer_step_raises_the_parameters_version():
    w = lc.tensor(np.ones(3), requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    optim.SGD([w], 0.1).step()
    assert w._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()  # the saved w has changed, as in PyTorch


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, 0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
                                  lambda p: optim.Adam(p, 0.05, betas=(0.8, 0.99), weight_decay=0.01)])
def test_a_state_dict_resumes_the_same_steps(make):
    """Stepping 20 times equals stepping 10, saving the state, loading it into a new optimizer and
    stepping 10 more: the buffers (momentum, Adam's moments and step count) come back whole."""
    X, T, initial = problem(0)

    def steps(optimizer, params, start, stop):
        for step in range(start, stop):
            optimizer.zero_grad()
            objective(lc.tensor(X), lc.tensor(T), params, step).backward()
            optimizer.step()

    straight = [lc.tensor(p, requires_grad=True) for p in initial]
    steps(make(straight), straight, 0, 20)
    resumed = [lc.tensor(p, requires_grad=True) for p in initial]
    first = make(resumed)
    steps(first, resumed, 0, 10)
    state = first.state_dict()
    second = make([lc.tensor(p.data.copy(), requires_grad=True) for p in resumed])
    second.load_state_dict(state)
    steps(second, second.params, 10, 20)
    for a, b in zip(straight, second.params, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_a_state_dict_has_torchs_layout_and_refuses_a_foreign_state(torch):
    w = [lc.tensor(np.ones(3), requires_grad=True)]
    ours = optim.Adam(w, 0.1)
    ours.params[0].grad = lc.tensor(np.ones(3))
    ours.step()
    theirs = torch.optim.Adam([torch.ones(3, requires_grad=True)], 0.1)
    theirs.param_groups[0]["params"][0].grad = torch.ones(3)
    theirs.step()
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert set(mine["state"][0]) == set(reference["state"][0])
    assert mine["param_groups"][0]["params"] == reference["param_groups"][0]["params"] == [0]
    np.testing.assert_allclose(mine["state"][0]["exp_avg_sq"], reference["state"][0]["exp_avg_sq"].numpy())
    with pytest.raises(ValueError, match="another optimizer"):
        optim.SGD(w, 0.1, momentum=0.9).load_state_dict(mine)
    with pytest.raises(ValueError, match="for 1 parameters, this optimizer has 2"):
        optim.Adam(w + [lc.tensor(np.ones(2), requires_grad=True)], 0.1).load_state_dict(mine)
