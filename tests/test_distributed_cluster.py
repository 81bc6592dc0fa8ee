"""Training on a Dask cluster (linclass.distributed.cluster), on a LocalCluster of 2 worker processes.

The references are one-process fits: gradient averaging with one step per synchronization is one step on
the batch of all workers; with SGD or momentum, averaging the parameters (and the optimizer's state)
after every step is the same update; on Fashion-MNIST, averaging the parameters once an epoch lands
where one process does.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import need_fashion_mnist, need_module

import linclass as lc
from linclass.cli import main
from linclass.cli.run_folder import load_model
from linclass.distributed import cluster
from linclass.distributed.cluster import ClusterTrainer, parse_cluster, worker_addresses


@pytest.fixture(scope="module")
def client():
    distributed = need_module("distributed")
    need_module("dask.array")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as local, distributed.Client(local) as client:
        yield client


def blobs(n=2000, d=20, k=4, chunk=1000, seed=0):
    """Dask arrays made on the workers (never sent from here): Gaussian features, labels from a linear rule."""
    import dask.array as da

    X = da.random.default_rng(seed).standard_normal((n, d), chunks=(chunk, d), dtype=np.float32)
    rule = np.random.default_rng(seed + 1).standard_normal((d, k)).astype(np.float32)
    y = X.map_blocks(lambda block, rule=rule: (block @ rule).argmax(axis=1), drop_axis=1, dtype=np.int64)
    return X, y


def test_the_workers_are_asked_of_the_scheduler_not_read_from_the_clients_cache(client, monkeypatch):
    # The client refreshes its cached scheduler_info() in the background without the workers; a fit that
    # read the cache after such a refresh found "no workers to train on".
    monkeypatch.setattr(client, "_scheduler_identity", {**client._scheduler_identity, "workers": {}})
    assert len(worker_addresses(client)) == 2 and worker_addresses(client) == sorted(worker_addresses(client))


def test_gradient_averaging_with_one_step_per_sync_equals_one_process_on_the_same_batch(client):
    # Each worker holds one chunk of 1000 rows and steps on all of it: the synchronized step is one step on
    # the 2000 rows, which one process takes with batch_size=2000.
    X, y = blobs()
    settings = dict(optimizer="momentum", lr=0.1, reg=1e-3, epochs=4)
    on_cluster = lc.LinearClassifier(batch_size=1000, sync_every=1, averaging="gradients", **settings).fit(X, y)
    one = lc.LinearClassifier(batch_size=2000, **settings).fit(X.compute(), y.compute())
    np.testing.assert_allclose(on_cluster.W_, one.W_, atol=1e-5)
    np.testing.assert_allclose(on_cluster.b_, one.b_, atol=1e-5)
    np.testing.assert_allclose(on_cluster.history_["loss"], one.history_["loss"], rtol=1e-5)
    assert len(on_cluster.history_["loss"]) == 4


def test_parameter_averaging_after_every_step_is_gradient_averaging_for_momentum(client):
    # The momentum update is linear in the gradient, so averaging the workers' weights and velocities after
    # one step each gives the step of the averaged gradient; restarting the velocities would not.
    X, y = blobs()
    settings = dict(optimizer="momentum", lr=0.05, batch_size=100, epochs=2, sync_every=1)
    gradients = lc.LinearClassifier(averaging="gradients", **settings).fit(X, y)
    parameters = lc.LinearClassifier(averaging="parameters", **settings).fit(X, y)
    np.testing.assert_allclose(parameters.W_, gradients.W_, atol=1e-5)
    np.testing.assert_allclose(parameters.history_["loss"], gradients.history_["loss"], rtol=1e-4)
    velocity = parameters._trainer.optimizer.state_dict()["state"][0]["momentum_buffer"]
    assert np.abs(velocity).max() > 0


def test_local_sgd_keeps_one_optimizer_state_that_a_warm_start_continues(client):
    X, y = blobs()
    clf = lc.LinearClassifier(optimizer="adam", lr=0.01, batch_size=100, epochs=2, averaging="parameters",
                              sync_every=5).fit(X, y)
    state = clf._trainer.optimizer.state_dict()["state"][0]
    assert state["step"] == 20  # each worker's 10 local steps an epoch (1000 rows), 5 at a time, for 2 epochs
    first = clf.score(X.compute(), y.compute())
    assert first > 0.8
    clf.set_params(warm_start=True, epochs=3).fit(X, y)
    assert clf.score(X.compute(), y.compute()) > first
    assert len(clf.history_["epochs"]) == 3
    assert clf._trainer.optimizer.state_dict()["state"][0]["step"] == 30


def test_parameter_averaging_on_fashion_mnist_lands_within_0_3_points_of_one_process(client):
    need_fashion_mnist()
    from linclass.cli.cluster_rows import training_arrays
    from linclass.cli.common import training_defaults
    from linclass.cli.pipeline import prepare_data

    options = {**training_defaults(), "data": "fashion-mnist"}
    prepared = prepare_data(options)
    test = prepared.test_split()
    one = lc.LinearClassifier(epochs=5, lr=0.01).fit(prepared.train.features, prepared.train.labels)
    X, y = training_arrays(options, prepared, client)  # the workers load and preprocess their rows
    # Weights averaged once an epoch; the rate scaled by the 2 workers, as each epoch takes half the steps.
    mixed = lc.LinearClassifier(epochs=5, lr=0.02, averaging="parameters", sync_every=1000).fit(X, y)
    assert abs(mixed.score(test.features, test.labels) - one.score(test.features, test.labels)) <= 0.003


def test_a_worker_killed_in_the_middle_of_a_fit_leaves_the_fit_to_go_on(client):
    X, y = blobs(n=4000, chunk=1000)
    pids = client.run(os.getpid)
    killed = []

    def kill_after_the_first_epoch(clf, record):
        if record["epoch"] == 1:
            address = sorted(pids)[0]
            os.kill(pids[address], signal.SIGKILL)  # its chunks are lost with it
            killed.append(address)

    clf = lc.LinearClassifier(lr=0.05, batch_size=100, epochs=4, averaging="parameters", sync_every=5,
                              on_epoch_end=kill_after_the_first_epoch).fit(X, y)
    assert killed and len(clf.history_["epochs"]) == 4
    assert clf.history_["epochs"][-1]["train_accuracy"] > 0.9
    client.wait_for_workers(2, timeout=30)  # the nanny starts a new one


def test_settings_a_cluster_does_not_run_are_refused_in_one_line(client):
    X, y = blobs()
    for settings, words in ((dict(solver="autograd"), "solver='autograd' trains in one process"),
                            (dict(sampling="replacement"), "use sampling='shuffle'"),
                            (dict(early_stopping=True), "needs a validation set")):
        with pytest.raises(ValueError, match=words):
            lc.LinearClassifier(**settings).fit(X, y)
    with pytest.raises(TypeError, match="MLPClassifier trains in one process"):
        lc.MLPClassifier().fit(X, y)
    with pytest.raises(ValueError, match="sync_every=0 is not valid"):
        lc.LinearClassifier(sync_every=0).fit(X, y)


def test_a_cluster_is_local_n_or_a_scheduler_address():
    assert parse_cluster("local:2") == "local:2"
    assert parse_cluster("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    for text in ("local:0", "local", "8786", "tcp://"):
        with pytest.raises(ValueError, match="expected local:N"):
            parse_cluster(text)


def test_linclass_train_joins_a_running_scheduler_and_checkpoints_on_the_client(client, tmp_path):
    run_dir = tmp_path / "run"
    address = client.scheduler.address
    assert main(["train", "--cluster", address, "--averaging", "parameters", "--sync-every", "4", "--epochs", "2",
                 "--json", "--quiet", "--out", str(run_dir)]) == 0
    model = load_model(run_dir / "model.linclass")
    assert len(model.history_["epochs"]) == 2 and model.get_params()["averaging"] == "parameters"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["cluster"] == address and config["sync_every"] == 4


def test_a_cluster_that_gives_up_ends_the_run_in_one_line_with_a_checkpoint_to_resume(client, tmp_path,
                                                                                       monkeypatch, capsys):
    import distributed

    run_dir, address = tmp_path / "run", client.scheduler.address
    run_round = ClusterTrainer._run_round

    def dying(self, round_, task, *arguments):
        if len(self.history["epochs"]) == 1:
            raise distributed.KilledWorker("_local_steps-1234", SimpleNamespace(address="tcp://127.0.0.1:1"), 3)
        return run_round(self, round_, task, *arguments)

    monkeypatch.setattr(ClusterTrainer, "_run_round", dying)
    assert main(["train", "--cluster", address, "--averaging", "parameters", "--epochs", "3", "--quiet",
                 "--out", str(run_dir)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "KilledWorker" in error and f"linclass train --resume {run_dir}" in error
    assert len(load_model(run_dir / "model.linclass").history_["epochs"]) == 1
    monkeypatch.setattr(ClusterTrainer, "_run_round", run_round)
    assert main(["train", "--resume", str(run_dir), "--cluster", address, "--quiet", "--json"]) == 0
    assert len(load_model(run_dir / "model.linclass").history_["epochs"]) == 3


def test_import_linclass_and_one_process_training_stay_numpy_only():
    import subprocess
    import sys

    code = ("import sys, numpy as np, linclass as lc; lc.LinearClassifier(epochs=1).fit(np.eye(4), [0, 1, 0, 1]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == "[]"
    assert cluster.is_dask_array(np.eye(2)) is False


def test_linclass_train_refuses_a_bad_cluster_and_cluster_options_for_a_network_in_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--cluster", "nowhere"])
    assert stop.value.code == 2 and "expected local:N" in capsys.readouterr().err
    assert main(["train", "--model", "mlp", "--sync-every", "5"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith("--sync-every applies to --model linear only: a network trains in one process")
