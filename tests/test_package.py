"""The package itself: ``import linclass`` loads the engine and NumPy, and the rest on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import linclass as lc

LAZY_NAMES = ("LinearClassifier", "load", "estimator", "persist", "report", "tune")


def test_import_loads_neither_scikit_learn_nor_matplotlib():
    code = ("import linclass, sys; print('sklearn' in sys.modules, 'matplotlib' in sys.modules); "
            "print(linclass.LinearClassifier.__name__, 'sklearn' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False", "LinearClassifier", "True"]


def test_the_names_loaded_on_first_use_are_the_same_objects_and_listed():
    from linclass.estimator import LinearClassifier
    from linclass.persist import load
    import linclass.tune

    assert lc.LinearClassifier is LinearClassifier and lc.load is load and lc.tune is linclass.tune
    assert lc.report.write_report is not None and lc.persist.load is load
    assert set(LAZY_NAMES) <= set(dir(lc)) and {"tensor", "Tensor", "datasets"} <= set(dir(lc))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        lc.no_such_name
