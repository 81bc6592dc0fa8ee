"""``linclass gradcheck`` and ``linclass graph``, run as a user runs them: in a subprocess."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from linclass import gradcheck
from linclass.cli.gradcheck import classifier_cases
from linclass.cli import main
from linclass.tensor import record
from conftest import need_program


def linclass(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linclass.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linclass graph: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_gradcheck_prints_a_table_of_every_operation_loss_and_penalty():
    result = linclass("gradcheck")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["operation", "forward", "centered", "status"]
    assert "loss or penalty  " in result.stdout
    rows = {}
    for line in lines[1:]:
        if line.endswith((" ok", " FAIL")):
            name, forward, centered, status = line.rsplit(maxsplit=3)
            rows[name] = (forward, centered, status)
    assert set(rows) == set(gradcheck.engine_cases()) | set(classifier_cases())
    assert {"svm loss (fused)", "svm loss (composed)", "softmax loss (composed)", "l1 penalty"} <= set(rows)
    assert all(status == "ok" and float(centered) < 1e-7 and float(forward) < 1e-4
               for forward, centered, status in rows.values())
    assert f"all {len(rows)} checks passed" in result.stdout


def test_gradcheck_json_with_a_seed():
    result = linclass("gradcheck", "--json", "--seed", "3")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["passed"] is True and summary["seed"] == 3
    assert [row["op"] for row in summary["ops"]] == list(gradcheck.engine_cases())
    assert [row["op"] for row in summary["losses"]] == list(classifier_cases())
    assert max(row["centered"] for row in summary["ops"]) < summary["thresholds"]["centered"]


def test_gradcheck_exits_1_when_an_operation_is_wrong(monkeypatch, capsys):
    def wrong_square(x):
        return record(x.data ** 2, (x,), lambda g, needs: (g * x.data,), "WrongSquareBackward0")

    cases = {"wrong square": (wrong_square, [np.array([1.0, 2.0])])}
    monkeypatch.setattr(gradcheck, "engine_cases", lambda seed=0: cases)
    assert main(["gradcheck"]) == 1
    output = capsys.readouterr().out
    assert "FAIL" in output and "FAILED: wrong square" in output


def test_graph_draws_the_lecture_example_by_default(tmp_path):
    result = linclass("graph", cwd=tmp_path)
    dot_text = (tmp_path / "graph.dot").read_text()
    assert "MulBackward0" in dot_text and "AddBackward0" in dot_text and "grad -8" in dot_text
    assert "f = 2 * (x*y + max(z, w)) = -20" in result.stdout
    for line in ("x = 3  df/dx = -8", "y = -4  df/dy = 6", "z = 2  df/dz = 2", "w = -1  df/dw = None"):
        assert line in result.stdout
    need_program("dot", "graphviz")
    assert result.returncode == 0, result.stderr
    svg = html.unescape((tmp_path / "graph.svg").read_text())
    for text in ("MulBackward0", "AddBackward0", "grad -8", "grad 6", "grad 2"):
        assert text in svg


def test_graph_of_an_expression_with_variables(tmp_path):
    out = tmp_path / "max_gate.dot"
    result = linclass("graph", "--expr", "x*y + maximum(z, w) - exp(-x/3) ** 2", "--var", "x=3", "--var", "y=-4",
                      "--var", "z=2", "--var", "w=2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "z = 2  df/dz = 0.5" in result.stdout and "w = 2  df/dw = 0.5" in result.stdout  # a tie: half each
    dot_text = out.read_text()
    for name in ("MaximumBackward0", "ExpBackward0", "PowBackward0", "DivBackward0", "NegBackward0", "SubBackward0"):
        assert name in dot_text


@pytest.mark.parametrize("expression, fragment", [
    ("__import__('os').system('echo hacked')", "is not allowed"),
    ("x.__class__", "is not allowed"),
    ("open('file')", "calling open() is not allowed"),
    ("lambda: x", "is not allowed"),
    ("x +", "is not a valid expression"),
    ("q * 2", "unknown variable 'q'"),
    ("max(x)", "max() takes at least 2"),
    ("'x' * 3", "the constant 'x'"),
    ("2 + 3", "uses no variable"),
    ("1" + "0" * 400 + " * x", "is too large for a floating-point number"),
])
def test_graph_refuses_a_bad_expression_in_one_line(tmp_path, expression, fragment):
    result = linclass("graph", "--expr", expression, "--var", "x=1", "--out", str(tmp_path / "g.dot"))
    assert_one_line_error(result, fragment)
    assert "hacked" not in result.stdout
    assert not (tmp_path / "g.dot").exists()


@pytest.mark.parametrize("expression, value", [("2**64 * x", 2.0 ** 64), ("(2**40) * (2**40) * x", 2.0 ** 80),
                                               ("7 / 2 + x", 4.5)])
def test_graph_integer_constants_do_not_wrap_around(tmp_path, capsys, expression, value):
    """Integer constants are numbers, not 64-bit integers: 2**64 is 1.8e19, not 0."""
    assert main(["graph", "--expr", expression, "--var", "x=1", "--out", str(tmp_path / "g.dot")]) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    assert float(first_line.rpartition(" = ")[2]) == pytest.approx(value, rel=1e-3)  # printed to 4 digits


def test_graph_refuses_an_unknown_image_format_and_a_long_expression_is_cut(tmp_path):
    assert_one_line_error(linclass("graph", "--out", str(tmp_path / "g.jpg")), "cannot draw a .jpg file")
    long_sum = "+".join(["x"] * 20_000)
    result = linclass("graph", "--expr", long_sum, "--var", "x=1", "--out", str(tmp_path / "g.dot"))
    assert_one_line_error(result, "nested too deeply", "...")
    assert len(result.stderr) < 200


def test_graph_refuses_a_bad_variable(tmp_path):
    assert_one_line_error(linclass("graph", "--var", "x", "--out", str(tmp_path / "g.dot")), "NAME=VALUE")
    assert_one_line_error(linclass("graph", "--var", "x=three", "--out", str(tmp_path / "g.dot")), "not a number")


def test_graph_without_graphviz_writes_the_dot_file_and_exits_2(tmp_path):
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = linclass("graph", "--out", str(tmp_path / "lecture.svg"), env={"PATH": str(empty_path)})
    assert_one_line_error(result, "Graphviz's dot not found: apt-get install graphviz", str(tmp_path / "lecture.dot"))
    assert "MulBackward0" in (tmp_path / "lecture.dot").read_text()
    assert not (tmp_path / "lecture.svg").exists()


def run_ci_script(tmp_path: Path, failing: str | None = None) -> tuple[subprocess.CompletedProcess, list[str]]:
    """``.ci/run`` with every tool it calls replaced by a stub that logs its command line and CI's value
    (``failing`` exits 1); the result and the logged calls, in order."""
    script = Path(__file__).resolve().parents[1] / ".ci" / "run"
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "calls.txt"
    for name in ("apt-get", "pip", "ruff", "mypy", "python"):
        (tools / name).write_text(f'#!/bin/sh\necho "CI=$CI {name} $*" >> {log}\nexit {int(name == failing)}\n')
        (tools / name).chmod(0o755)
    environment = {key: value for key, value in os.environ.items() if key != "CI"}
    environment["PATH"] = f"{tools}{os.pathsep}{environment['PATH']}"
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=environment, timeout=60)
    return result, log.read_text().splitlines()


def test_the_ci_script_sets_ci_true_itself_and_checks_the_code_before_the_tests(tmp_path):
    """``.ci/run`` exports CI=true, so that a missing tool fails the tests there instead of skipping them,
    and runs ruff and mypy after installing the test extras, before README's test command."""
    result, calls = run_ci_script(tmp_path)
    assert result.returncode == 0, result.stderr
    assert all(call.startswith("CI=true ") for call in calls)
    assert [call.removeprefix("CI=true ").strip() for call in calls if "apt-get" not in call] == [
        "pip install -e .[test]", "ruff check .", "mypy", "pip install -e .[test]", "python -m pytest"]


def test_the_ci_script_stops_at_a_check_that_finds_something(tmp_path):
    result, calls = run_ci_script(tmp_path, failing="ruff")
    assert result.returncode == 1
    assert result.stderr.strip() == ".ci/run: FAILED: 'ruff check .' (its findings are above)"
    assert calls[-1] == "CI=true ruff check ."
