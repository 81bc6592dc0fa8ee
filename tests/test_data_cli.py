"""``linclass datasets``, run as a user runs it: in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from test_data_idx import write_idx_set


def linclass(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linclass.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture
def env(tmp_path, rng):
    """$LINCLASS_DATA holding a small MNIST, and an empty home."""
    write_idx_set(tmp_path / "data" / "mnist", rng, n_train=30, n_test=10)
    return {**os.environ, "LINCLASS_DATA": str(tmp_path / "data"), "HOME": str(tmp_path / "home")}


def test_lists_every_known_set_with_where_it_is_or_how_to_get_it(env, tmp_path):
    result = linclass("datasets", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    status = {line.split()[0]: line for line in lines if line and not line.startswith(" ")}
    assert list(status)[:5] == ["digits", "fashion-mnist", "mnist", "cifar10", "cifar100"]
    assert "built in" in status["digits"]
    assert f"found in {tmp_path / 'data' / 'mnist'}" in status["mnist"]
    assert "not found; to get it: unpack https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in status["cifar10"]
    assert "found in" in status["fashion-mnist"] or "apt-get install dataset-fashion-mnist" in status["fashion-mnist"]
    order = f"search order: {tmp_path / 'data'}, {tmp_path / 'home/.cache/linclass'}, /usr/share/datasets"
    assert order in result.stdout


def test_json_lists_the_same(env, tmp_path):
    result = linclass("datasets", "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    found = {entry["name"]: entry["found"] for entry in summary["datasets"]}
    assert found["mnist"] == str(tmp_path / "data" / "mnist") and found["cifar100"] is None
    assert found["digits"] == "built in" and summary["search_order"][0] == str(tmp_path / "data")


def test_summarizes_one_set_found_under_root(env, tmp_path):
    env = {**env, "LINCLASS_DATA": ""}
    result = linclass("datasets", "mnist", "--root", str(tmp_path / "data"), "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["train"], summary["test"], summary["image_shape"]) == (30, 10, [28, 28])
    assert summary["classes"] == [str(k) for k in range(10)] and sum(summary["train_per_class"]) == 30
    text = linclass("datasets", "mnist", "--root", str(tmp_path / "data"), env=env).stdout
    assert text.startswith(f"mnist from {tmp_path / 'data' / 'mnist'}") and "training: 30 examples 28×28 uint8" in text


def test_a_missing_set_is_one_line_on_stderr(env):
    result = linclass("datasets", "cifar100", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linclass datasets: error: cifar100 not found; looked in ")
    assert "cifar-100-python.tar.gz" in lines[0]
