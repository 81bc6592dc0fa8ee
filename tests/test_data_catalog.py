"""Named datasets: where they are looked for, what a missing one says, the built-in digits and the real
Fashion-MNIST of the Debian package."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

import linclass as lc
from linclass.data import describe, locate as locate_module
from linclass.data.catalog import FASHION_MNIST_CLASSES, load, locate
from linclass.errors import DataError
from conftest import need_fashion_mnist
from test_data_cifar import write_cifar10_python
from test_data_idx import write_idx_set


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $LINCLASS_DATA, an empty home cache and an empty system folder: only what a test puts there."""
    monkeypatch.delenv("LINCLASS_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(locate_module, "SYSTEM_FOLDER", tmp_path / "system")
    return tmp_path


def test_root_may_be_the_sets_own_folder_or_the_one_above(isolated, rng):
    arrays = write_idx_set(isolated / "data" / "fashion-mnist", rng)
    for root in (isolated / "data", isolated / "data" / "fashion-mnist"):
        data = load("fashion-mnist", root=root)
        np.testing.assert_array_equal(data.X_train, arrays["train-images-idx3-ubyte"])
        assert data.classes == FASHION_MNIST_CLASSES and data.source == str(isolated / "data" / "fashion-mnist")


@pytest.mark.parametrize("subfolder", ["fashion_mnist", "FashionMNIST/raw"])
def test_usual_subfolder_names_are_found(isolated, rng, subfolder):
    write_idx_set(isolated / "data" / subfolder, rng)
    assert locate("fashion-mnist", root=isolated / "data") == isolated / "data" / subfolder


def test_search_order_root_then_environment_then_cache_then_system(isolated, rng, monkeypatch):
    places = {name: isolated / name / "mnist" for name in ("root", "env", "home/.cache/linclass", "system")}
    for folder in places.values():
        write_idx_set(folder, rng, n_train=3, n_test=2)
    monkeypatch.setenv("LINCLASS_DATA", str(isolated / "env"))
    assert locate("mnist", root=isolated / "root") == places["root"]
    assert locate("mnist") == places["env"]
    monkeypatch.delenv("LINCLASS_DATA")
    assert locate("mnist") == places["home/.cache/linclass"]
    (places["home/.cache/linclass"] / "train-images-idx3-ubyte.gz").unlink()
    assert locate("mnist") == places["system"]


def test_a_missing_set_says_where_it_looked_and_how_to_get_it(isolated):
    (isolated / "mine").mkdir()
    with pytest.raises(DataError) as error:
        load("fashion-mnist", root=isolated / "mine")
    message = str(error.value)
    assert "\n" not in message and message.startswith("fashion-mnist not found; looked in ")
    for fragment in (str(isolated / "mine"), "$LINCLASS_DATA (not set)", str(isolated / "home/.cache/linclass"),
                     str(isolated / "system"), "fashion_mnist", "FashionMNIST/raw",
                     "apt-get install dataset-fashion-mnist", "set LINCLASS_DATA", "--root"):
        assert fragment in message


@pytest.mark.parametrize("name", ["fashion-mnist", "digits"])
def test_a_root_that_is_not_a_folder_is_an_error_naming_it(isolated, rng, name):
    write_idx_set(isolated / "system" / "fashion-mnist", rng)  # found without the root: it must not be
    (isolated / "file").write_text("not a folder")
    with pytest.raises(DataError, match=rf"^root {isolated / 'nowhere'}: no such folder; give the folder"):
        load(name, root=isolated / "nowhere")
    with pytest.raises(DataError, match=rf"^root {isolated / 'file'}: a file, not a folder"):
        locate(name if name != "digits" else "mnist", root=isolated / "file")
    with pytest.raises(DataError, match="no such folder"):
        describe(name, root=isolated / "nowhere")


def test_a_linclass_data_folder_that_does_not_exist_is_passed_over(isolated, rng, monkeypatch):
    """$LINCLASS_DATA is a standing default, not a request: a folder it lists may be missing on this machine."""
    write_idx_set(isolated / "system" / "fashion-mnist", rng)
    monkeypatch.setenv("LINCLASS_DATA", str(isolated / "nowhere"))
    assert load("fashion-mnist").source == str(isolated / "system" / "fashion-mnist")


def test_describe_reports_found_and_missing_sets(isolated, rng):
    write_cifar10_python(isolated / "home/.cache/linclass/cifar-10-batches-py", rng)
    assert describe("cifar10")["found"] == str(isolated / "home/.cache/linclass/cifar-10-batches-py")
    missing = describe("CIFAR-100")
    assert missing["name"] == "cifar100" and missing["found"] is None
    assert "cifar-100-python.tar.gz" in missing["how_to_get"] and "cifar-100-python" in missing["looked_in"]
    assert describe("digits")["found"] == "built in"


def test_digits_are_scikit_learns_rescaled_to_bytes_and_split_80_20(isolated):
    data = lc.datasets.load("digits")
    reference = load_digits()
    assert data.X_train.dtype == np.uint8 and data.image_shape == (8, 8) and data.classes == list("0123456789")
    assert (len(data.X_train), len(data.X_test)) == (1438, 359)
    expected = np.floor(reference.images * 255 / 16 + 0.5).astype(np.uint8)
    ours = {(int(y), x.tobytes()) for X, Y in ((data.X_train, data.y_train), (data.X_test, data.y_test))
            for x, y in zip(X, Y, strict=True)}
    assert ours == {(int(y), x.tobytes()) for x, y in zip(expected, reference.target, strict=True)}
    share = np.bincount(reference.target) * 359 / 1797
    assert np.all(np.abs(np.bincount(data.y_test) - share) < 1)
    np.testing.assert_array_equal(load("digits").y_test, data.y_test)  # seeded


def test_paths_to_idx_and_cifar_folders_are_recognised(isolated, rng):
    write_idx_set(isolated / "kmnist", rng, n_classes=3)
    data = load(isolated / "kmnist")
    assert data.name == "kmnist" and data.classes == ["0", "1", "2"] and data.image_shape == (28, 28)
    write_cifar10_python(isolated / "c10", rng)
    assert load(str(isolated / "c10")).image_shape == (32, 32, 3)


def test_names_forgive_case_and_underscores_and_refuse_options_that_do_not_apply(isolated, rng):
    write_idx_set(isolated / "fashion-mnist", rng)
    assert load("Fashion_MNIST", root=isolated).name == "fashion-mnist"
    with pytest.raises(ValueError, match=r"image_size=\(14, 14\): fashion-mnist has images of a fixed size"):
        load("fashion-mnist", root=isolated, image_size=(14, 14))


def test_unknown_names_and_paths_are_refused(isolated):
    with pytest.raises(DataError, match=r"imagenet: no such file or folder, and not a known dataset "
                                        r"\(digits, fashion-mnist, mnist, cifar10, cifar100\)"):
        load("imagenet")
    (isolated / "data.txt").write_text("1,2,3")
    with pytest.raises(DataError, match=r"data\.txt: cannot read a \.txt file as a dataset"):
        load(isolated / "data.txt")


def test_installed_fashion_mnist_loads_in_full():
    need_fashion_mnist()
    data = lc.datasets.load("fashion-mnist")
    assert data.X_train.shape == (60000, 28, 28) and data.X_test.shape == (10000, 28, 28)
    assert data.X_train.dtype == np.uint8 and data.y_train.dtype == np.int64 and data.image_shape == (28, 28)
    assert data.classes == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                            "Bag", "Ankle boot"]
    assert np.bincount(data.y_train).tolist() == [6000] * 10 and np.bincount(data.y_test).tolist() == [1000] * 10
    assert data.y_train[0] == 9  # the first training image is an ankle boot
    assert 0 < data.X_train.mean() < 255 and data.X_train.max() == 255
