"""The package itself: ``import linclass`` loads the engine and NumPy, and the rest on first use."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

import pytest

import linclass as lc

LAZY_NAMES = ("LinearClassifier", "load", "estimator", "persist", "report", "tune")


def test_neither_the_import_nor_the_classifier_loads_scikit_learn_or_matplotlib():
    code = ("import linclass, sys; print('sklearn' in sys.modules, 'matplotlib' in sys.modules); "
            "print(linclass.LinearClassifier.__name__, 'sklearn' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False", "LinearClassifier", "False"]


def test_the_names_loaded_on_first_use_are_the_same_objects_and_listed():
    from linclass.estimator import LinearClassifier, load
    from linclass.persist import read_model_file
    import linclass.tune

    assert lc.LinearClassifier is LinearClassifier and lc.load is load and lc.tune is linclass.tune
    assert lc.report.write_report is not None and lc.persist.read_model_file is read_model_file
    assert set(LAZY_NAMES) <= set(dir(lc)) and {"tensor", "Tensor", "datasets"} <= set(dir(lc))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = lc.no_such_name


def test_python_dash_m_linclass_is_the_command_line():
    result = subprocess.run([sys.executable, "-m", "linclass", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"linclass {lc.__version__}"


def test_the_version_is_written_once_and_is_the_installed_distributions():
    assert re.fullmatch(r"\d+\.\d+\.\d+", lc.__version__)
    assert importlib.metadata.version("linclass") == lc.__version__


def test_the_linclass_script_prints_the_version():
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="linclass")
    module, function = script.value.split(":")
    code = f"import sys; sys.argv = ['linclass', '--version']; from {module} import {function}; {function}()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == f"linclass {lc.__version__}\n"


def test_every_name_in_all_is_there_the_lazy_ones_included():
    assert set(LAZY_NAMES) | {"Tensor", "tensor", "no_grad", "nn", "optim", "datasets"} <= set(lc.__all__)
    assert [name for name in lc.__all__ if not hasattr(lc, name)] == []


def test_readme_opens_with_its_two_commands_and_says_how_to_make_a_virtual_environment():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    commands = [line.split("#")[0].strip() for block in readme.split("```bash")[1:]
                for line in block.split("```")[0].strip().splitlines()]
    assert commands[:2] == ['pip install -e . && linclass train', 'pip install -e ".[test]" && python -m pytest']
    assert commands[2] == "python3 -m venv .venv && . .venv/bin/activate"
