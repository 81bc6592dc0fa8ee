"""Image folders: PNG and JPEG files written with Pillow, read back into arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from linclass.data.catalog import load
from linclass.data.folder import read_image_folder
from linclass.errors import DataError


def write_images(folder: Path, images: dict[str, list[np.ndarray]], suffix: str = ".png") -> None:
    for name, arrays in images.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i, array in enumerate(arrays):
            Image.fromarray(array).save(folder / name / f"{i:03d}{suffix}")


def grey_images(rng, n, size=(6, 5)) -> list[np.ndarray]:
    return [rng.integers(0, 256, size, dtype=np.uint8) for _ in range(n)]


def as_set(arrays) -> set[bytes]:
    return {np.ascontiguousarray(array).tobytes() for array in arrays}


def test_train_and_test_subfolders_are_read_exactly(tmp_path, rng):
    train = {"cat": grey_images(rng, 3), "dog": grey_images(rng, 2)}
    test = {"cat": grey_images(rng, 1), "dog": grey_images(rng, 2)}
    write_images(tmp_path / "train", train)
    write_images(tmp_path / "test", test)
    data = read_image_folder(tmp_path)
    assert data.classes == ["cat", "dog"] and data.image_shape == (6, 5) and data.X_train.dtype == np.uint8
    np.testing.assert_array_equal(data.X_train, train["cat"] + train["dog"])
    np.testing.assert_array_equal(data.y_train, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(data.X_test, test["cat"] + test["dog"])
    np.testing.assert_array_equal(data.y_test, [0, 1, 1])


def test_class_folders_alone_get_a_seeded_stratified_split(tmp_path, rng):
    images = {"a": grey_images(rng, 10), "b": grey_images(rng, 5), "c": grey_images(rng, 5)}
    write_images(tmp_path, images)
    data = read_image_folder(tmp_path)
    again = read_image_folder(tmp_path)
    np.testing.assert_array_equal(data.X_test, again.X_test)
    assert len(data.X_test) == 4 and np.bincount(data.y_test).tolist() == [2, 1, 1]
    for label, name in enumerate(data.classes):  # every image is in exactly one split, with its label
        found = [x for x, y in zip(np.concatenate([data.X_train, data.X_test]),
                                   np.concatenate([data.y_train, data.y_test]), strict=True) if y == label]
        assert as_set(found) == as_set(images[name])


def test_colour_pngs_are_read_exactly(tmp_path, rng):
    images = {"red": [rng.integers(0, 256, (4, 7, 3), dtype=np.uint8) for _ in range(3)],
              "blue": [rng.integers(0, 256, (4, 7, 3), dtype=np.uint8) for _ in range(3)]}
    write_images(tmp_path / "train", images)
    write_images(tmp_path / "test", {"blue": images["blue"][:1]})
    data = read_image_folder(tmp_path)
    assert data.image_shape == (4, 7, 3) and data.classes == ["blue", "red"]
    np.testing.assert_array_equal(data.X_train, images["blue"] + images["red"])


def test_greyscale_images_become_rgb_when_some_are_colour(tmp_path, rng):
    grey = grey_images(rng, 2, (4, 4))
    write_images(tmp_path / "train", {"g": grey, "c": [rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)]})
    write_images(tmp_path / "test", {"g": grey[:1]})
    data = read_image_folder(tmp_path)
    assert data.image_shape == (4, 4, 3)
    np.testing.assert_array_equal(data.X_test[0], np.repeat(grey[0][:, :, None], 3, axis=2))


def test_jpeg_folder_is_read_approximately(tmp_path, rng):
    smooth = [np.tile(np.linspace(0, 255, 16, dtype=np.uint8), (16, 1)) // (k + 1) for k in range(4)]
    write_images(tmp_path, {"x": smooth[:2], "y": smooth[2:]}, suffix=".jpg")
    data = read_image_folder(tmp_path)
    read = np.concatenate([data.X_train, data.X_test]).astype(int)
    labels = np.concatenate([data.y_train, data.y_test])
    for image, label in zip(read, labels, strict=True):
        originals = smooth[:2] if label == 0 else smooth[2:]
        assert min(np.abs(image - original).mean() for original in originals) < 3


def test_image_size_resizes_every_image_as_pillow_does(tmp_path, rng):
    images = [rng.integers(0, 256, (20, 30), dtype=np.uint8), rng.integers(0, 256, (9, 9), dtype=np.uint8)]
    write_images(tmp_path / "train", {"j": images[:1], "k": images})
    write_images(tmp_path / "test", {"k": images[:1]})
    data = load(tmp_path, image_size=(8, 12))
    assert data.image_shape == (8, 12)
    expected = np.asarray(Image.fromarray(images[0]).resize((12, 8), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(data.X_train[0], expected)


def test_an_image_of_another_size_is_named(tmp_path, rng):
    write_images(tmp_path, {"a": grey_images(rng, 3, (6, 5)), "b": [rng.integers(0, 256, (6, 6), dtype=np.uint8)]})
    with pytest.raises(DataError, match=r"b/000\.png: image is 6×6 but .*a/000\.png is 5×6 .*image_size"):
        read_image_folder(tmp_path)


def test_a_file_that_is_not_an_image_is_named(tmp_path, rng):
    write_images(tmp_path, {"a": grey_images(rng, 3), "b": grey_images(rng, 3)})
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=r"b/notes\.txt: not an image Pillow can read"):
        read_image_folder(tmp_path)


def test_a_truncated_image_is_named(tmp_path, rng):
    write_images(tmp_path, {"a": grey_images(rng, 3, (40, 40)), "b": grey_images(rng, 3, (40, 40))})
    path = tmp_path / "a" / "001.png"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"a/001\.png: cannot decode the image"):
        read_image_folder(tmp_path)


def test_hidden_files_are_skipped(tmp_path, rng):
    write_images(tmp_path, {"a": grey_images(rng, 3), "b": grey_images(rng, 3)})
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\x00\x01")
    assert len(read_image_folder(tmp_path).X_train) + len(read_image_folder(tmp_path).X_test) == 6


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match=rf"{tmp_path}: no class subfolders"):
        read_image_folder(tmp_path)


def test_an_empty_class_folder_is_refused(tmp_path, rng):
    write_images(tmp_path, {"a": grey_images(rng, 3)})
    (tmp_path / "b").mkdir()
    with pytest.raises(DataError, match=r"/b: class folder without images"):
        read_image_folder(tmp_path)


def test_a_test_class_unknown_to_training_is_refused(tmp_path, rng):
    write_images(tmp_path / "train", {"a": grey_images(rng, 2)})
    write_images(tmp_path / "test", {"a": grey_images(rng, 1), "zebra": grey_images(rng, 1)})
    with pytest.raises(DataError, match=r"test/zebra: class 'zebra' has no folder in"):
        read_image_folder(tmp_path)


def test_train_without_test_is_refused(tmp_path, rng):
    write_images(tmp_path / "train", {"a": grey_images(rng, 2)})
    with pytest.raises(DataError, match=r"has train/ but no test/ subfolder"):
        read_image_folder(tmp_path)
